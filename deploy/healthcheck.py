"""The bot container's health check: exit 0 while a bot holds the database's instance lock.

`run` holds an flock on the database file for as long as it runs (storage/lock.py). This reads
the kernel's lock table (/proc/locks) instead of trying the lock itself, so a check can never
make a starting bot think another one runs. Needs no token and no network.

Usage: python deploy/healthcheck.py [/data/doithoai.db]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def held(database: str, locks: str = "/proc/locks") -> bool:
    try:
        inode = os.stat(database).st_ino
        table = Path(locks).read_text()
    except OSError:
        return False
    for line in table.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (blocked waiters carry "->")
        if "FLOCK" in fields and "->" not in fields:
            device_inode = next((f for f in fields if f.count(":") == 2), "")
            if device_inode.rsplit(":", 1)[-1] == str(inode):
                return True
    return False


if __name__ == "__main__":
    sys.exit(0 if held(sys.argv[1] if len(sys.argv) > 1 else "/data/doithoai.db") else 1)
