"""Findings in plain words: one sentence per correlation, with its number, interval, p and n.

A finding says "no evidence" whenever the interval spans 0, and says so too when an interval
excludes 0 but the Holm-adjusted p-value of its family does not clear the level.
"""

from __future__ import annotations

import math

from nasbench_tools.stats.claims import ClaimTest
from nasbench_tools.stats.correlation import CorrelationResult, Estimate

#: Readable names of the quantities the report correlates.
NAMES = {
    "lambda_avg": "lambda_max at the end (mean of the last 5 evaluations)",
    "lambda_max": "lambda_max",
    "gap_loss_avg": "discretisation gap of the loss (mean of the last 5 epochs)",
    "gap_err_avg": "discretisation gap of the error (points, mean of the last 5 epochs)",
    "gap_loss": "discretisation gap of the loss",
    "gap_err": "discretisation gap of the error (points)",
    "test_err": "table test error of the selected architecture (%)",
    "test_regret": "test regret of the selected architecture (points)",
    "gen_gap": "generalisation gap of the selected architecture (table train - test accuracy, "
               "points)",
    "oneshot_err": "one-shot validation error of the supernet (%)",
    "log10_weight_decay": "log10 of the weight decay",
    "drop_path": "maximum drop-path probability",
}
_SYMBOL = {"pearson": "Pearson r", "spearman": "Spearman rho", "kendall": "Kendall tau"}
_UNIT = {"across": "runs", "within": "epochs", "within-mean": "runs"}


def name(column: str) -> str:
    return NAMES.get(column, column)


def _number(v: float) -> str:
    return "NaN" if math.isnan(v) else f"{v:.2f}"


def _p(v: float) -> str:
    return "-" if math.isnan(v) else (f"{v:.3f}" if v >= 0.001 else f"{v:.1e}")


def estimate_text(e: Estimate, confidence: float) -> str:
    ci = f"{round(100 * confidence)} % CI [{_number(e.ci_low)}, {_number(e.ci_high)}]"
    return (f"{_SYMBOL.get(e.statistic, e.statistic)} = {_number(e.value)}, {ci}, "
            f"permutation p = {_p(e.p_value)} (Holm {_p(e.p_holm)})")


def verdict(result: CorrelationResult, statistic: str = "spearman", alpha: float = 0.05) -> str:
    """``positive``, ``negative``, ``no evidence`` or ``not computable``, with the reason."""
    e = result[statistic]
    if math.isnan(e.value):
        return ("not computable: one of the two quantities is constant over these points "
                "(or fewer than 3 points)")
    if math.isnan(e.ci_low):
        return f"no interval: too few points (n = {result.n}; at least 4 are needed)"
    if not e.excludes_zero:
        return "no evidence of an association: the interval spans 0"
    sign = "positive" if e.value > 0 else "negative"
    if not e.p_holm <= alpha:
        return (f"{sign} association in this sample (the interval excludes 0), but not "
                f"significant after Holm's adjustment (p_holm {_p(e.p_holm)} > {alpha})")
    return f"{sign} association: the interval excludes 0 and p_holm <= {alpha}"


def finding(result: CorrelationResult, statistic: str = "spearman") -> str:
    """One Markdown bullet: what was correlated over what, the number, and the verdict."""
    where = {"across": f"across {result.n} runs", "within-mean":
             f"within runs, averaged over {result.n} runs",
             "within": f"over {result.n} epochs of run {result.run}"}[result.level]
    return (f"- **{name(result.x)}** vs **{name(result.y)}** ({result.group}, {where}): "
            f"{estimate_text(result[statistic], result.confidence)}. "
            f"{_upper_first(verdict(result, statistic))}.")


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def claim_line(test: ClaimTest) -> str:
    """One Markdown bullet for a tested RobustDARTS claim: the number, interval, p, n and
    verdict."""
    e = test.estimate
    what = "mean" if test.kind == "mean" else "Spearman rho"
    detail = f"; {test.detail}" if test.detail else ""
    return (f"- ({test.claim}) {test.statement} [{test.runs}]: {what} {e.value:.2f}, "
            f"95 % CI [{e.ci_low:.2f}, {e.ci_high:.2f}], p = {_p(e.p_value)}, "
            f"n = {test.n}{detail}. **{test.verdict}**.")
