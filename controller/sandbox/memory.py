"""Memory limits, as the kubelet's cgroup enforces them: quantities and a process group's RSS.

The sandbox has no cgroups, so the pod runner samples the resident set of the container's
process group (read from /proc, one ``stat`` file per process) and kills the group when it
exceeds ``resources.limits.memory``, which is what the kernel's OOM killer does to a
container at its cgroup limit.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

BINARY = ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
DECIMAL = ("k", "M", "G", "T", "P", "E")
SCALES: dict[str, Decimal] = {
    **{suffix: Decimal(2) ** (10 * n) for n, suffix in enumerate(BINARY, 1)},
    **{suffix: Decimal(10) ** (3 * n) for n, suffix in enumerate(DECIMAL, 1)},
    "": Decimal(1),
    "m": Decimal("0.001"),
}
QUANTITY = re.compile(r"^([+-]?[0-9.]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?)$")
PROC = Path("/proc")


def parse_quantity(text: str) -> int:
    """Bytes in a Kubernetes quantity ("64Mi", "1Gi", "500M", "1e9", "128974848"), rounded
    up to a whole byte as the API server canonicalises memory."""
    match = QUANTITY.match(text.strip())
    if match is None:
        raise ValueError(f"quantities must match the regular expression {QUANTITY.pattern!r}")
    number, exponent, suffix = match.groups()
    try:
        value = Decimal(number) * (Decimal(f"1{exponent}") if exponent else 1)
    except InvalidOperation as e:
        raise ValueError(f"not a quantity: {text!r}") from e
    return math.ceil(value * SCALES[suffix or ""])


def memory_limit(container: dict[str, object]) -> int | None:
    """The container's ``resources.limits.memory`` in bytes, if it sets one."""
    resources = container.get("resources")
    limits = resources.get("limits") if isinstance(resources, dict) else None
    memory = limits.get("memory") if isinstance(limits, dict) else None
    return parse_quantity(str(memory)) if memory is not None else None


def group_rss(pgid: int, proc: Path = PROC) -> int:
    """Resident bytes of every process in process group ``pgid``."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for stat in proc.glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # Fields after the command name (which may contain spaces and parentheses):
            # state ppid pgrp ... with rss (in pages) the 22nd of them.
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[2]) == pgid:
                total += int(fields[21]) * page
    return total
