"""A real Prometheus server for a test: a generated config, a free loopback port, a tmp TSDB."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import yaml


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


class Prometheus:
    """``prometheus`` scraping ``targets`` every second as job ``job``, with ``rule_files``."""

    def __init__(self, binary: str, workdir: Path, job: str, targets: list[str],
                 rule_files: list[Path]) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in rule_files],
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": targets}]}],
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 20) -> Prometheus:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config))
        self._log = open(self.workdir / "prometheus.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [self.binary, f"--config.file={config}",
             f"--storage.tsdb.path={self.workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(
                    f"prometheus did not start: {(self.workdir / 'prometheus.log').read_text()}")
            time.sleep(0.1)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError):
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def api(self, path: str, **params: str) -> Any:
        """``/api/v1/<path>``'s data; fails on an error answer (e.g. a bad query)."""
        query = urllib.parse.urlencode(params)
        try:
            answer = get_json(f"{self.url}/api/v1/{path}?{query}")
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{path} {params}: {exc.read().decode()}") from exc
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, promql: str) -> dict[str, float]:
        """An instant vector as {label set rendered: value}; empty when nothing matches."""
        data = self.api("query", query=promql)
        assert data["resultType"] == "vector", data
        return {json.dumps(item["metric"], sort_keys=True): float(item["value"][1])
                for item in data["result"]}

    def value(self, promql: str) -> float | None:
        """The single value of a query that returns one series (None: no series)."""
        result = self.query(promql)
        assert len(result) <= 1, result
        return next(iter(result.values()), None)

    def __enter__(self) -> Prometheus:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
