"""Real kubectl against the sandbox. Only behaviour a real cluster also has is asserted."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from .helpers import GROUP, PLURAL, VERSION, Kubectl, course, eventually


def apply(kubectl: Kubectl, body: object, *extra: str, check: bool = True) -> str:
    result = kubectl.run("apply", "-f", "-", *extra, stdin=json.dumps(body), check=check)
    return result.stdout + result.stderr


def set_status(custom: client.CustomObjectsApi, ns: str, name: str, status: object) -> None:
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, ns, PLURAL, name, {"status": status}
    )


def test_apply_create_unchanged_configure(kubectl: Kubectl) -> None:
    assert "course.learning.dev/intro created" in apply(kubectl, course("intro"))
    assert "course.learning.dev/intro unchanged" in apply(kubectl, course("intro"))
    changed = course("intro", "lesson-1", "lesson-2")
    assert "course.learning.dev/intro configured" in apply(kubectl, changed)
    got = kubectl.json("get", "crs", "intro")
    assert [m["name"] for m in got["spec"]["modules"]] == ["lesson-1", "lesson-2"]


def test_apply_shows_server_validation_errors(kubectl: Kubectl) -> None:
    bad = course("bad")
    del bad["spec"]["owner"]
    output = apply(kubectl, bad, check=False)
    assert 'The Course "bad" is invalid' in output
    assert "spec.owner: Required value" in output
    unknown = course("bad")
    unknown["spec"]["colour"] = "blue"
    output = apply(kubectl, unknown, check=False)
    assert 'unknown field "spec.colour"' in output


def test_get_printer_columns(kubectl: Kubectl, custom: client.CustomObjectsApi) -> None:
    apply(kubectl, course("intro", "a", "b"))
    set_status(
        custom,
        kubectl.namespace,
        "intro",
        {"phase": "Processing", "total": 2, "succeeded": 1, "failed": 0, "progress": 50},
    )
    lines = kubectl.run("get", "crs").stdout.splitlines()
    assert lines[0].split() == [
        "NAME",
        "OWNER",
        "MODULES",
        "DONE",
        "FAILED",
        "PHASE",
        "PROGRESS",
        "AGE",
    ]
    assert lines[1].split()[:7] == ["intro", "user-42", "2", "1", "0", "Processing", "50"]
    assert kubectl.run("get", "crs", "-o", "wide").stdout.splitlines()[0].startswith("NAME")
    assert yaml.safe_load(kubectl.run("get", "crs", "intro", "-o", "yaml").stdout)["kind"] == (
        "Course"
    )


def test_label_selector(kubectl: Kubectl) -> None:
    labelled = course("a")
    labelled["metadata"]["labels"] = {"tier": "gold"}
    apply(kubectl, labelled)
    apply(kubectl, course("b"))
    names = kubectl.run("get", "crs", "-l", "tier=gold", "-o", "name").stdout.split()
    assert names == ["course.learning.dev/a"]


def test_describe_lists_events(kubectl: Kubectl, core: client.CoreV1Api) -> None:
    apply(kubectl, course("intro"))
    uid = kubectl.json("get", "crs", "intro")["metadata"]["uid"]
    core.create_namespaced_event(
        kubectl.namespace,
        {
            "metadata": {"generateName": "intro."},
            "type": "Normal",
            "reason": "Enqueued",
            "message": "2 modules queued",
            "source": {"component": "test"},
            "involvedObject": {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "Course",
                "name": "intro",
                "namespace": kubectl.namespace,
                "uid": uid,
            },
        },
    )
    described = kubectl.run("describe", "crs", "intro").stdout
    assert "Enqueued" in described and "2 modules queued" in described


def test_patch_merge_and_server_side_apply(kubectl: Kubectl) -> None:
    apply(kubectl, course("intro"))
    kubectl.run("patch", "crs", "intro", "--type=merge", "-p", '{"spec":{"priority":5}}')
    assert kubectl.json("get", "crs", "intro")["spec"]["priority"] == 5
    applied = course("ssa", "x", "y")
    output = apply(kubectl, applied, "--server-side")
    assert "serverside-applied" in output
    assert len(kubectl.json("get", "crs", "ssa")["spec"]["modules"]) == 2


def test_delete_waits_until_finalizer_is_gone(
    kubectl: Kubectl, custom: client.CustomObjectsApi
) -> None:
    held = course("held")
    held["metadata"]["finalizers"] = ["test/hold"]
    apply(kubectl, held)
    deleting = kubectl.popen("delete", "crs", "held", "--timeout=20s")
    eventually(lambda: kubectl.json("get", "crs", "held")["metadata"].get("deletionTimestamp"))
    assert deleting.poll() is None
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, kubectl.namespace, PLURAL, "held", {"metadata": {"finalizers": None}}
    )
    out, err = deleting.communicate(timeout=20)
    assert deleting.returncode == 0, err
    assert 'course.learning.dev "held" deleted' in out
    assert kubectl.run("get", "crs", "held", check=False).returncode != 0


def test_wait_for_condition(kubectl: Kubectl, custom: client.CustomObjectsApi) -> None:
    apply(kubectl, course("intro"))
    waiting = kubectl.popen("wait", "--for=condition=Ready", "crs/intro", "--timeout=20s")
    time.sleep(0.2)  # not synchronisation: the assertion below holds either way
    set_status(
        custom,
        kubectl.namespace,
        "intro",
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Done",
                    "message": "",
                    "lastTransitionTime": "2024-01-01T00:00:00Z",
                }
            ]
        },
    )
    out, err = waiting.communicate(timeout=20)
    assert waiting.returncode == 0, err
    assert "condition met" in out


def test_get_watch_streams_tables(kubectl: Kubectl, custom: client.CustomObjectsApi) -> None:
    watcher = kubectl.popen("get", "crs", "-w")
    try:
        custom.create_namespaced_custom_object(
            GROUP, VERSION, kubectl.namespace, PLURAL, course("late")
        )
        assert watcher.stdout is not None
        deadline, seen = time.monotonic() + 15, ""
        # Until the whole row is in: kubectl's output can arrive in pieces.
        while "user-42" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([watcher.stdout], [], [], 0.5)
            if ready:
                seen += os.read(watcher.stdout.fileno(), 65536).decode()
        assert "late" in seen and "user-42" in seen
    finally:
        watcher.terminate()
        watcher.communicate(timeout=10)


def test_live_crd_registration(kubectl: Kubectl) -> None:
    crd = yaml.safe_load(
        textwrap.dedent("""
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.example.dev}
        spec:
          group: example.dev
          scope: Namespaced
          names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg]}
          versions:
            - name: v1
              served: true
              storage: true
              schema:
                openAPIV3Schema:
                  type: object
                  properties:
                    spec: {type: object, properties: {size: {type: integer}}}
    """)
    )
    kubectl.run("apply", "-f", "-", stdin=json.dumps(crd))
    resources = kubectl.run("api-resources", "--api-group=example.dev").stdout
    assert "wdg" in resources
    widget = {
        "apiVersion": "example.dev/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 3},
    }
    kubectl.run("apply", "-f", "-", stdin=json.dumps(widget))
    assert kubectl.json("get", "wdg", "w")["spec"]["size"] == 3
    kubectl.run("delete", "crd", "widgets.example.dev")


@pytest.mark.sandbox_only("runs a pod as a local process (image py is the venv's python)")
def test_pods_and_logs(kubectl: Kubectl) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "hello"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {"name": "main", "image": "py", "command": ["python", "-c", "print('hi there')"]}
            ],
        },
    }
    kubectl.run("apply", "-f", "-", stdin=json.dumps(body))
    eventually(lambda: "Completed" in kubectl.run("get", "pods").stdout, timeout=15)
    assert kubectl.run("get", "pods").stdout.split()[:5] == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
    ]
    assert kubectl.run("logs", "hello").stdout == "hi there\n"
    kubectl.run("delete", "pod", "hello")


STALE_EDITOR = """\
#!{python}
# kubectl edit's editor: someone else writes the object first, so this copy is stale.
import subprocess, sys, yaml
subprocess.run(
    ["kubectl", "-n", "{ns}", "patch", "crs", "intro", "--type=merge", "-p", {concurrent!r}],
    check=True, capture_output=True,
)
path = sys.argv[-1]
with open(path) as f:
    obj = yaml.safe_load(f)
obj["spec"].update({edit!r})
with open(path, "w") as f:
    yaml.safe_dump(obj, f)
"""


def edit_with_stale_copy(
    kubectl: Kubectl, tmp_path: Path, concurrent: dict[str, object], edit: dict[str, object]
) -> subprocess.CompletedProcess[str]:
    editor = tmp_path / "editor.py"
    editor.write_text(
        STALE_EDITOR.format(
            python=sys.executable,
            ns=kubectl.namespace,
            concurrent=json.dumps({"spec": concurrent}),
            edit=edit,
        )
    )
    editor.chmod(0o755)
    kubectl.env["KUBE_EDITOR"] = str(editor)
    return kubectl.run("edit", "crs", "intro", check=False)


def test_edit_of_a_stale_copy_patches_only_what_was_edited(
    kubectl: Kubectl, tmp_path: Path
) -> None:
    """kubectl edit sends a merge patch of the user's changes, without the resourceVersion:
    a concurrent write to another field survives, to the same field the edit wins."""
    apply(kubectl, course("intro"))
    result = edit_with_stale_copy(kubectl, tmp_path, {"priority": 7}, {"owner": "user-7"})
    assert result.returncode == 0, result.stderr
    assert "course.learning.dev/intro edited" in result.stdout
    spec = kubectl.json("get", "crs", "intro")["spec"]
    assert (spec["priority"], spec["owner"]) == (7, "user-7")
    result = edit_with_stale_copy(kubectl, tmp_path, {"priority": 8}, {"priority": 1})
    assert result.returncode == 0, result.stderr
    assert kubectl.json("get", "crs", "intro")["spec"]["priority"] == 1


def test_explain_reads_the_crd_schema(kubectl: Kubectl) -> None:
    explained = kubectl.run("explain", "courses.spec.modules").stdout
    assert "KIND:       Course" in explained and "FIELD: modules <[]Object>" in explained
    fields = {
        line.split()[0]: line.split()[1:] for line in explained.splitlines()[1:] if "\t" in line
    }
    assert fields["name"] == ["<string>", "-required-"]
    assert "DNS-1123 label" in explained
    recursive = kubectl.run("explain", "courses", "--recursive").stdout
    assert "metadata\t<ObjectMeta>" in recursive and "priority\t<integer>" in recursive
