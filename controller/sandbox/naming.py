"""Object names: generateName suffixes and RFC 1123 validation."""

from __future__ import annotations

import random
import re

from controller.sandbox.errors import Cause

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SUBDOMAIN_HELP = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or"
    " '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used"
    r" for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def generate(prefix: str, rng: random.Random | None = None) -> str:
    """``prefix`` + 5 random characters, as the apiserver's SimpleNameGenerator does."""
    chooser = rng or random.Random()
    return prefix[:58] + "".join(chooser.choice(_ALPHABET) for _ in range(5))


def name_causes(name: str) -> list[Cause]:
    if not name:
        return [
            Cause(
                "FieldValueRequired",
                "metadata.name",
                "Required value: name or generateName is required",
            )
        ]
    if len(name) > 253:
        return [Cause("FieldValueTooLong", "metadata.name", "Too long: may not be longer than 253")]
    if not _SUBDOMAIN.match(name):
        return [
            Cause(
                "FieldValueInvalid", "metadata.name", f'Invalid value: "{name}": {_SUBDOMAIN_HELP}'
            )
        ]
    return []
