"""The controller's malloc setting: applied on glibc, a no-op elsewhere."""

from __future__ import annotations

import platform
import subprocess
import sys

from controller import malloc


def test_arenas_are_capped_on_glibc_and_ignored_elsewhere() -> None:
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert malloc.limit_arenas() is glibc


def test_a_started_controller_caps_arenas_before_any_thread() -> None:
    """app.run applies it first: threads made afterwards share the capped arenas."""
    probe = (
        "import threading, unittest.mock as m\n"
        "from controller import app\n"
        "seen = []\n"
        "with m.patch.object(app.malloc, 'limit_arenas', lambda: seen.append("
        "threading.active_count())), m.patch.object(app.logs, 'configure', "
        "side_effect=SystemExit):\n"
        "    try: app.run(m.MagicMock())\n"
        "    except SystemExit: pass\n"
        "assert seen == [1], seen\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)
