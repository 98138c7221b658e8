"""The RobustDARTS claims tested on a set of searches: one number per claim, with its 95 %
interval, p-value, n and a verdict.

    tests = robustdarts_claims(load_runs("traces/study"))
    claims_frame(tests)            # one row per test (what `analysis/study.py` writes as CSV)

The claims (Zela et al., 2020) and how each is measured (windows fixed in advance, never chosen
from the data):

- (a) DARTS's test regret first falls, then rises while the one-shot error keeps falling: per
  DARTS run, regret of the first `WINDOW` epochs minus that of the *middle window* (the second
  fifth of the search: epochs 10-19 of 50), the last `WINDOW` epochs' regret minus the middle
  window's, and the middle window's one-shot error minus the last epochs'. A minimum chosen
  after the fact would make every run look as if it rose.
- (b) lambda_max grows as the normal cell turns parameter-free (per DARTS run, Spearman over its
  evaluated epochs of lambda_max against the selected normal cell's parameter-free ops), and
  across runs the end-of-search lambda_max goes with the returned architecture's test error.
- (c) DARTS-ES ends with lower regret than DARTS: per seed, DARTS's returned regret minus
  DARTS-ES's.
- (d) stronger L2 lowers lambda_max and the regret: across R-DARTS(L2) runs, Spearman of log10
  weight decay against the end-of-search lambda_max and against the returned regret.
- (e) larger lambda_max goes with a larger discretisation gap: across runs (end-of-search
  means) and within DARTS runs (over epochs).

Per-run differences and within-run correlations are averaged over runs (percentile bootstrap
interval over runs, sign-flip permutation p); across-run correlations use `correlate`. Runs
that replay another run (DARTS-ES from a DARTS trace) are left out of the across-run
correlations, whose points must be independent searches, and so is a run that repeats an
earlier one's search exactly (`independent_runs`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.stats.correlation import Estimate, correlate, statistic
from nasbench_tools.stats.pairs import mean_estimate, strength_frame
from nasbench_tools.stats.runs import TAIL, RunSet

if TYPE_CHECKING:
    import pandas as pd

#: Epochs in the first and last windows of claim (a) (the end-of-search window of the report).
WINDOW = TAIL


@dataclass(frozen=True)
class ClaimTest:
    """One measurement of one claim.

    ``estimate`` is a mean over runs (``kind="mean"``: a difference in points, or a within-run
    Spearman rho) or an across-run Spearman rho (``kind="rho"``); ``expected`` is the sign the
    claim predicts; ``detail`` counts the runs that show it.
    """

    claim: str
    statement: str
    runs: str
    kind: str
    estimate: Estimate
    n: int
    expected: int
    detail: str = ""

    @property
    def verdict(self) -> str:
        """``supported`` (interval on the predicted side of 0 and p <= 0.05), ``direction
        only`` (the interval, but p above 0.05), ``not supported`` (interval spans 0),
        ``opposite direction`` / ``contradicted`` (the same on the other side) or ``not
        computable``."""
        e = self.estimate
        if math.isnan(e.value) or math.isnan(e.ci_low):
            return "not computable"
        if not e.excludes_zero:
            return "not supported"
        significant = e.p_value <= 0.05
        if (e.value > 0) != (self.expected > 0):
            return "contradicted" if significant else "opposite direction"
        return "supported" if significant else "direction only"


def robustdarts_claims(runs: RunSet, *, n_resamples: int = 9999, seed: int = 0,
                       darts: str = "darts", es: str = "darts-es", l2: str = "rdarts-l2"
                       ) -> list[ClaimTest]:
    """Every test of claims (a)-(e) that ``runs`` can support (a claim whose runs are absent
    is left out); ``seed`` makes intervals and p-values reproducible."""
    epochs = runs.epochs_frame()
    epochs = epochs[epochs["final"]]
    frame = strength_frame(runs)
    independent = frame[frame["run"].isin(independent_runs(runs))]
    darts_names = list(frame.loc[frame["method"] == darts, "run"])
    out: list[ClaimTest] = []

    def mean_test(claim: str, statement: str, label: str, values: npt.ArrayLike,
                  expected: int, detail: str = "") -> None:
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        est = mean_estimate("mean", v, n_resamples, 0.95, seed)
        out.append(ClaimTest(claim, statement, label, "mean", est, int(v.size), expected,
                             detail))

    def rho_test(claim: str, statement: str, label: str, part: pd.DataFrame, x: str, y: str,
                 expected: int) -> None:
        ok = np.isfinite(part[x]) & np.isfinite(part[y])
        if ok.sum() < 3:
            return
        r = correlate(part[x], part[y], x_name=x, y_name=y, group=label,
                      n_resamples=n_resamples, n_permutations=n_resamples, seed=seed)
        out.append(ClaimTest(claim, statement, label, "rho", r["spearman"], r.n, expected))

    if darts_names:
        shape = [_shape(epochs[epochs["run"] == n]) for n in darts_names]
        fall, rise, oneshot = (np.array(c) for c in zip(*shape, strict=True))
        label = f"{darts}, {len(darts_names)} runs"
        mean_test("a", "regret falls: first epochs minus middle window (points)", label, fall,
                  +1, _count(fall))
        mean_test("a", "regret rises: last epochs minus middle window (points)", label, rise,
                  +1, _count(rise))
        mean_test("a", "one-shot error keeps falling: middle window minus last epochs "
                  "(points)", label, oneshot, +1, _count(oneshot))
        mean_test("b", "within a run, rho of lambda_max vs parameter-free ops of the normal "
                  "cell", label, [_within(epochs, n, "param_free_normal") for n in darts_names],
                  +1)
        mean_test("e", "within a run, rho of lambda_max vs the discretisation gap (error)",
                  label, [_within(epochs, n, "gap_err") for n in darts_names], +1)
    every = f"all methods, {len(independent)} independent runs"
    rho_test("b", "across runs, lambda_max at the end vs test error of the returned "
             "architecture", every, independent, "lambda_avg", "test_err", +1)
    if darts_names and (frame["method"] == es).any():
        diff, n_seeds = _paired(frame, darts, es)
        mean_test("c", f"{darts} regret minus {es} regret, paired by seed (points)",
                  f"{n_seeds} seeds", diff, +1, _count(diff, "seeds"))
    part = frame[frame["method"] == l2]
    if part["log10_weight_decay"].nunique() >= 2:
        label = f"{l2}, {len(part)} runs"
        rho_test("d", "log10 weight decay vs lambda_max at the end", label, part,
                 "log10_weight_decay", "lambda_avg", -1)
        rho_test("d", "log10 weight decay vs test regret of the returned architecture", label,
                 part, "log10_weight_decay", "test_regret", -1)
    rho_test("e", "across runs, lambda_max at the end vs discretisation gap (error, end)",
             every, independent, "lambda_avg", "gap_err_avg", +1)
    rho_test("e", "across runs, lambda_max at the end vs discretisation gap (loss, end)",
             every, independent, "lambda_avg", "gap_loss_avg", +1)
    return sorted(out, key=lambda t: t.claim)


def independent_runs(runs: RunSet) -> list[str]:
    """Names of the runs that are searches of their own: not replays of another trace
    (``replayed_from`` in the configuration) and not a repeat of an earlier run's search (the
    same seed, table, architectures, eigenvalues and alphas at every epoch, as R-DARTS(L2) at
    DARTS's own weight decay is)."""
    seen: set[tuple[object, ...]] = set()
    out = []
    for run in runs.runs:
        trace = run.trace
        if trace.config.get("replayed_from"):
            continue
        key = (trace.seed, trace.table_sha256, tuple(r.arch for r in trace.records),
               np.array([r.lambda_max for r in trace.records]).tobytes(),
               np.stack([np.asarray(r.alphas, dtype=np.float64) for r in trace.records]
                        ).tobytes())
        if key not in seen:
            seen.add(key)
            out.append(run.name)
    return out


def _shape(part: pd.DataFrame) -> tuple[float, float, float]:
    """(first - middle regret, last - middle regret, middle - last one-shot error) of one run's
    returned trajectory; NaN when the run is too short for three disjoint windows."""
    part = part.sort_values("epoch")
    n = len(part)
    lo, hi = n // 5, 2 * n // 5
    if lo < WINDOW or n - WINDOW < hi:
        return math.nan, math.nan, math.nan
    regret, oneshot = part["test_regret"].to_numpy(), part["oneshot_err"].to_numpy()
    mid_r, mid_o = regret[lo:hi].mean(), np.nanmean(oneshot[lo:hi])
    return (float(regret[:WINDOW].mean() - mid_r), float(regret[-WINDOW:].mean() - mid_r),
            float(mid_o - np.nanmean(oneshot[-WINDOW:])))


def _within(epochs: pd.DataFrame, run: str, y: str) -> float:
    part = epochs[(epochs["run"] == run) & np.isfinite(epochs["lambda_max"])]
    if len(part) < 3 or part[y].nunique() < 2:
        return math.nan  # a run that never changed its normal cell carries no rho
    return statistic("spearman", part["lambda_max"], part[y])


def _paired(frame: pd.DataFrame, a: str, b: str) -> tuple[np.ndarray, int]:
    """Per seed present in both methods: regret of ``a`` minus regret of ``b``."""
    left = frame[frame["method"] == a].set_index("seed")["test_regret"]
    right = frame[frame["method"] == b].set_index("seed")["test_regret"]
    for name, s in ((a, left), (b, right)):
        if not s.index.is_unique:
            raise ConfigError(f"{name} has several runs of one seed ({sorted(s.index)}); "
                              "pass one run per seed to pair them")
    seeds = sorted(set(left.index) & set(right.index))
    return np.array([left[s] - right[s] for s in seeds], dtype=np.float64), len(seeds)


def _count(values: np.ndarray, unit: str = "runs") -> str:
    v = values[np.isfinite(values)]
    up, down = int((v > 0).sum()), int((v < 0).sum())
    return f"{up} of {v.size} {unit} above 0, {down} below, {v.size - up - down} at 0"


def regret_paths(runs: RunSet, method: str = "darts") -> pd.DataFrame:
    """Descriptive, per run of ``method``: test regret at epoch 0, its lowest value and the
    first epoch it was reached, the regret at the end, and the one-shot error at those epochs.
    A minimum picked after the fact flatters the fall-then-rise shape; claim (a)'s tests use
    fixed windows instead, and this table shows what they average over."""
    import pandas as pd

    epochs = runs.epochs_frame()
    epochs = epochs[epochs["final"] & (epochs["method"] == method)]
    rows = []
    for run, part in epochs.groupby("run", sort=False):
        part = part.sort_values("epoch")
        best = part.iloc[int(np.argmin(part["test_regret"].to_numpy()))]
        first, last = part.iloc[0], part.iloc[-1]
        rows.append({"run": run, "regret_start": first.test_regret,
                     "regret_min": best.test_regret, "min_epoch": int(best.epoch),
                     "regret_end": last.test_regret, "end_epoch": int(last.epoch),
                     "oneshot_at_min": best.oneshot_err, "oneshot_end": last.oneshot_err})
    return pd.DataFrame(rows)


def endings(runs: RunSet) -> pd.DataFrame:
    """Per method: runs, and how many returned a normal cell with every op parameter-free
    (``all_free``: the collapse RobustDARTS describes) or at least one (``any_free``); of the
    ``all_free`` runs, the median epoch from which the selected normal cell stayed all
    parameter-free to the end (``median_settled``; NaN when no run ended so). The evidence for
    whether a search budget is long enough to degenerate."""
    import pandas as pd

    frame, epochs = runs.runs_frame(), runs.epochs_frame()
    edges = {r.trace.method: sum(e.cell == "normal" for e in r.trace.space.edges)
             for r in runs.runs}
    rows = []
    for method, part in frame.groupby("method", sort=False):
        k = edges[str(method)]
        mine = epochs[(epochs["method"] == method) & epochs["final"]]
        settled = [_settled(g.sort_values("epoch"), k) for _, g in mine.groupby("run")]
        done = [e for e in settled if e is not None]
        rows.append({"method": method, "runs": len(part),
                     "all_free": int((part["param_free_normal"] == k).sum()),
                     "any_free": int((part["param_free_normal"] > 0).sum()),
                     "median_settled": float(np.median(done)) if done else math.nan})
    return pd.DataFrame(rows)


def _settled(part: pd.DataFrame, k: int) -> int | None:
    """The epoch from which every selected normal cell of one run has ``k`` parameter-free
    ops, or None when the last one has fewer."""
    free = part["param_free_normal"].to_numpy() == k
    if not free[-1]:
        return None
    breaks = np.flatnonzero(~free)
    return int(part["epoch"].iloc[breaks[-1] + 1 if breaks.size else 0])


def claims_frame(tests: Sequence[ClaimTest]) -> pd.DataFrame:
    """One row per test: claim, statement, runs, n, value, ci_low, ci_high, p_value, verdict."""
    import pandas as pd

    return pd.DataFrame([{"claim": t.claim, "statement": t.statement, "runs": t.runs,
                          "kind": t.kind, "n": t.n, "expected": t.expected,
                          "value": t.estimate.value, "ci_low": t.estimate.ci_low,
                          "ci_high": t.estimate.ci_high, "p_value": t.estimate.p_value,
                          "verdict": t.verdict, "detail": t.detail} for t in tests])
