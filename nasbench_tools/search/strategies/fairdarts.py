"""FairDARTS and the DSCD variants (described in docs/fairdarts-dscd.md).

FairDARTS (Chu et al., ECCV 2020): sigmoid relaxation (ops do not compete), alpha initialised
to 0, a zero-one loss that pushes every sigmoid weight towards 0 or 1 (weight 10, squared form
``-mean((sigma - 1/2)^2)`` by default, ``-mean(|sigma - 1/2|)`` as the L1 option), first order,
and its own optimiser settings (`FAIRDARTS_CONFIG`); the architecture is read by threshold
(`nasbench_tools.search.fair`).

DSCD ("Making DARTS less local") keeps a method's problem and replaces only its alpha optimiser
by alternating Adam steps with Beta-annealed global coordinate steps
(`nasbench_tools.search.dscd`): ``fairdarts-dscd`` is the paper's method, ``darts-dscd`` the
same optimiser on plain DARTS.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.search.config import SearchConfig
from nasbench_tools.search.dscd import DSCDSettings
from nasbench_tools.search.fair import THRESHOLD_RULES
from nasbench_tools.search.strategies.base import Strategy
from nasbench_tools.search.strategies.darts import Darts

#: FairDARTS's search settings (its reference code and README), applied before user overrides.
FAIRDARTS_CONFIG: dict[str, Any] = {
    "order": 1, "batch_size": 128, "lr": 0.005, "lr_min": 0.001, "momentum": 0.9,
    "weight_decay": 3e-4, "arch_lr": 3e-3, "arch_beta1": 0.9, "arch_beta2": 0.999,
    "arch_weight_decay": 1e-3, "init_scale": 0.0,
}
ZERO_ONE_FORMS = ("squared", "l1")


class FairDarts(Strategy):
    name = "fairdarts"
    relaxation = "sigmoid"
    config_defaults: ClassVar[dict[str, Any]] = FAIRDARTS_CONFIG

    def __init__(self, config: SearchConfig, *, zero_one_weight: float = 10.0,
                 zero_one_form: str = "squared", threshold: float = 0.85,
                 threshold_rule: str = "threshold_sparse") -> None:
        super().__init__(config)
        if zero_one_weight < 0:
            raise ConfigError(f"fairdarts zero_one_weight={zero_one_weight} must be >= 0")
        if zero_one_form not in ZERO_ONE_FORMS:
            raise ConfigError(f"fairdarts zero_one_form={zero_one_form!r} is not allowed; use "
                              f"{' or '.join(ZERO_ONE_FORMS)}")
        if not 0.0 < threshold < 1.0:
            raise ConfigError(f"fairdarts threshold={threshold} must be in (0, 1)")
        if threshold_rule not in THRESHOLD_RULES:
            raise ConfigError(f"fairdarts threshold_rule={threshold_rule!r} is not allowed; use "
                              f"{' or '.join(THRESHOLD_RULES)}")
        self.zero_one_weight, self.zero_one_form = zero_one_weight, zero_one_form
        self.threshold, self.threshold_rule = threshold, threshold_rule

    def params(self) -> dict[str, Any]:
        return {"zero_one_weight": self.zero_one_weight, "zero_one_form": self.zero_one_form,
                "threshold": self.threshold, "threshold_rule": self.threshold_rule}


class _DSCD:
    """Mixin: DSCD replaces the alpha optimiser of the strategy it is mixed into."""

    dscd: DSCDSettings | None

    def _init_dscd(self, *, dscd_window: int, dscd_switch_after: int, dscd_domain: float,
                   dscd_coordinates: int, dscd_start: str) -> None:
        self.dscd = DSCDSettings(window=dscd_window, switch_after=dscd_switch_after,
                                 domain=dscd_domain, coordinates=dscd_coordinates,
                                 start=dscd_start)

    def _dscd_params(self) -> dict[str, Any]:
        d = self.dscd
        assert d is not None
        return {"dscd_window": d.window, "dscd_switch_after": d.switch_after,
                "dscd_domain": d.domain, "dscd_coordinates": d.coordinates,
                "dscd_start": d.start}


class FairDartsDSCD(_DSCD, FairDarts):
    name = "fairdarts-dscd"

    def __init__(self, config: SearchConfig, *, dscd_window: int = 100,
                 dscd_switch_after: int = 10, dscd_domain: float = 5.0,
                 dscd_coordinates: int = 1, dscd_start: str = "local", **fair: Any) -> None:
        FairDarts.__init__(self, config, **fair)
        self._init_dscd(dscd_window=dscd_window, dscd_switch_after=dscd_switch_after,
                        dscd_domain=dscd_domain, dscd_coordinates=dscd_coordinates,
                        dscd_start=dscd_start)

    def params(self) -> dict[str, Any]:
        return {**FairDarts.params(self), **self._dscd_params()}


class DartsDSCD(_DSCD, Darts):
    name = "darts-dscd"

    def __init__(self, config: SearchConfig, *, dscd_window: int = 100,
                 dscd_switch_after: int = 10, dscd_domain: float = 5.0,
                 dscd_coordinates: int = 1, dscd_start: str = "local") -> None:
        Strategy.__init__(self, config)
        self._init_dscd(dscd_window=dscd_window, dscd_switch_after=dscd_switch_after,
                        dscd_domain=dscd_domain, dscd_coordinates=dscd_coordinates,
                        dscd_start=dscd_start)

    def params(self) -> dict[str, Any]:
        return self._dscd_params()
