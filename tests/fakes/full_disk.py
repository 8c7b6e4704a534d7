"""Filling a file system to the last byte (the small tmpfs is the `small_disk` fixture in
tests/conftest.py)."""

from __future__ import annotations

import contextlib
import uuid


def fill(folder) -> None:
    """Write until the file system refuses a single byte more."""
    with open(folder / f"filler-{uuid.uuid4().hex}", "wb", buffering=0) as f:
        for size in (65536, 1):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * size)
