"""kopf handlers, thin: validate nothing themselves, call the app's services, return.

The blocking work (database, API client) runs in a thread so kopf's loop stays responsive.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from controller import metrics
from controller.pods import GROUP, MANAGED_BY, MANAGER, PLURAL, VERSION

FINALIZER = f"{GROUP}/finalizer"


def _app(memo: Any) -> Any:
    return memo.app


def make_registry() -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
        settings.persistence.finalizer = FINALIZER
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=GROUP, key="last-handled-configuration")
        settings.posting.level = logging.WARNING
        settings.watching.server_timeout = 300
        settings.watching.connect_timeout = 10
        # Memory under a burst (1,000 Courses created at once): kopf runs one worker per
        # object with events (a task, a queue, the event bodies, the handler's context), and
        # keeps it for idle_timeout after the object's last event. At the defaults (no
        # limit, 5 s) the burst, and the wave of status patches after it, had ~1,000 workers
        # alive at once. A worker's events within a second still share it; a later event
        # starts a new one, which is cheap. The limit holds further objects' events back in
        # the watch stream until a worker is free: 200 workers still start 200 Courses a
        # second, more than the handlers' thread pool reconciles.
        settings.queueing.idle_timeout = 1.0
        settings.queueing.worker_limit = 200
        app = _app(memo)
        app.tasks.append(asyncio.get_running_loop().create_task(app.sweeper.loop()))

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        """The official client's credentials: in-cluster, else $KUBECONFIG."""
        return kopf.login_via_client(**kwargs)

    @kopf.on.cleanup(registry=registry)
    async def close(memo: Any, **_: Any) -> None:
        _app(memo).close()

    @kopf.on.resume(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.update(GROUP, VERSION, PLURAL, registry=registry)
    async def reconcile(body: kopf.Body, memo: Any, **_: Any) -> None:
        await _in_thread(_app(memo), "reconcile", body)

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)
    async def finalize(body: kopf.Body, memo: Any, **_: Any) -> None:
        await _in_thread(_app(memo), "finalize", body)

    @kopf.on.event("", "v1", "pods", labels={MANAGED_BY: MANAGER}, registry=registry)
    async def pod_changed(type: str, body: kopf.Body, memo: Any, **_: Any) -> None:
        """The fast path: a pod that finished or vanished frees a slot now, not next sweep."""
        phase = (body.get("status") or {}).get("phase")
        if type == "DELETED" or phase in ("Succeeded", "Failed"):
            _app(memo).sweeper.wake()

    @kopf.on.probe(id="sweep", registry=registry)
    async def sweep_health(memo: Any, **_: Any) -> dict[str, Any]:
        result: dict[str, Any] = _app(memo).healthy()
        return result

    return registry


async def _in_thread(app: Any, action: str, body: kopf.Body) -> None:
    """Run a Reconciler method off the event loop; a failure is counted and retried by kopf,
    and the sweep is woken either way (it repairs what the handler could not)."""
    try:
        await asyncio.to_thread(getattr(app.reconciler, action), _plain(body))
    except Exception as exc:
        metrics.RECONCILE_ERRORS.inc()
        raise kopf.TemporaryError(f"{action} failed: {exc}", delay=5) from exc
    finally:
        app.sweeper.wake()


def _plain(body: kopf.Body) -> dict[str, Any]:
    return {"metadata": dict(body.metadata), "spec": dict(body.spec),
            "status": dict(body.status)}
