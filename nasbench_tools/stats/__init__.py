"""Statistics on tables and searches (data in, values out; no torch, no plotting).

    from nasbench_tools.stats import default_correlations, load_runs, mean_curves
    runs = load_runs("traces/")                         # one row per run / per epoch
    default_correlations(runs).to_frame()               # eigenvalue vs gap, error, regret
    mean_curves(runs, "test_regret").frame              # mean and 95 % interval over seeds
    seed_agreement(Benchmark.open("data/t81-digits.h5")).mean_tau
    probe_report(ProbeResult.from_runs(bench, retrained), rng=rng).format()  # longer budget
    robustdarts_claims(runs)                            # RobustDARTS's claims (a)-(e), tested
"""

from nasbench_tools.stats.agreement import (
    SeedAgreement,
    TableFacts,
    dead_archs,
    param_free_counts,
    seed_agreement,
    table_facts,
)
from nasbench_tools.stats.budget import ProbeReport, ProbeResult, probe_report
from nasbench_tools.stats.claims import ClaimTest, claims_frame, endings, robustdarts_claims
from nasbench_tools.stats.compare import RankAgreement, rank_agreement, table_agreement
from nasbench_tools.stats.correlation import (
    STATISTICS,
    CorrelationFamily,
    CorrelationResult,
    Estimate,
    adjust,
    correlate,
    holm,
)
from nasbench_tools.stats.curves import (
    AlphaWeights,
    Curves,
    EigenTrajectories,
    alpha_weights,
    eigen_trajectories,
    mean_curves,
    param_free_share,
)
from nasbench_tools.stats.pairs import default_correlations
from nasbench_tools.stats.runs import MixedRunsError, Run, RunSet, load_runs

__all__ = ["STATISTICS", "AlphaWeights", "ClaimTest", "CorrelationFamily", "CorrelationResult",
           "Curves", "EigenTrajectories", "Estimate", "MixedRunsError", "ProbeReport",
           "ProbeResult", "RankAgreement", "Run", "RunSet", "SeedAgreement", "TableFacts",
           "adjust", "alpha_weights", "claims_frame", "correlate", "dead_archs",
           "default_correlations", "eigen_trajectories", "endings", "holm", "load_runs",
           "mean_curves", "param_free_counts", "param_free_share", "probe_report",
           "rank_agreement", "robustdarts_claims", "seed_agreement", "table_agreement",
           "table_facts"]
