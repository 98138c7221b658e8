"""Typed overrides of frozen dataclasses from TOML files and ``--set key=value`` strings.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class P:
...     epochs: int = 10
...     lr: float = 0.1
>>> apply_overrides(P(), parse_assignments(["epochs=3"]))
P(epochs=3, lr=0.1)
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from nasbench_tools.exceptions import ConfigError, DataNotFoundError

T = TypeVar("T")


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}`` (values stay strings until typed)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not of the form key=value")
        out[key.strip()] = value.strip()
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"config file {str(p)!r} does not exist")
    try:
        return tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(p)!r} is not valid TOML: {exc}") from None


def apply_overrides(obj: T, values: Mapping[str, Any]) -> T:
    """A copy of dataclass ``obj`` with ``values`` (strings or TOML values) typed and applied."""
    fields = {f.name: f for f in dataclasses.fields(obj)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(type(obj))
    changes: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in fields:
            raise ConfigError(f"unknown setting {key!r}; allowed: {', '.join(sorted(fields))}")
        changes[key] = _coerce(key, raw, hints[key])
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]


def _coerce(key: str, raw: Any, hint: Any) -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if raw is None or (isinstance(raw, str) and raw.lower() in ("none", "null")):
            if type(None) in args:
                return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, raw, arg)
            except ConfigError:
                continue
        raise ConfigError(f"setting {key}={raw!r} is not a valid {hint}")
    try:
        if hint is bool:
            if isinstance(raw, bool):
                return raw
            if str(raw).lower() in ("true", "1", "yes", "on"):
                return True
            if str(raw).lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if hint is int:
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            return int(raw)
        if hint is float:
            return float(raw)
        if hint is str:
            return str(raw)
    except (TypeError, ValueError):
        pass
    else:
        return raw
    raise ConfigError(f"setting {key}={raw!r} is not a valid {getattr(hint, '__name__', hint)}")
