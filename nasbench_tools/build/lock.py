"""An exclusive, non-blocking lock file so two builders never write one output.

The lock is an ``flock`` on ``<out>.lock``: the kernel releases it when the process dies, so a
killed build never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from nasbench_tools.exceptions import BuildLockedError


@contextlib.contextmanager
def output_lock(out: str | Path) -> Iterator[Path]:
    path = Path(f"{out}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLockedError(
                f"another build is writing {str(out)!r} (lock {str(path)!r} is held)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        os.close(fd)
