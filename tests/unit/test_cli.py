"""The CLI a platform engineer meets first: start-up refusals must say what to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from controller.cli import main


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controller.cli", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_run_refuses_an_unmigrated_database_and_names_the_fix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = run_cli("run", "--database-url", url, "--kubeconfig", str(tmp_path / "none"))
    assert result.returncode != 0
    assert "course-controller migrate" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_then_the_schema_is_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    first = CliRunner().invoke(main, ["migrate", "--database-url", url])
    assert first.exit_code == 0, first.output
    assert "revision" in first.output
    again = CliRunner().invoke(main, ["migrate", "--database-url", url])
    assert again.exit_code == 0


def test_invalid_configuration_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    result = run_cli("run", env={"COURSE_PER_USER_LIMIT": "zero"})
    assert result.returncode != 0
    assert "COURSE_PER_USER_LIMIT" in result.stderr and "Traceback" not in result.stderr
    flag = run_cli("run", "--lease-seconds", "1", "--sweep-interval", "5")
    assert "COURSE_LEASE_SECONDS" in flag.stderr and flag.returncode != 0


def test_sandbox_refuses_bad_limits_before_starting(tmp_path: Path) -> None:
    result = run_cli("sandbox", "--workdir", str(tmp_path), "--per-user-limit", "0")
    assert result.returncode != 0 and "COURSE_PER_USER_LIMIT" in result.stderr


def test_an_unreachable_database_is_a_one_line_error() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = run_cli("run", "--database-url", url)
    assert result.returncode != 0
    assert "cannot reach the database" in result.stderr and "Traceback" not in result.stderr


def test_bad_database_urls_are_refused_by_name() -> None:
    for url, words in (("bogus://x", "unsupported database"), ("notaurl", "not a database URL")):
        result = run_cli("run", "--database-url", url)
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert "COURSE_DATABASE_URL" in result.stderr and words in result.stderr
    missing = run_cli("migrate", "--database-url", "sqlite:////nonexistent/dir/q.db")
    assert missing.returncode != 0 and "cannot reach the database" in missing.stderr


def test_a_taken_port_and_missing_credentials_are_one_line_errors(tmp_path: Path) -> None:
    import socket

    url = f"sqlite:///{tmp_path / 'q.db'}"
    assert CliRunner().invoke(main, ["migrate", "--database-url", url]).exit_code == 0
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run_cli("run", "--database-url", url, "--metrics-port", str(port))
    assert busy.returncode != 0 and f"COURSE_METRICS_PORT {port}" in busy.stderr
    nocreds = run_cli("run", "--database-url", url, "--metrics-port", "0", "--health-port", "0",
                      env={"KUBECONFIG": str(tmp_path / "missing"), "HOME": str(tmp_path)})
    assert nocreds.returncode != 0 and "no Kubernetes credentials" in nocreds.stderr
    assert "Traceback" not in busy.stderr + nocreds.stderr


def test_a_misspelt_setting_is_reported(tmp_path: Path) -> None:
    result = run_cli("run", "--database-url", f"sqlite:///{tmp_path / 'none.db'}",
                     env={"COURSE_GLOBAL_LIMT": "5"})
    assert "unknown setting ignored" in result.stderr and "COURSE_GLOBAL_LIMT" in result.stderr
