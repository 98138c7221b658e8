"""Optimisers compared at equal budgets of function evaluations on the test functions.

An evaluation is one value of f, with its gradient (by autograd) when the method needs it.
Methods, by registry name (``r`` scales the learning rate with the domain, ``lr = r a / 5``,
so ``r`` is the lr on Styblinski-Tang and a hundredth of it on Schwefel):

- ``adam-r{r}``: torch.optim.Adam at a constant lr; ``adam-cos-r{r}``: the lr follows a cosine
  from ``lr`` to 0 over the budget. Every iterate is clipped to the domain after each step.
- ``...+dscd``: the same Adam with DSCD global steps (`nasbench_tools.search.dscd`) on the
  function's own domain; a global step costs one evaluation (the proposal: the objective is
  deterministic and the current value is known), its concentration progress is evaluations
  used / budget, and an accepted proposal resets Adam's moments of the changed coordinate.
- ``random``: uniform samples over the domain; ``cma-es``: the ``cma`` package from the same
  start point, sigma0 = 0.3 x the domain width, bounded by the domain, run until exactly the
  budget (its own stopping rules are not used; the last generation is cut to the budget).

    run = run_method("styblinski-tang", 5, "adam-r0.1+dscd", budget=2000, seed=0)
    run.best_value - run.optimum_value, run.accepted

Gradient methods and CMA-ES start from one point per (function, dim, seed), drawn uniformly
in the domain (`start_point`), so methods are compared on paired starts. Each run draws from
its own ``SeedSequence`` of (seed, function, dim, method name), so results depend neither on
the order of runs nor on the number of workers; torch works in float64 and no method touches
a global random generator (CMA-ES samples through the run's Generator, its ``randn`` option).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench_tools.exceptions import ConfigError, UnknownNameError
from nasbench_tools.search.dscd import DSCDController, DSCDSettings
from nasbench_tools.synthetic.functions import SyntheticFunction, get_function

if TYPE_CHECKING:
    import torch

#: The default grid of ``r`` (lr = r a / 5).
DEFAULT_RATIOS = (0.01, 0.1, 1.0)


@dataclass(frozen=True)
class MethodSpec:
    """One optimiser: ``kind`` is ``adam``, ``random`` or ``cma-es``."""

    name: str
    kind: str
    ratio: float = 0.0  # r: lr = r * a / 5
    cosine: bool = False
    dscd: bool = False

    def learning_rate(self, function: SyntheticFunction) -> float:
        return self.ratio * function.half_width / 5.0

    @property
    def base(self) -> str:
        """The name without ``+dscd`` (the Adam variant DSCD is added to)."""
        return self.name.removesuffix("+dscd")


def _adam_methods(ratios: Sequence[float]) -> dict[str, MethodSpec]:
    specs = {}
    for cosine in (False, True):
        for r in ratios:
            for dscd in (False, True):
                name = f"adam-{'cos-' if cosine else ''}r{r:g}{'+dscd' if dscd else ''}"
                specs[name] = MethodSpec(name, "adam", r, cosine, dscd)
    return specs


METHODS: dict[str, MethodSpec] = {
    **_adam_methods(DEFAULT_RATIOS),
    "random": MethodSpec("random", "random"),
    "cma-es": MethodSpec("cma-es", "cma-es"),
}


def get_method(name: str) -> MethodSpec:
    """The registered method ``name``; `UnknownNameError` lists the others."""
    try:
        return METHODS[name]
    except KeyError:
        raise UnknownNameError("method", name, METHODS) from None


def list_methods() -> list[str]:
    return list(METHODS)


@dataclass(frozen=True, eq=False)
class OptimiserRun:
    """One run. ``best_so_far[i]`` is the lowest f of evaluations 0..i (length = budget).

    ``final_value``: f at the optimiser's final point: for Adam (with or without DSCD) its last
    iterate (no update follows the last evaluation, so its value is known); for random search
    the last sample; for CMA-ES the best of the last (possibly cut) generation.
    """

    function: str
    dim: int
    method: str
    seed: int
    best_so_far: np.ndarray
    final_value: float
    best_value: float
    best_point: np.ndarray
    optimum_value: float  # f* of the function in this dimension
    distance_to_optimum: float  # Euclidean distance from best_point to x*
    local_steps: int = 0  # DSCD only: Adam steps, global steps, accepted proposals
    global_steps: int = 0
    accepted: int = 0

    @property
    def evals(self) -> int:
        return int(self.best_so_far.size)


class _Tracker:
    """Counts evaluations and keeps the best-so-far curve and point."""

    def __init__(self, budget: int, dim: int) -> None:
        self.curve = np.empty(budget, dtype=np.float64)
        self.used, self.best, self.point = 0, math.inf, np.full(dim, np.nan)

    def add(self, values: np.ndarray, points: np.ndarray) -> None:
        values = np.atleast_1d(values)
        k = values.size
        if self.used + k > self.curve.size:
            raise RuntimeError("evaluation budget exceeded")  # a bug, not bad input
        i = int(np.argmin(values))
        if values[i] < self.best:
            self.best, self.point = float(values[i]), np.array(points, ndmin=2)[i].copy()
        running = np.minimum.accumulate(values)
        previous = self.curve[self.used - 1] if self.used else math.inf
        self.curve[self.used:self.used + k] = np.minimum(running, previous)
        self.used += k


def seed_sequence(seed: int, *parts: str | int) -> np.random.SeedSequence:
    """A SeedSequence of ``seed`` and ``parts`` (names hashed by CRC-32: stable everywhere)."""
    words = [seed, *(zlib.crc32(p.encode()) if isinstance(p, str) else p for p in parts)]
    return np.random.SeedSequence(words)


def start_point(function: SyntheticFunction, dim: int, seed: int) -> np.ndarray:
    """The start shared by all methods of (function, dim, seed): uniform in the domain."""
    rng = np.random.default_rng(seed_sequence(seed, "start", function.name, dim))
    return rng.uniform(-function.half_width, function.half_width, size=dim)


def cma_popsize(dim: int) -> int:
    """CMA-ES's default population, 4 + floor(3 ln d): the evaluations of its first
    generation."""
    return 4 + int(3 * math.log(dim))


def check_budget(methods: Sequence[str], dim: int, budget: int) -> None:
    """`ConfigError` unless every method can spend ``budget`` evaluations in ``dim``."""
    if dim < 1:
        raise ConfigError(f"dimension {dim} is not allowed; use an integer >= 1")
    if budget < 1:
        raise ConfigError(f"budget {budget} is not allowed; use an integer >= 1")
    if "cma-es" in methods and budget < cma_popsize(dim):
        raise ConfigError(f"budget {budget} is smaller than CMA-ES's first generation "
                          f"({cma_popsize(dim)} evaluations in {dim}-d); use a budget >= "
                          f"{cma_popsize(dim)} or leave cma-es out")


def run_method(function: str | SyntheticFunction, dim: int, method: str | MethodSpec,
               budget: int, seed: int, *, x0: np.ndarray | None = None,
               dscd: DSCDSettings | None = None) -> OptimiserRun:
    """Run ``method`` on ``function`` in ``dim`` dimensions for exactly ``budget`` evaluations.
    ``x0`` replaces the seed's start point; ``dscd`` the DSCD settings (default: the defaults
    of `DSCDSettings` on the function's domain)."""
    fn = get_function(function) if isinstance(function, str) else function
    spec = get_method(method) if isinstance(method, str) else method
    check_budget([spec.kind], dim, budget)
    start = start_point(fn, dim, seed) if x0 is None else np.asarray(x0, dtype=np.float64)
    if start.shape != (dim,):
        raise ConfigError(f"x0 of shape {start.shape} does not fit dimension {dim}")
    rng = np.random.default_rng(seed_sequence(seed, fn.name, dim, spec.name))
    tracker = _Tracker(budget, dim)
    counts = (0, 0, 0)
    if spec.kind == "random":
        final = _random_search(fn, dim, budget, rng, tracker)
    elif spec.kind == "cma-es":
        final = _cma_es(fn, start, budget, rng, tracker)
    else:
        settings = dscd or DSCDSettings(domain=fn.half_width)
        final, counts = _adam(fn, spec, start, budget, tracker, rng if spec.dscd else None,
                              settings)
    return OptimiserRun(
        function=fn.name, dim=dim, method=spec.name, seed=seed, best_so_far=tracker.curve,
        final_value=final, best_value=tracker.best, best_point=tracker.point,
        optimum_value=fn.minimum(dim),
        distance_to_optimum=float(np.linalg.norm(tracker.point - fn.optimum(dim))),
        local_steps=counts[0], global_steps=counts[1], accepted=counts[2])


def _random_search(fn: SyntheticFunction, dim: int, budget: int, rng: np.random.Generator,
                   tracker: _Tracker) -> float:
    points = rng.uniform(-fn.half_width, fn.half_width, size=(budget, dim))
    values = fn(points)
    tracker.add(values, points)
    return float(values[-1])


def _cma_es(fn: SyntheticFunction, x0: np.ndarray, budget: int, rng: np.random.Generator,
            tracker: _Tracker) -> float:
    import cma

    def randn(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape)

    a = fn.half_width
    options: dict[str, Any] = {"bounds": [-a, a], "seed": math.nan, "randn": randn,
                               "verbose": -9, "verb_log": 0, "verb_disp": 0}
    es = cma.CMAEvolutionStrategy(x0.tolist(), 0.3 * 2 * a, options)
    last = math.nan
    while tracker.used < budget:
        asked = es.ask()
        take = min(len(asked), budget - tracker.used)
        points = np.clip(np.asarray(asked[:take], dtype=np.float64), -a, a)
        values = fn(points)
        tracker.add(values, points)
        last = float(values.min())
        if take == len(asked):
            es.tell(asked, values.tolist())
    return last


def _adam(fn: SyntheticFunction, spec: MethodSpec, x0: np.ndarray, budget: int,
          tracker: _Tracker, rng: np.random.Generator | None, settings: DSCDSettings
          ) -> tuple[float, tuple[int, int, int]]:
    """Adam, with DSCD global steps when ``rng`` is given. The local step after which DSCD
    hands over to global steps (and the last evaluation) takes no Adam update, so the point
    the proposals perturb, and the final point, have a known value."""
    import torch

    lr = spec.learning_rate(fn)
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([x], lr=lr)
    control = DSCDController(settings, rng) if rng is not None else None
    current = math.nan
    for t in range(budget):
        if spec.cosine:
            opt.param_groups[0]["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * t / budget))
        if control is not None and control.kind == "global":
            current = _global_step(fn, x, opt, control, t / budget, current, tracker)
            continue
        opt.zero_grad()
        loss = fn(x)
        loss.backward()
        current = loss.item()
        tracker.add(np.array([current]), x.detach().numpy()[None])
        if control is not None:
            control.record(current)
        if t < budget - 1 and (control is None or control.kind == "local"):
            opt.step()
            with torch.no_grad():
                x.clamp_(-fn.half_width, fn.half_width)
    counts = control.counts()[:3] if control is not None else (0, 0, 0)
    return current, counts


def _global_step(fn: SyntheticFunction, x: torch.Tensor, opt: torch.optim.Optimizer,
                 control: DSCDController, progress: float, current: float,
                 tracker: _Tracker) -> float:
    """One DSCD proposal (one evaluation); returns the value at the point kept."""
    import torch

    candidate = x.detach().numpy().copy()
    changed = control.coordinates(candidate.size)
    for i in changed:
        candidate[i] = control.proposal(float(candidate[i]), progress)
    value = float(fn(candidate))
    tracker.add(np.array([value]), candidate[None])
    control.state.loss_evals += 1
    accepted = control.accepts(value)
    if accepted:
        index = torch.as_tensor(changed, dtype=torch.long)
        with torch.no_grad():
            x[index] = torch.as_tensor(candidate[changed], dtype=torch.float64)
        state = opt.state.get(x, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in state:
                state[key][index] = 0.0
        current = value
    control.record(current, accepted=accepted)
    return current
