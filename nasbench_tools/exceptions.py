"""The few exceptions the toolkit raises on bad input.

Every message names the offending value and what would have been allowed, so the CLI can print
it as one line (and exit with code 2) without a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable


class NasbenchError(Exception):
    """Base class: an error caused by the user's input, reported as one line."""


class UnknownNameError(NasbenchError, KeyError):
    """A name looked up in a registry (space, dataset, op, preset, metric, ...) does not exist."""

    def __init__(self, kind: str, name: object, allowed: Iterable[str]) -> None:
        self.kind, self.name, self.allowed = kind, name, sorted(allowed)
        super().__init__(f"unknown {kind} {name!r}; allowed: {', '.join(self.allowed)}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class OutOfSpaceError(NasbenchError, ValueError):
    """An architecture id, encoding or genotype string that is not in the search space."""


class ConfigError(NasbenchError, ValueError):
    """A malformed configuration value: a TOML field, a ``--set`` override, a shard spec, ..."""


class DataNotFoundError(NasbenchError, FileNotFoundError):
    """A dataset's files are not where they were looked for."""


class TableFormatError(NasbenchError, ValueError):
    """A file is not a readable nasbench-tools table (not HDF5, truncated, missing datasets), or
    a table's stored record cannot be read as its value (a partial protocol)."""


class SchemaVersionError(TableFormatError):
    """A table was written with a schema version this code cannot read."""


class IncompleteTableError(NasbenchError, ValueError):
    """A query needs runs that the table does not hold (pending or failed runs)."""


class BuildMismatchError(NasbenchError, ValueError):
    """An existing output or journal was built with another space, dataset, protocol or seeds."""


class BuildLockedError(NasbenchError, RuntimeError):
    """Another builder holds the lock on the same output file."""
