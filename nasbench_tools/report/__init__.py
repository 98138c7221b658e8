"""Reports on sets of searches: figures (PNG, PDF), ``runs.csv``, ``epochs.csv``,
``correlations.csv`` and ``REPORT.md``, which states every finding in words with its number,
interval, p-value and n.

    from nasbench_tools.report import write_report
    write_report(["traces/"], "reports/darts").line()

or ``nasbench-tools report traces/ --out reports/darts``.
"""

from nasbench_tools.report.write import ReportSummary, write_report

__all__ = ["ReportSummary", "write_report"]
