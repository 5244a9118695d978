"""Kubernetes ``kind: Status`` errors, worded like kube-apiserver.

Clients (kubectl, kopf, the official client) show these messages to humans and branch on
``reason`` and ``code``, so the wording is copied from the real server, not paraphrased.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class Cause:
    """One ``details.causes[]`` entry of an Invalid error."""

    reason: str
    field: str
    message: str

    def as_json(self) -> JSON:
        return {"reason": self.reason, "message": self.message, "field": self.field}


@dataclass
class ApiError(Exception):
    """An error answered to the client as a ``Status`` body with ``code``."""

    code: int
    reason: str
    message: str
    details: JSON = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def status(self) -> JSON:
        body: JSON = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _details(name: str, qualified: str, **extra: Any) -> JSON:
    plural, _, grp = qualified.partition(".")
    details: JSON = {"name": name, "kind": plural}
    if grp:
        details["group"] = grp
    details.update(extra)
    return details


def not_found(qualified: str, name: str) -> ApiError:
    """``pods "p" not found``; ``qualified`` is ``plural[.group]``."""
    return ApiError(404, "NotFound", f'{qualified} "{name}" not found', _details(name, qualified))


def already_exists(qualified: str, name: str) -> ApiError:
    return ApiError(
        409, "AlreadyExists", f'{qualified} "{name}" already exists', _details(name, qualified)
    )


def conflict(qualified: str, name: str) -> ApiError:
    message = (
        f'Operation cannot be fulfilled on {qualified} "{name}": the object has been modified;'
        " please apply your changes to the latest version and try again"
    )
    return ApiError(409, "Conflict", message, _details(name, qualified))


def invalid(kind_group: str, name: str, causes: list[Cause]) -> ApiError:
    """``Course.learning.dev "bad" is invalid: spec.owner: Required value``."""
    texts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    kind, _, group = kind_group.partition(".")
    details: JSON = {"name": name, "kind": kind, "causes": [c.as_json() for c in causes]}
    if group:
        details["group"] = group
    return ApiError(422, "Invalid", f'{kind_group} "{name}" is invalid: {joined}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed() -> ApiError:
    return ApiError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def unsupported_media_type(content_type: str, accepted_types: list[str]) -> ApiError:
    accepted = ", ".join(accepted_types)
    message = (
        "the body of the request was in an unknown format - accepted media types include: "
        + accepted
    )
    del content_type
    return ApiError(415, "UnsupportedMediaType", message)


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def page_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")
