"""Structured logs: one line per event, key=value (default) or JSON.

Every line about a job carries course, module and attempt (see ``job_fields``).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from controller.model import Job

LOGGER_NAME = "course_controller"
_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def kv(**fields: Any) -> dict[str, Any]:
    """``extra=`` for a log call. Fields are nested because LogRecord reserves names such as
    ``module`` that our lines need."""
    return {"kv": fields}


def job_kv(job: Job, **more: Any) -> dict[str, Any]:
    """``extra=`` for a line about a job: course, module and attempt always."""
    return kv(course=f"{job.namespace}/{job.course_name}", module=job.module,
              attempt=job.attempt, owner=job.owner, **more)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    nested = getattr(record, "kv", None)
    fields = {k: v for k, v in record.__dict__.items() if k not in _RESERVED and k != "kv"}
    return {**fields, **(nested if isinstance(nested, dict) else {})}


def _quote(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c in text for c in ' "=\n')) else text


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        head = f"{self.formatTime(record)} {record.levelname.lower()} {record.name}"
        body = " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
        line = f"{head} event={_quote(record.getMessage())} {body}".rstrip()
        if record.exc_info:
            line += " error=" + _quote(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        data = {"time": self.formatTime(record), "level": record.levelname.lower(),
                "logger": record.name, "event": record.getMessage(), **fields}
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


def configure(fmt: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "aiohttp.access", "kubernetes"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}")
