"""Does a table's ranking survive a longer budget? Retrain a few of its architectures under
the table's own protocol with more epochs (the cosine schedule stretched to the new length)
and compare their final test errors with the table's.

    python analysis/budget_probe.py data/t81-cifar10-cpu-l8.h5 \
        --archs 56,69,24,72,8,4,80,0,13,27,40 --epochs 30 --seed 0 --jobs 2 \
        --data-root PATH/cifar10-jpeg.h5 \
        --out data/probes/t81-cifar10-cpu-l8-s0-30ep.jsonl

Each finished run is appended to ``--out`` (one JSON object per line) as it arrives, and runs
already there are not trained again, so a stopped probe goes on where it stopped. The report
ranks the probed archs by the table's error of the same seed and by the probe's, with
Kendall's tau between the two (a handful of archs: read it with its bootstrap interval), and
whether the gain from the longer budget depends on the number of parameter-free ops.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.parallel import map_unordered
from nasbench_tools.spaces import CellSpace
from nasbench_tools.stats import param_free_counts, rank_agreement
from nasbench_tools.table import Benchmark, Metric
from nasbench_tools.train import Protocol
from nasbench_tools.train.task import Task
from nasbench_tools.train.trainer import train_group

from _script import run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table")
    ap.add_argument("--archs", required=True, help="comma-separated arch ids of the table")
    ap.add_argument("--epochs", type=int, required=True, help="the longer budget")
    ap.add_argument("--seed", type=int, default=0, help="table seed to retrain (0)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (1)")
    ap.add_argument("--data-root", help="the dataset's files, as for build-table")
    ap.add_argument("--out", required=True, help="JSON-lines file of the probe's runs")
    ap.add_argument("--plot", metavar="PNG", help="also draw the probe's curves and ranks here")
    args = ap.parse_args(argv)
    return run("budget_probe", lambda: probe(args))


def _arch_ids(text: str, n_archs: int) -> list[int]:
    try:
        ids = [int(a) for a in text.split(",")]
    except ValueError:
        raise ConfigError(f"--archs {text!r} must be comma-separated integers") from None
    bad = [a for a in ids if not 0 <= a < n_archs]
    if bad or len(set(ids)) != len(ids) or len(ids) < 3:
        raise ConfigError(f"--archs {text!r}: need three or more distinct ids in "
                          f"0..{n_archs - 1}")
    return ids


def _train(space: CellSpace, protocol: Protocol, arch: int, seed: int,
           data_root: str | None) -> dict[str, object]:
    (result,) = train_group([Task(arch, seed)], space, protocol, data_root=data_root)
    return {"arch": arch, "seed": seed, "epochs": protocol.epochs,
            "status": result.status.name,
            "metrics": {m.value: v.tolist() for m, v in result.metrics.items()}}


def probe(args: argparse.Namespace) -> None:
    bench = Benchmark.open(args.table)
    if args.seed not in bench.seeds:
        raise ConfigError(f"--seed {args.seed} is not in the table (seeds {bench.seeds})")
    if args.epochs <= bench.epochs:
        raise ConfigError(f"--epochs {args.epochs} must exceed the table's {bench.epochs}")
    ids = _arch_ids(args.archs, bench.n_archs)
    protocol = Protocol.from_dict({**bench.protocol, "epochs": args.epochs})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            if r["epochs"] == args.epochs and r["seed"] == args.seed:
                done[r["arch"]] = r
    todo = [a for a in ids if a not in done]
    print(f"{len(done)} of {len(ids)} runs already in {out}; training {len(todo)} "
          f"({args.epochs} epochs, seed {args.seed})", flush=True)
    calls = [(bench.space, protocol, a, args.seed, args.data_root) for a in todo]
    for r in map_unordered(_train, calls, jobs=args.jobs):  # the project's executor
        with out.open("a") as f:
            f.write(json.dumps(r) + "\n")
        done[int(r["arch"])] = r  # type: ignore[call-overload]
        print(f"arch {r['arch']}: {r['status']}", flush=True)
    result = ProbeResult.collect(bench, ids, args.seed, [done[a] for a in ids])
    report(bench, result)
    if args.plot:
        plot(bench, result, args.plot)


@dataclass(frozen=True)
class ProbeResult:
    """The probed archs' numbers, in the order of ``ids``; errors in percent."""

    ids: list[int]
    seed: int
    table_err: np.ndarray  # [n] the table's final test error of that seed
    curves: np.ndarray  # [n, epochs] the longer runs' test error per epoch
    seconds: np.ndarray  # [n] wall time per longer run (train + eval)
    k_free: np.ndarray  # [n] parameter-free ops per arch

    @classmethod
    def collect(cls, bench: Benchmark, ids: list[int], seed: int,
                runs: list[dict]) -> ProbeResult:
        return cls(ids=ids, seed=seed,
                   table_err=np.asarray(bench.query(ids, Metric.TEST_ERR, seed=seed), dtype=float),
                   curves=np.array([100.0 * (1.0 - np.asarray(r["metrics"]["test_acc"]))
                                    for r in runs]),
                   seconds=np.array([sum(r["metrics"]["epoch_time"]) for r in runs]),
                   k_free=param_free_counts(bench)[ids])

    @property
    def epochs(self) -> int:
        return int(self.curves.shape[1])


def report(bench: Benchmark, res: ProbeResult) -> None:
    short, long_ = res.table_err, res.curves[:, -1]
    at_short = res.curves[:, bench.epochs - 1]
    gain = short - long_
    rank_s = np.argsort(np.argsort(short)) + 1
    rank_l = np.argsort(np.argsort(long_)) + 1
    print(f"\nseed {res.seed}: test error (%) after the table's {bench.epochs} epochs and after "
          f"{res.epochs} (rank among the {len(res.ids)} probed archs)")
    print(f"{'arch':>5} {'table':>8} {'rank':>5} {'long':>8} {'rank':>5}  {'gain':>6}  "
          f"{'long run at epoch ' + str(bench.epochs):>22} {'time s':>7}  name")
    for i, a in enumerate(res.ids):
        name = bench.space.genotype(bench.space.arch(a))
        print(f"{a:>5} {short[i]:8.2f} {rank_s[i]:5d} {long_[i]:8.2f} {rank_l[i]:5d}  "
              f"{gain[i]:6.2f}  {at_short[i]:22.2f} {res.seconds[i]:7.0f}  {name}")
    r = rank_agreement(short, long_, rng=np.random.default_rng(0), k=min(3, len(res.ids)))
    print(f"\ntable ranking against the {res.epochs}-epoch ranking: {r.line()}")
    tau = kendalltau(res.k_free, gain)
    print(f"gain against the number of parameter-free ops: Kendall tau {tau.statistic:.3f} "
          f"(p = {tau.pvalue:.3f}); mean gain by ops: "
          + ", ".join(f"{k}: {np.mean(gain[res.k_free == k]):.2f} (n={np.sum(res.k_free == k)})"
                      for k in np.unique(res.k_free)))


def plot(bench: Benchmark, res: ProbeResult, out: str) -> None:
    """Left: every probed arch's test-error curve over the longer budget, with the table's
    final error at its last epoch; right: the table's error against the longer run's, one dot
    per arch. Coloured by the number of parameter-free ops."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def colour(k: int) -> tuple[float, ...]:
        return plt.cm.viridis(k / max(1, int(res.k_free.max())))

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
    for a, k, curve, err in zip(res.ids, res.k_free, res.curves, res.table_err, strict=True):
        left.plot(np.arange(1, curve.size + 1), curve, color=colour(k), lw=1)
        left.plot(bench.epochs, err, "o", color=colour(k), ms=4)
        right.plot(curve[-1], err, "o", color=colour(k), ms=6)
        right.annotate(str(a), (curve[-1], err), textcoords="offset points", xytext=(4, 2),
                       fontsize=7)
    for k in np.unique(res.k_free):
        right.plot([], [], "o", color=colour(k), label=f"{k} parameter-free ops")
    left.set(xlabel="epoch", ylabel="test error (%)", ylim=(None, min(90.0, left.get_ylim()[1])),
             title=f"{res.epochs}-epoch runs (dots: the table after {bench.epochs})")
    right.set(xlabel=f"test error after {res.epochs} epochs (%)",
              ylabel=f"table's test error after {bench.epochs} epochs (%)",
              title=f"seed {res.seed}, {len(res.ids)} archs")
    right.legend(fontsize=7, loc="lower right")
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")

if __name__ == "__main__":
    raise SystemExit(main())
