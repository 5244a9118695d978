"""The alert rules: generated files up to date, valid, unit-tested by promtool, documented."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from controller import alerts

from .catalog import ROOT, documented, metric_names_in, series_names
from .tools import require

ALERTS_DIR = ROOT / "alerts"
RULES = ALERTS_DIR / alerts.RULE_FILE
MANIFEST = ALERTS_DIR / alerts.MANIFEST_FILE
PROMTOOL_TESTS = ALERTS_DIR / "course-controller.test.yml"
RUNBOOK = ROOT / "docs" / "runbook.md"
REQUIRED = {
    "CourseControllerModulesStuck", "CourseControllerSweeperStalled", "CourseControllerDown",
    "CourseControllerFailureRateHigh", "CourseControllerModulesWithoutJob",
    "CourseControllerOwnersPinnedAtLimit",
}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _rules() -> list[dict[str, Any]]:
    return [rule for group in _load(RULES)["groups"] for rule in group["rules"]]


def test_the_generated_files_are_what_the_source_generates() -> None:
    for name, content in alerts.outputs().items():
        assert (ALERTS_DIR / name).read_text() == content, (
            f"alerts/{name} is stale: run `python -m controller.alerts`")


def test_the_rule_file_and_the_manifest_hold_the_same_rules() -> None:
    manifest = _load(MANIFEST)
    assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
    assert manifest["kind"] == "PrometheusRule"
    assert manifest["spec"] == _load(RULES)


def test_the_issue_s_alerts_exist_each_with_summary_description_and_severity() -> None:
    rules = _rules()
    assert {rule["alert"] for rule in rules} == REQUIRED
    for rule in rules:
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning", "info")
        assert annotations["runbook_url"].endswith(f"runbook.md#{rule['alert'].lower()}")


def test_every_alert_has_a_runbook_section() -> None:
    headings = re.findall(r"^## (\w+)\s*$", RUNBOOK.read_text(), flags=re.MULTILINE)
    assert sorted(headings) == sorted(REQUIRED)
    for section in RUNBOOK.read_text().split("\n## ")[1:]:
        for part in ("**Meaning.**", "**Diagnosis.**", "**Mitigation.**"):
            assert part in section, f"{section.splitlines()[0]} has no {part}"


def test_every_metric_an_alert_queries_is_exported() -> None:
    known = series_names(documented())
    for rule in _rules():
        names = metric_names_in(rule["expr"])
        assert names <= known, (rule["alert"], names - known)
        assert names or "up{" in rule["expr"], rule["alert"]


def test_promtool_accepts_the_rule_file_and_the_manifest_s_rules(tmp_path: Path) -> None:
    promtool = require("promtool")
    spec = tmp_path / "from-manifest.yml"
    spec.write_text(yaml.safe_dump(_load(MANIFEST)["spec"]))
    for path in (RULES, spec):
        done = subprocess.run([promtool, "check", "rules", str(path)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_pass() -> None:
    promtool = require("promtool")
    done = subprocess.run([promtool, "test", "rules", PROMTOOL_TESTS.name], cwd=ALERTS_DIR,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_each_alert_is_tested_firing_and_not_firing() -> None:
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in _load(PROMTOOL_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert fires == REQUIRED
    assert quiet == REQUIRED
