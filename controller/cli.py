"""``course-controller``: run, migrate, sandbox, demo."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from controller.config import ConfigError, load_settings
from controller.errors import CourseControllerError

SETTING_OPTIONS: list[tuple[str, Any, str]] = [
    ("database-url", str, "SQLAlchemy URL of the queue (default: a SQLite file)."),
    ("global-limit", int, "Most slot-holding jobs in total."),
    ("per-user-limit", int, "Most slot-holding jobs of one owner (default 3)."),
    ("per-user-limits", str, "Per-owner overrides, e.g. 'alice=5,bob=1'."),
    ("sweep-interval", float, "Seconds between sweeps."),
    ("lease-seconds", float, "Lease of a slot-holding job (>= 3x sweep interval)."),
    ("max-attempts", int, "Attempts per module before it is Failed."),
    ("backoff-base", float, "Seconds before the first retry (doubles per attempt)."),
    ("backoff-max", float, "Upper bound of one retry delay."),
    ("pod-pending-timeout", float, "Seconds a pod may stay Pending."),
    ("job-timeout", int, "Seconds one attempt may run."),
    ("worker-image", str, "Container image of the worker."),
    ("worker-command", str, "Command of the worker container, comma-separated."),
    ("worker-service-account", str, "ServiceAccount of worker pods."),
    ("worker-resources", str, 'Worker pod resources as JSON, e.g. {"limits":{"memory":"1Gi"}}.'),
    ("statement-timeout-ms", int, "Database statement and lock timeout."),
    ("controller-id", str, "Identity written on claimed jobs."),
    ("output-root", str, "Where workers write their output."),
    ("metrics-port", int, "Port of /metrics (0 disables)."),
    ("health-port", int, "Port of /healthz (0 disables)."),
    ("log-format", click.Choice(["text", "json"]), "Log format."),
]


def setting_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for name, kind, text in reversed(SETTING_OPTIONS):
        func = click.option(f"--{name}", type=kind, default=None,
                            help=f"{text} [env COURSE_{name.upper().replace('-', '_')}]")(func)
    return func


def _settings(**flags: Any) -> Any:
    try:
        return load_settings(**flags)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def main() -> None:
    """Turn uploaded course videos into processed course modules, never leaving one stuck."""


@main.command()
@setting_options
@click.option("--kubeconfig", type=click.Path(dir_okay=False), default=None,
              help="Kubeconfig file (default: in-cluster, then $KUBECONFIG, ~/.kube/config).")
@click.option("--namespace", "-n", "namespaces", multiple=True,
              help="Namespace to watch (repeatable). [env COURSE_NAMESPACES]")
@click.option("--all-namespaces", "-A", is_flag=True, default=None,
              help="Watch every namespace. [env COURSE_ALL_NAMESPACES]")
def run(kubeconfig: str | None, namespaces: tuple[str, ...], **flags: Any) -> None:
    """Run the controller against the current cluster."""
    from controller import app

    settings = _settings(namespaces=list(namespaces) or None, **flags)
    try:
        app.run(settings, kubeconfig)
    except CourseControllerError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--database-url", default=None, help="SQLAlchemy URL [env COURSE_DATABASE_URL].")
def migrate(database_url: str | None) -> None:
    """Create or upgrade the queue's schema to the newest revision."""
    from sqlalchemy.exc import OperationalError

    from controller.localcluster import migrate as do_migrate

    settings = _settings(database_url=database_url)
    try:
        revision = do_migrate(settings.database_url)
    except OperationalError as exc:
        raise click.ClickException(f"cannot reach the database: {exc.orig or exc}") from exc
    click.echo(f"database schema is at revision {revision}")


@main.command()
@click.option("--port", type=int, default=0, show_default=True, help="API server port (0: any).")
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the kubeconfig (default: <workdir>/kubeconfig).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(".sandbox"), show_default=True, help="State, logs and outputs.")
@click.option("--database-url", default=None, help="Queue URL (default: <workdir>/queue.db).")
@click.option("--no-controller", is_flag=True, help="Only the API server and pod runner.")
@click.option("--global-limit", type=int, default=None, help="The controller's global limit.")
@click.option("--per-user-limit", type=int, default=None, help="The per-user limit (3).")
@click.option("--samples-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("/tmp/course-samples"), show_default=True,
              help="Make sample uploads lesson-1..6.mp4 here (examples/course.yaml uses them).")
def sandbox(port: int, kubeconfig: Path | None, workdir: Path, database_url: str | None,
            no_controller: bool, global_limit: int | None,
            per_user_limit: int | None, samples_dir: Path) -> None:
    """An emulated cluster on localhost (API server + pod runner) and the controller."""
    from controller.localcluster import LocalCluster, ensure_samples, wait_forever

    settings = {k: v for k, v in {"global_limit": global_limit,
                                  "per_user_limit": per_user_limit}.items() if v is not None}
    _settings(**settings)  # refuse bad limits before starting anything
    cluster = LocalCluster(workdir, port=port, kubeconfig_path=kubeconfig,
                           database_url=database_url, controller=not no_controller,
                           settings=settings, echo_controller=True)
    samples = ensure_samples(samples_dir)
    try:
        cluster.start()
    except OSError as exc:
        cluster.stop()
        raise click.ClickException(f"cannot start the sandbox on port {port}: {exc.strerror}")\
            from exc
    click.echo(f"sample uploads: {', '.join(str(p) for p in samples)}")
    click.echo(f"sandbox API server: {cluster.sandbox.url}")
    click.echo(f"kubeconfig: {cluster.kubeconfig}")
    click.echo(f"  export KUBECONFIG={cluster.kubeconfig}")
    if no_controller:
        click.echo("controller: not started (--no-controller); run it (and kill/restart it) "
                   f"with:\n  {cluster.run_command()}")
    else:
        click.echo(f"controller: running, queue {cluster.database_url}")
    click.echo("press Ctrl-C to stop")
    try:
        wait_forever()
    finally:
        cluster.stop()


@main.command()
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep state here (default: a temporary directory).")
@click.option("--modules", type=click.IntRange(1, 50), default=6, show_default=True)
@click.option("--per-user-limit", type=click.IntRange(1, 50), default=3, show_default=True)
@click.option("--timeout", type=float, default=120, show_default=True,
              help="Give up after this many seconds.")
def demo(workdir: Path | None, modules: int, per_user_limit: int, timeout: float) -> None:
    """Process sample videos end to end in a sandbox and show the progress live."""
    from controller.demo import run_demo

    sys.exit(run_demo(workdir, modules=modules, per_user_limit=per_user_limit,
                      timeout=timeout))


if __name__ == "__main__":
    main()
