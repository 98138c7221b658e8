"""What the scripts under ``analysis/`` share: bad input (a missing table, a file that is not
one, an unknown name) is one line on stderr and exit status 2, as in ``nasbench-tools``."""

from __future__ import annotations

import sys
from collections.abc import Callable

from nasbench_tools.exceptions import NasbenchError


def run(name: str, body: Callable[[], object]) -> int:
    """Call ``body``; on a :class:`NasbenchError` print ``name: error: ...`` and return 2."""
    try:
        body()
    except NasbenchError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2
    return 0
