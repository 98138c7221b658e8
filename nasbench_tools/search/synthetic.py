"""Search traces made by formula on a table, for tests, examples and benchmarks (no torch).

    bench = Benchmark.open("data/t81-digits.h5")
    trace = synthetic_trace(bench, method="darts", seed=0, epochs=50, every=2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nasbench_tools.search.trace import EpochRecord, SearchTrace
from nasbench_tools.table.benchmark import Benchmark
from nasbench_tools.table.schema import Metric


def synthetic_trace(bench: Benchmark, *, method: str = "darts", seed: int = 0,
                    epochs: int = 12, table: str = "", archs: Sequence[int] | None = None,
                    lambdas: Sequence[float] | None = None,
                    params: Mapping[str, Any] | None = None,
                    search: Mapping[str, Any] | None = None, every: int = 1) -> SearchTrace:
    """A search trace made by formula on ``bench`` (a `Benchmark`): arch ``archs[e]`` at epoch
    e (default: walks away from the best arch), its table errors and regret, a dominant
    eigenvalue ``lambdas[e]`` every ``every`` epochs (and at the last), gaps that grow with
    lambda, and alphas that spread linearly with the epoch."""
    space = bench.space
    rng = np.random.default_rng(seed)
    chosen = list(archs) if archs is not None else [
        (bench.best() + e) % space.size for e in range(epochs)]
    lams = list(lambdas) if lambdas is not None else [
        0.2 + 0.05 * e + 0.01 * rng.standard_normal() for e in range(epochs)]
    n_alpha = sum(len(e.ops) for e in space.edges)
    records = []
    for e in range(epochs):
        a = int(chosen[e])
        lam = lams[e] if (e % every == 0 or e == epochs - 1) else float("nan")
        records.append(EpochRecord(
            epoch=e, alphas=np.linspace(-1, 1, n_alpha) * e / epochs, arch=a,
            genotype=space.genotype(space.arch(a)),
            test_err=float(bench.query(a, Metric.TEST_ERR)),
            valid_err=float(bench.query(a, Metric.VALID_ERR)),
            test_regret=float(bench.regret(a, Metric.TEST_ERR)),
            valid_regret=float(bench.regret(a, Metric.VALID_ERR)),
            oneshot_loss=1.0 - 0.05 * e, oneshot_err=40.0 - 2.0 * e,
            discrete_loss=1.5 + lams[e], discrete_err=60.0 + 10.0 * lams[e],
            lambda_max=lam, weight_decay=float((params or {}).get("weight_decay", 3e-4)),
            lr=0.025, alpha_updates=10,
            wall_time=2.0 + 0.1 * e, analysis_time=0.5))
    config = {"search": {"epochs": epochs, "batch_size": 64, "threads": 1, **(search or {})},
              "params": dict(params or {}), "protocol": dict(bench.protocol_record)}
    return SearchTrace(method=method, seed=seed, space=space, records=tuple(records),
                       table=table, table_sha256=bench.content_sha256,
                       config=config)
