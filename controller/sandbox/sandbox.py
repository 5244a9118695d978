"""The Sandbox: API server + pod runner on one asyncio loop, in a thread or in the caller's."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from controller.sandbox import kubeconfig
from controller.sandbox.apiserver import ApiServer
from controller.sandbox.cluster import CRDS, Cluster
from controller.sandbox.podrunner import PodRunner
from controller.sandbox.resources import Registry
from controller.sandbox.store import Store

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class Sandbox:
    """An emulated Kubernetes API server on localhost, with a local pod runner."""

    def __init__(
        self,
        workdir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        kubeconfig_path: Path | None = None,
        crd_paths: Sequence[Path] = (),
        run_pods: bool = True,
        namespaces: Sequence[str] = ("default",),
    ) -> None:
        self.workdir = Path(workdir)
        self.host = host
        self.port = port
        self.kubeconfig_path = kubeconfig_path or self.workdir / "kubeconfig"
        self.crd_paths = tuple(crd_paths)
        self.run_pods = run_pods
        self.namespaces = tuple(dict.fromkeys((*SYSTEM_NAMESPACES, *namespaces)))
        self.url = ""
        self.store = Store()
        self.cluster = Cluster(self.store, Registry.with_builtins())
        self.runner = PodRunner(self.cluster, self.workdir / "pods", self.kubeconfig_path)
        self.server = ApiServer(self.cluster, self.runner.log_path)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._site_runner: web.AppRunner | None = None

    # ---- lifecycle in the caller's loop --------------------------------------------------

    async def serve(self) -> None:
        """Run until cancelled (the CLI's way)."""
        await self._start_async()
        try:
            await asyncio.Event().wait()
        finally:
            await self._stop_async()

    async def _start_async(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._seed()
        runner = web.AppRunner(self.server.app(), shutdown_timeout=1.0, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._site_runner = runner
        sockets = getattr(site._server, "sockets", None) or []
        port = sockets[0].getsockname()[1] if sockets else self.port
        self.port = port
        self.url = f"http://{self.host}:{port}"
        self.server.address = f"{self.host}:{port}"
        kubeconfig.write(self.kubeconfig_path, self.url)
        if self.run_pods:
            self.cluster.runtime = self.runner
            self.runner.start()

    async def _stop_async(self) -> None:
        self.server.closing.set()
        await self.runner.stop()
        if self._site_runner is not None:
            await self._site_runner.cleanup()
            self._site_runner = None

    def _seed(self) -> None:
        registry = self.cluster.registry
        ns_type = registry.find("", "v1", "namespaces")
        crd_type = registry.by_key(CRDS)
        assert ns_type is not None and crd_type is not None
        for name in self.namespaces:
            if self.store.get(ns_type.key, "", name) is None:
                self.cluster.create(ns_type, "v1", "", {"metadata": {"name": name}})
        for path in self.crd_paths:
            for doc in _documents(path):
                self.cluster.create(crd_type, "v1", "", doc)

    # ---- lifecycle in a background thread ------------------------------------------------

    def start(self) -> None:
        """Serve from a daemon thread; returns once the server accepts connections."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stop = asyncio.Event()
            try:
                loop.run_until_complete(self._start_async())
            except BaseException as e:
                failure.append(e)
                ready.set()
                return
            ready.set()
            loop.run_until_complete(self._stop.wait())
            loop.run_until_complete(self._stop_async())
            loop.close()

        self._thread = threading.Thread(target=main, name="sandbox", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]

    def stop(self) -> None:
        if self._loop is None or self._stop is None or self._thread is None:
            return
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        self._loop = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _documents(path: Path) -> list[dict[str, Any]]:
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
