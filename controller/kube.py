"""The only module that talks to the Kubernetes API (kopf's own watching aside).

It wraps the official client and hands out plain dicts, the way the API sends them.
Errors become KubeError (temporary unless the API says the request itself is wrong).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from controller import metrics
from controller.errors import PermanentError, TemporaryError
from controller.pods import GROUP, PLURAL, POD_SELECTOR, VERSION

LIST_PAGE = 100
"""Objects per list request: bounds the decoded response a sweep holds at once."""


class KubeError(TemporaryError):
    """The API server failed or could not be reached; the next sweep tries again."""


class KubeRejected(PermanentError):
    """The API server refused the request as invalid (4xx); retrying will not help."""


def _raise(exc: ApiException, what: str) -> None:
    status = int(exc.status or 0)
    metrics.KUBE_ERRORS.labels(operation=what, code=str(status)).inc()
    reason = exc.reason or ""
    with contextlib.suppress(ValueError, AttributeError):
        reason = json.loads(exc.body or "{}").get("message", reason)
    if 400 <= status < 500 and status not in (408, 409, 429):
        raise KubeRejected(f"{what}: {status} {reason}") from exc
    raise KubeError(f"{what}: {status} {reason}") from exc


class Kube:
    """Typed, dict-returning access to the few API calls the controller makes."""

    def __init__(self, api_client: client.ApiClient) -> None:
        # The client's generated stubs expect its model classes; we speak plain dicts.
        self.api_client: Any = api_client
        self.custom: Any = client.CustomObjectsApi(api_client)

    def _core(self, method: str, path: str, params: dict[str, str],
              query: list[tuple[str, Any]] | None = None, body: Any = None) -> bytes:
        """One core-group (``/api/v1``) request through the official client's ApiClient:
        its configuration, credentials, TLS, transport and ApiException, as the generated
        ``CoreV1Api`` methods make it (``param_serialize`` then ``call_api``).

        ``CoreV1Api`` itself is not used: importing it builds ~250 pydantic models (every
        core kind, Pod to PersistentVolume) and their validators, ~19 MB resident for the
        controller's lifetime and ~1 s of start-up, for four requests whose bodies this
        module builds and reads as plain dicts anyway.
        """
        request = self.api_client.param_serialize(
            method=method, resource_path=path, path_params=params, query_params=query or [],
            header_params={"Accept": "application/json", "Content-Type": "application/json"},
            body=body, auth_settings=["BearerToken"])
        response = self.api_client.call_api(*request)
        response.read()
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        data: bytes = response.data
        return data

    @classmethod
    def from_environment(cls, kubeconfig: str | None = None) -> Kube:
        """In-cluster credentials inside a pod, else the kubeconfig (KUBECONFIG honoured)."""
        configuration = client.Configuration()
        if os.environ.get("KUBERNETES_SERVICE_HOST") and not kubeconfig:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, client_configuration=configuration)
        return cls(client.ApiClient(configuration))

    def close(self) -> None:
        self.api_client.close()

    def _pods(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        data = self._core("GET", path, params, [("labelSelector", POD_SELECTOR)])
        items: list[dict[str, Any]] = json.loads(data).get("items") or []
        return items

    def list_courses(self, namespaces: Sequence[str] | None) -> Iterator[dict[str, Any]]:
        """Courses of the watched namespaces (None: all namespaces), a page at a time.

        The pages (``limit`` / ``continue``) are one consistent snapshot on the API server;
        asking for them one by one keeps a single page of decoded objects in memory instead
        of every Course at once (the caller keeps only what it needs of each).
        """
        for namespace in [None] if namespaces is None else namespaces:
            token: str | None = None
            while True:
                page = self._courses_page(namespace, token)
                yield from page.get("items") or []
                token = (page.get("metadata") or {}).get("continue")
                if not token:
                    break

    def _courses_page(self, namespace: str | None, token: str | None) -> dict[str, Any]:
        options: dict[str, Any] = {"limit": LIST_PAGE}
        if token:
            options["_continue"] = token
        try:
            if namespace is None:
                page = self.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL, **options)
            else:
                page = self.custom.list_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, **options)
        except ApiException as exc:
            _raise(exc, "list courses")
            raise  # unreachable, for type checkers
        result: dict[str, Any] = page
        return result

    def list_pods(self, namespaces: Sequence[str] | None) -> list[dict[str, Any]]:
        """The controller's pods (by the managed-by label) in the watched namespaces."""
        try:
            if namespaces is None:
                return self._pods("/api/v1/pods", {})
            found: list[dict[str, Any]] = []
            for namespace in namespaces:
                found += self._pods("/api/v1/namespaces/{namespace}/pods",
                                    {"namespace": namespace})
            return found
        except ApiException as exc:
            _raise(exc, "list pods")
            raise

    def create_pod(self, manifest: dict[str, Any]) -> bool:
        """Create a pod; False when it already exists (a repeat after a crash is harmless)."""
        namespace = manifest["metadata"]["namespace"]
        try:
            self._core("POST", "/api/v1/namespaces/{namespace}/pods", {"namespace": namespace},
                       body=manifest)
            return True
        except ApiException as exc:
            if exc.status == 409:
                return False
            _raise(exc, "create pod")
            raise

    def delete_pod(self, namespace: str, name: str, grace_seconds: int | None = None) -> None:
        """Delete a pod; one that is already gone is fine."""
        try:
            query: list[tuple[str, Any]] = [("propagationPolicy", "Background")]
            if grace_seconds is not None:
                query.append(("gracePeriodSeconds", grace_seconds))
            self._core("DELETE", "/api/v1/namespaces/{namespace}/pods/{name}",
                       {"namespace": namespace, "name": name}, query)
        except ApiException as exc:
            if exc.status != 404:
                _raise(exc, "delete pod")

    def post_event(self, namespace: str, course: str, course_uid: str, type_: str,
                   reason: str, message: str) -> None:
        """A Kubernetes Event on a Course (``kubectl describe`` shows them). Best effort:
        an event that cannot be written is counted, never fails the caller."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "metadata": {"name": f"{course}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Course",
                               "name": course, "namespace": namespace, "uid": course_uid},
            "type": type_, "reason": reason, "message": message[:1024],
            "source": {"component": "course-controller"},
            "reportingComponent": "course-controller",
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        try:
            self._core("POST", "/api/v1/namespaces/{namespace}/events", {"namespace": namespace},
                       body=body)
        except ApiException as exc:
            with contextlib.suppress(KubeError, KubeRejected):
                _raise(exc, "create event")

    def patch_course_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Merge-patch a Course's status subresource; a Course already gone is fine."""
        try:
            self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, PLURAL, name, {"status": status},
                _content_type="application/merge-patch+json")
        except ApiException as exc:
            if exc.status != 404:
                _raise(exc, "patch course status")
