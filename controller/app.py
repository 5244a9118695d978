"""Wiring: settings -> resources -> kopf. Resources are made at start-up, closed at clean-up."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import kopf
from kubernetes.config.config_exception import ConfigException
from sqlalchemy.exc import OperationalError
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from controller import handlers, logs, malloc
from controller.config import Settings
from controller.db import CourseDefaults, Queue
from controller.db.migrate import check_schema
from controller.errors import PermanentError, TemporaryError
from controller.kube import Kube
from controller.reconcile import Reconciler
from controller.sweep import Sweeper

log = logs.get("app")


@dataclass
class App:
    """Everything a handler needs, built once per process."""

    settings: Settings
    queue: Queue
    kube: Kube
    sweeper: Sweeper
    reconciler: Reconciler
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.queue.close()
        self.kube.close()

    def healthy(self) -> dict[str, Any]:
        """Liveness: fails when the sweep loop has not succeeded for many intervals."""
        if any(task.done() for task in self.tasks):
            raise kopf.PermanentError("the sweep loop has stopped")
        last = self.sweeper.last_success or self.started
        allowed = max(60.0, 10 * self.settings.sweep_interval)
        age = time.time() - last
        if age > allowed:
            raise kopf.PermanentError(f"last successful sweep {age:.0f}s ago (> {allowed:.0f}s)")
        return {"lastSweepAgeSeconds": age}


@retry(retry=retry_if_exception_type(OperationalError), stop=stop_after_attempt(4),
       wait=wait_exponential(multiplier=0.5, max=4), reraise=True)
def _check_schema_patiently(queue: Queue) -> None:
    """A connection dropped while starting (a database restarting, a failover) is retried
    for a few seconds before start-up gives up with a one-line error."""
    check_schema(queue.engine)


def build_app(settings: Settings, kubeconfig: str | None = None) -> App:
    """Open the database (refusing an old schema) and the API client."""
    queue = Queue.from_url(settings.database_url, settings.statement_timeout_ms)
    try:
        _check_schema_patiently(queue)
    except OperationalError as exc:
        queue.close()
        where = queue.engine.url.render_as_string(hide_password=True)
        raise TemporaryError(f"cannot reach the database {where}: {exc.orig or exc}") from exc
    except Exception:
        queue.close()
        raise
    try:
        kube = Kube.from_environment(kubeconfig)
    except ConfigException as exc:
        queue.close()
        raise PermanentError(f"no Kubernetes credentials (in-cluster, --kubeconfig, "
                             f"$KUBECONFIG or ~/.kube/config): {exc}") from exc
    sweeper = Sweeper(queue, kube, settings)
    defaults = CourseDefaults(settings.max_attempts, settings.job_timeout)
    return App(settings, queue, kube, sweeper, Reconciler(queue, kube, defaults))


def check_ports(settings: Settings) -> None:
    """Refuse to start when a port is taken, naming the setting (not a traceback later)."""
    for name, port in (("METRICS_PORT", settings.metrics_port),
                       ("HEALTH_PORT", settings.health_port)):
        if not port:
            continue
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("0.0.0.0", port))
            except OSError as exc:
                raise PermanentError(f"COURSE_{name} {port}: {exc.strerror}") from exc


def warn_unknown_settings() -> None:
    """A misspelt COURSE_* variable is ignored by the settings; say so instead of silently."""
    known = {f"COURSE_{name.upper()}" for name in Settings.model_fields}
    for name in sorted(os.environ):
        if name.startswith("COURSE_") and name not in known \
                and not name.startswith(("COURSE_TEST_", "COURSE_BENCH_")):
            log.warning("unknown setting ignored", extra=logs.kv(variable=name))


def run(settings: Settings, kubeconfig: str | None = None) -> None:
    """Run the controller until interrupted (kopf owns the event loop and the signals)."""
    malloc.limit_arenas()  # before any thread exists
    logs.configure(settings.log_format)
    if kubeconfig:
        os.environ["KUBECONFIG"] = kubeconfig  # kopf's login reads it too
    warn_unknown_settings()
    check_ports(settings)
    app = build_app(settings, kubeconfig)
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port)
    registry = handlers.make_registry()
    liveness = f"http://0.0.0.0:{settings.health_port}/healthz" if settings.health_port else None
    log.info(
        "controller starting",
        extra=logs.kv(
            namespaces="*" if settings.all_namespaces else ",".join(settings.namespaces),
            database=app.queue.engine.url.render_as_string(hide_password=True),
            global_limit=settings.global_limit,
            per_user_limit=settings.per_user_limit,
        ),
    )
    logging.getLogger("kopf").setLevel(logging.WARNING)
    kopf.run(
        registry=registry,
        standalone=True,
        clusterwide=settings.all_namespaces,
        namespaces=[] if settings.all_namespaces else list(settings.namespaces),
        liveness_endpoint=liveness,
        memo=kopf.Memo(app=app),
    )
