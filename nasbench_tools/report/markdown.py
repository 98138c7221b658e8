"""The text of ``REPORT.md``: what was analysed, the findings in words, the figures, the
correlation tables and how every number was computed."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np

from nasbench_tools.report.figures import FigureEntry
from nasbench_tools.report.words import estimate_text, finding, name, verdict
from nasbench_tools.stats.correlation import STATISTICS, CorrelationFamily, CorrelationResult
from nasbench_tools.stats.pairs import select
from nasbench_tools.stats.runs import TAIL, RunSet


def report_markdown(runs: RunSet, family: CorrelationFamily,
                    figures: Sequence[FigureEntry]) -> str:
    parts = [_header(runs), _findings(runs, family), _figures(figures), _runs_table(runs),
             _tables(family), _methods(family)]
    return "\n\n".join(p for p in parts if p) + "\n"


def _header(runs: RunSet) -> str:
    frame = runs.runs_frame()
    methods = ", ".join(f"{m} ({(frame['method'] == m).sum()} runs)" for m in runs.methods)
    first = runs.runs[0].trace
    search = dict(first.config.get("search", {}))
    keys = ("epochs", "steps_per_epoch", "batch_size", "order", "hessian_every")
    setting = ", ".join(f"{k}={search[k]}" for k in keys if k in search)
    tables = sorted({r.trace.table or "(not recorded)" for r in runs.runs})
    lines = [
        "# Search report", "",
        f"{len(runs)} search trace(s): {methods}; seeds "
        f"{', '.join(str(s) for s in sorted(frame['seed'].unique()))}.",
        f"Table: {', '.join(tables)}"
        + ("" if runs.has_table else " (not found for every trace: generalisation gaps are "
           "empty; pass --table)") + ".",
        f"Search settings: {setting or 'not recorded'}.",
    ]
    if len(runs.groups) > 1:
        lines.append("Groups (settings that differ from the first trace): "
                     + "; ".join(f"`{g}`" for g in runs.groups) + ".")
    return "\n".join(lines)


def _findings(runs: RunSet, family: CorrelationFamily) -> str:
    across = select(family, level="across")
    means = select(family, level="within-mean")
    lines = ["## Findings", "",
             "Each line gives Spearman's rho with its 95 % interval and permutation p-value "
             "(Holm-adjusted within its level); Pearson and Kendall are in the tables below "
             "and in `correlations.csv`.", "", "### Across runs (one point per run)", ""]
    if not np.isfinite(runs.runs_frame()["lambda_end"]).any():
        lines += ["No run computed lambda_max (searched with `hessian_every=0`?), so there is "
                  "no eigenvalue to correlate; the figures and `runs.csv` still describe the "
                  "searches.", ""]
    lines += [finding(r) for r in across] or ["- No pair could be computed."]
    if len(runs) < 4:
        lines.append(f"\nWith {len(runs)} run(s) no across-run interval can be computed: run "
                     "at least 4 searches (seeds or methods) and report them together.")
    lines += ["", "### Within runs (one point per evaluated epoch, averaged over runs)", ""]
    lines += [finding(r) for r in means] or ["- No pair could be computed."]
    lines += ["", _within_counts(select(family, level="within"))]
    return "\n".join(lines)


def _within_counts(results: list[CorrelationResult]) -> str:
    """How many single runs show each pair with an interval on one side of 0."""
    if not results:
        return ""
    out = ["Single runs (block-bootstrap interval, circular-shift p; `correlations.csv`, "
           "level `within`): Spearman rho over epochs, runs whose interval lies above 0 / "
           "below 0 / spans 0:", ""]
    for x, y in dict.fromkeys((r.x, r.y) for r in results):
        mine = [r["spearman"] for r in results if (r.x, r.y) == (x, y)]
        values = np.array([e.value for e in mine])
        up = sum(e.ci_low > 0 for e in mine)
        down = sum(e.ci_high < 0 for e in mine)
        median = f"{np.nanmedian(values):.2f}" if np.isfinite(values).any() else "NaN"
        out.append(f"- {name(x)} vs {name(y)}: median rho {median}; {up} / {down} / "
                   f"{len(mine) - up - down} of {len(mine)} runs")
    return "\n".join(out)


def _figures(figures: Sequence[FigureEntry]) -> str:
    lines = ["## Figures", ""]
    for f in figures:
        lines += [f"### {f.title}", "", f"![{f.title}]({f.stem}.png)", "",
                  f"{f.caption} ([PDF]({f.stem}.pdf))", ""]
    return "\n".join(lines).rstrip()


def _fmt(value: object, digits: int = 2) -> str:
    v = float(value)  # type: ignore[arg-type]
    return "-" if math.isnan(v) else f"{v:.{digits}f}"


def _runs_table(runs: RunSet) -> str:
    frame = runs.runs_frame()
    lines = ["## Runs", "", "| run | method | seed | params | returned epoch -> arch | test "
             "regret | lambda_max end (avg) | gap err (avg) | gen gap | param-free "
             "normal/reduce |", "|" + " --- |" * 10]
    for r in frame.itertuples():
        params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in json.loads(str(r.params)).items()) or "-"
        lines.append(f"| {r.run} | {r.method} | {r.seed} | {params} | {r.result_epoch} -> "
                     f"{r.arch} | {_fmt(r.test_regret)} | {_fmt(r.lambda_avg, 3)} | "
                     f"{_fmt(r.gap_err_avg)} | {_fmt(r.gen_gap)} | {r.param_free_normal}/"
                     f"{r.param_free_reduce} |")
    return "\n".join(lines)


def _tables(family: CorrelationFamily) -> str:
    lines = ["## Correlations", "", "| level | method | x | y | n | " +
             " | ".join(STATISTICS) + " | verdict (Spearman) |", "|" + " --- |" * 8]
    for r in select(family, level="across") + select(family, level="within-mean"):
        cells = [estimate_text(r[s], r.confidence).split(", permutation")[0] for s in STATISTICS]
        lines.append(f"| {r.level} | {r.group} | {r.x} | {r.y} | {r.n} | " + " | ".join(cells)
                     + f" | {verdict(r).split(':')[0]} |")
    return "\n".join(lines)


def _methods(family: CorrelationFamily) -> str:
    across = select(family, level="across")
    within = select(family, level="within")
    lines = [
        "## How these numbers were computed", "",
        f"- End-of-search quantities are means over the last {TAIL} evaluations (eigenvalue) "
        f"or the last {TAIL} epochs (gaps) of the returned trajectory: single-batch eigenvalues "
        "are noisy, and DARTS-ES smooths over the same window.",
        "- The discretisation gap is the discretised supernet's loss or error minus the one-shot "
        "supernet's, on the same split-B images; regret and errors are the table's means over "
        "its seeds; the generalisation gap is the table's train minus test accuracy of the "
        "selected architecture at the table's last epoch.",
    ]
    if across:
        lines.append(f"- Across runs: {across[0].ci_method}; p-values by {across[0].p_method}.")
    if within:
        lines.append(f"- Within a run: {within[0].ci_method} (block length about n^(1/3)); "
                     f"p-values by {within[0].p_method}, which keep each series' "
                     "autocorrelation. Within-run means: bootstrap over runs and sign-flip "
                     "permutation (runs are independent).")
    lines.append("- Holm's step-down adjustment is applied within each family: every pair and "
                 "group of one level, for one statistic at a time.")
    lines.append("- Regret against a table is only as meaningful as the table's own ranking: "
                 "check its seed agreement and training budget before reading a regret as "
                 "generalisation.")
    return "\n".join(lines)
