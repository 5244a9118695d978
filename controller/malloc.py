"""glibc malloc settings for the controller process, applied once at start-up.

glibc gives each thread that allocates its own malloc arena (up to 8 per core) and keeps
what a thread freed in that thread's arena for its next allocation, not for the process.
The controller's blocking work runs in a pool of threads (the sweep, kopf handlers
reconciling Courses), and a sweep over 1,000 Courses allocates a few MB of short-lived
buffers (the list response, its decoded JSON, the rows of the queue) in whichever thread
ran it: each worker thread's arena grew to that size and kept it, ~35 MB of freed but
resident memory after a burst of 1,000 Courses (``malloc_info``: six arenas of 7 MB, 95%
free). Python holds the GIL while it allocates, so more arenas buy no parallelism here;
two (the main thread's and one shared by the workers) keep the freed memory reusable by
every thread.
"""

from __future__ import annotations

import ctypes
import sys

M_ARENA_MAX = -8  # <malloc.h>
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap the number of glibc malloc arenas; True when the C library accepted it.

    Takes effect for arenas created afterwards, so call it before any thread starts.
    Another C library (musl, macOS) has no such setting: nothing happens there.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))
