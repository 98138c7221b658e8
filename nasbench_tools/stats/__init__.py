"""Statistics on tables and runs (data in, values out; no plotting).

    from nasbench_tools.stats import seed_agreement
    seed_agreement(Benchmark.open("data/t81-digits.h5")).mean_tau
"""

from nasbench_tools.stats.agreement import (
    SeedAgreement,
    TableFacts,
    dead_archs,
    seed_agreement,
    table_facts,
)

__all__ = ["SeedAgreement", "TableFacts", "dead_archs", "seed_agreement", "table_facts"]
