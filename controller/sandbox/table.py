"""Server-side printing: objects as ``meta.k8s.io/v1`` Tables, the way ``kubectl get`` asks."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from controller.sandbox import jsonpath
from controller.sandbox.clock import parse_rfc3339
from controller.sandbox.resources import PrinterColumn, ResourceType

JSON = dict[str, Any]
NAME = PrinterColumn(
    "Name", "string", ".metadata.name", "Name must be unique within a namespace.", 0, "name"
)
AGE = PrinterColumn(
    "Age",
    "date",
    ".metadata.creationTimestamp",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
)
POD_COLUMNS = (
    NAME,
    PrinterColumn("Ready", "string", "", "The aggregate readiness state of this pod."),
    PrinterColumn("Status", "string", "", "The aggregate status of the containers in this pod."),
    PrinterColumn("Restarts", "string", "", "The number of times the containers restarted."),
    AGE,
    PrinterColumn("IP", "string", ".status.podIP", "IP address allocated to the pod.", 1),
    PrinterColumn("Node", "string", ".spec.nodeName", "Name of the node.", 1),
    PrinterColumn("Nominated Node", "string", ".status.nominatedNodeName", "", 1),
    PrinterColumn("Readiness Gates", "string", "", "", 1),
)
NAMESPACE_COLUMNS = (NAME, PrinterColumn("Status", "string", ".status.phase", ""), AGE)
EVENT_COLUMNS = (
    PrinterColumn("Last Seen", "string", "", "Time since the event was last seen."),
    PrinterColumn("Type", "string", ".type", ""),
    PrinterColumn("Reason", "string", ".reason", ""),
    PrinterColumn("Object", "string", "", ""),
    PrinterColumn("Message", "string", ".message", ""),
)


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery's HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes, hours = s // 60, s // 3600
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    return f"{hours // (24 * 365)}y"


def age(timestamp: Any, now: datetime) -> str:
    if not isinstance(timestamp, str):
        return "<unknown>"
    return human_duration((now - parse_rfc3339(timestamp)).total_seconds())


def columns_for(rt: ResourceType, version: str) -> tuple[PrinterColumn, ...]:
    if rt.key == ("", "pods"):
        return POD_COLUMNS
    if rt.key == ("", "namespaces"):
        return NAMESPACE_COLUMNS
    if rt.plural == "events":
        return EVENT_COLUMNS
    custom = rt.columns(version)
    if rt.custom and custom:
        return (NAME, *custom)
    return (NAME, AGE)


def pod_status(pod: JSON) -> str:
    """The STATUS column: a waiting/terminated reason wins over the phase."""
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status") or {}
    reason = str(status.get("reason") or status.get("phase") or "Pending")
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated"):
            terminated = state["terminated"]
            reason = terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}"
    return reason


def _pod_ready(pod: JSON) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    total = len((pod.get("spec") or {}).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _event_object(event: JSON) -> str:
    ref = event.get("involvedObject") or event.get("regarding") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


def _cell(column: PrinterColumn, obj: JSON, now: datetime) -> Any:
    special: dict[str, Callable[[], str]] = {
        "Ready": lambda: _pod_ready(obj),
        "Restarts": lambda: "0",
        "Last Seen": lambda: age(
            obj.get("lastTimestamp")
            or obj.get("eventTime")
            or obj["metadata"].get("creationTimestamp"),
            now,
        ),
        "Object": lambda: _event_object(obj),
    }
    if not column.json_path:
        if column.name == "Status":
            return pod_status(obj)
        return special[column.name]() if column.name in special else "<none>"
    value = jsonpath.evaluate(column.json_path, obj)
    if column.type == "date":
        return age(value, now)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


def _row_object(obj: JSON, include: str) -> JSON | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }


def to_table(
    rt: ResourceType,
    version: str,
    objs: list[JSON],
    list_meta: JSON,
    now: datetime,
    include: str = "Metadata",
) -> JSON:
    columns = columns_for(rt, version)
    rows = []
    for obj in objs:
        row: JSON = {"cells": [_cell(c, obj, now) for c in columns]}
        embedded = _row_object(obj, include)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    definitions = [
        {
            "name": c.name,
            "type": c.type if c.type != "date" else "string",
            "format": c.format,
            "description": c.description,
            "priority": c.priority,
        }
        for c in columns
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": definitions,
        "rows": rows,
    }
