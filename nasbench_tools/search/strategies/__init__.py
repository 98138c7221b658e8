"""Search strategies by name; each is a small class over the one engine.

>>> from nasbench_tools.search.config import get_search_config
>>> sorted(STRATEGIES)  # doctest: +NORMALIZE_WHITESPACE
['darts', 'darts-ada', 'darts-dscd', 'darts-es', 'fairdarts', 'fairdarts-dscd',
 'rdarts-dp', 'rdarts-l2']
>>> make_strategy("rdarts-l2", get_search_config("digits"), {"weight_decay": 9e-4}).params()
{'weight_decay': 0.0009}
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from nasbench_tools.exceptions import ConfigError, UnknownNameError
from nasbench_tools.search.config import SearchConfig
from nasbench_tools.search.strategies.base import CONTINUE, Decision, EpochSettings, Strategy
from nasbench_tools.search.strategies.darts import Darts
from nasbench_tools.search.strategies.darts_ada import DartsADA
from nasbench_tools.search.strategies.darts_es import DartsES, EigenvalueMonitor
from nasbench_tools.search.strategies.fairdarts import DartsDSCD, FairDarts, FairDartsDSCD
from nasbench_tools.search.strategies.rdarts import RDartsDP, RDartsL2

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (Darts, DartsES, DartsADA, RDartsL2, RDartsDP, FairDarts,
                              FairDartsDSCD, DartsDSCD)
}

__all__ = ["CONTINUE", "STRATEGIES", "Decision", "EigenvalueMonitor", "EpochSettings",
           "Strategy", "make_strategy", "method_overrides", "strategy_params"]


def strategy_params(cls: type[Strategy]) -> dict[str, Any]:
    """Keyword hyper-parameters of a strategy class and their defaults (ES ones included)."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.kind is p.KEYWORD_ONLY:
                out[p.name] = p.default
    return out


def method_overrides(method: str | Strategy, overrides: Mapping[str, Any] | None
                     ) -> dict[str, Any]:
    """The search settings a method brings (e.g. FairDARTS's optimisers) under ``overrides``."""
    if isinstance(method, Strategy):
        return dict(overrides or {})
    if method not in STRATEGIES:
        raise UnknownNameError("method", method, STRATEGIES)
    return {**STRATEGIES[method].config_defaults, **(overrides or {})}


def make_strategy(name: str, config: SearchConfig,
                  params: Mapping[str, Any] | None = None) -> Strategy:
    """A strategy by registry name, with typed keyword ``params`` (strings are converted)."""
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise UnknownNameError("method", name, STRATEGIES) from None
    allowed = strategy_params(cls)
    typed: dict[str, Any] = {}
    for key, raw in (params or {}).items():
        if key not in allowed:
            raise ConfigError(f"method {name!r} has no parameter {key!r}; allowed: "
                              f"{', '.join(sorted(allowed)) or 'none'}")
        typed[key] = _typed(key, raw, type(allowed[key]))
    return cls(config, **typed)


def _typed(key: str, raw: Any, kind: type) -> Any:
    if isinstance(raw, kind) and not isinstance(raw, bool):
        return raw
    try:
        return kind(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"parameter {key}={raw!r} is not a valid {kind.__name__}") from None
