"""The physical reference (issue 8, item 6): pgbench single-row updates on the same server.

``pgbench -i -s 10`` on a throw-away database, then a script of one
``UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid`` per transaction
(autocommit, the same durability settings as the queue), for each client count. Each queue
figure can be read against it: a claim + complete of a batch is two such transactions.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.common import Databases, Figure, median

SCRIPT = "\\set aid random(1, 100000 * :scale)\n" \
         "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n"


def pgbench(dbs: Databases, *, clients_list: list[int], seconds: int,
            repeats: int) -> list[Figure]:
    exe = shutil.which("pgbench")
    if exe is None:
        return [Figure("pgbench", "pgbench single-row update", float("nan"), "tps",
                       note="pgbench not installed (apt-get install postgresql-client)")]
    name = dbs.create(migrate=False)
    dsn = dbs.psycopg_dsn(name)
    figures = []
    try:
        subprocess.run([exe, "-i", "-q", "-s", "10", dsn], check=True, capture_output=True)
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "update.sql"
            script.write_text(SCRIPT)
            for clients in clients_list:
                rates = []
                for _ in range(repeats):
                    out = subprocess.run(
                        [exe, "-n", "-c", str(clients), "-j", str(min(clients, 2)),
                         "-T", str(seconds), "-f", str(script), dsn],
                        check=True, capture_output=True, text=True).stdout
                    found = re.search(r"tps = ([0-9.]+)", out)
                    assert found, out
                    rates.append(float(found.group(1)))
                print(f"    pgbench clients={clients:<2} {median(rates):8.0f} tps", flush=True)
                figures.append(Figure("pgbench", f"single-row update c={clients}",
                                      median(rates), "tps", rates))
    finally:
        dbs.drop(name)
    return figures
