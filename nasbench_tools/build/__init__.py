"""Building tables: plan, journal, executors, compile, merge (workers compute, parent writes);
probe: retraining some archs of a table under a longer budget into a journal."""

from nasbench_tools.build.builder import BuildSummary, build_table
from nasbench_tools.build.merge import merge_tables
from nasbench_tools.build.plan import Shard, make_plan, parse_duration, parse_seeds, parse_shard

__all__ = ["BuildSummary", "Shard", "build_table", "make_plan", "merge_tables", "parse_duration",
           "parse_seeds", "parse_shard"]
