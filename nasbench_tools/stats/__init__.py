"""Statistics on tables and runs (data in, values out; no plotting).

    from nasbench_tools.stats import seed_agreement
    seed_agreement(Benchmark.open("data/t81-digits.h5")).mean_tau
"""

from nasbench_tools.stats.agreement import (
    SeedAgreement,
    TableFacts,
    dead_archs,
    param_free_counts,
    seed_agreement,
    table_facts,
)
from nasbench_tools.stats.compare import RankAgreement, rank_agreement, table_agreement

__all__ = ["RankAgreement", "SeedAgreement", "TableFacts", "dead_archs", "param_free_counts",
           "rank_agreement", "seed_agreement", "table_agreement", "table_facts"]
