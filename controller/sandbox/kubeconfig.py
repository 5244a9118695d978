"""The kubeconfig that points kubectl, kopf and the official client at the sandbox."""

from __future__ import annotations

from pathlib import Path

import yaml


def render(url: str, namespace: str = "default", token: str = "sandbox") -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sandbox", "cluster": {"server": url}}],
        "users": [{"name": "sandbox", "user": {"token": token}}],
        "contexts": [
            {
                "name": "sandbox",
                "context": {"cluster": "sandbox", "user": "sandbox", "namespace": namespace},
            }
        ],
        "current-context": "sandbox",
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write(path: Path, url: str, token: str = "sandbox") -> None:
    """Write a kubeconfig; the token names the client in the sandbox's audit record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(render(url, token=token))
    tmp.replace(path)
