"""``write_report``: a folder with figures (PNG and PDF), ``runs.csv``, ``epochs.csv``,
``correlations.csv`` and a ``REPORT.md`` that embeds the figures and states every finding.

    summary = write_report(["traces/"], "reports/darts")
    print(summary.path / "REPORT.md")

The folder is built beside its destination and moved into place at the end, so an interrupted
report leaves nothing half-written, and an existing report is replaced only with
``overwrite=True`` (it is refused otherwise, before any work).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.report.figures import FigureEntry, draw_figures
from nasbench_tools.report.markdown import report_markdown
from nasbench_tools.stats.correlation import CorrelationFamily
from nasbench_tools.stats.pairs import default_correlations
from nasbench_tools.stats.runs import RunSet, load_runs
from nasbench_tools.table.benchmark import Benchmark


@dataclass(frozen=True)
class ReportSummary:
    path: Path
    figures: tuple[FigureEntry, ...]
    family: CorrelationFamily
    runs: RunSet

    @property
    def n_runs(self) -> int:
        return len(self.runs)

    def line(self) -> str:
        return (f"{self.path}: report on {self.n_runs} run(s), {len(self.figures)} figure(s), "
                f"{len(self.family.to_frame())} correlation rows; read "
                f"{self.path / 'REPORT.md'}")


def write_report(sources: str | Path | Sequence[str | Path], out: str | Path, *,
                 table: str | Path | Benchmark | None = None, group: bool = False,
                 overwrite: bool = False, n_resamples: int = 1999, n_permutations: int = 9999,
                 seed: int = 0,
                 progress: Callable[[str], None] | None = None) -> ReportSummary:
    """Analyse the traces named by ``sources`` (files or folders) and write the report to
    ``out``. ``table``: the table they were searched on, when it cannot be found from them."""
    target = Path(out)
    if target.exists() and not overwrite:
        raise ConfigError(f"report folder {str(target)!r} already exists; choose another --out "
                          "or pass --overwrite")
    if target.exists() and not target.is_dir():
        raise ConfigError(f"--out {str(target)!r} is a file, not a report folder")
    say = progress or (lambda _: None)
    runs = load_runs(sources, table=table, group=group)
    say(f"loaded {len(runs)} trace(s)" + ("" if runs.has_table else
                                          "; no table found for some: gen_gap left empty"))
    family = default_correlations(runs, n_resamples=n_resamples, n_permutations=n_permutations,
                                  within_resamples=min(n_resamples, 999), seed=seed)
    say(f"computed {len(family)} correlations")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        figures = draw_figures(runs, family, staging, progress=say)
        _write_tables(runs, family, staging)
        (staging / "REPORT.md").write_text(report_markdown(runs, family, figures))
        _move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ReportSummary(path=target, figures=tuple(figures), family=family, runs=runs)


def _write_tables(runs: RunSet, family: CorrelationFamily, folder: Path) -> None:
    runs.runs_frame().to_csv(folder / "runs.csv", index=False)
    runs.epochs_frame().to_csv(folder / "epochs.csv", index=False)
    family.to_frame().to_csv(folder / "correlations.csv", index=False)


def _move_into_place(staging: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)
