"""Does a table's ranking survive a longer budget? Retrain a few of its architectures under
the table's own protocol with more epochs (the cosine schedule stretched to the new length)
and compare their final test errors with the table's.

    python analysis/budget_probe.py data/t81-cifar10-cpu-l8.h5 \
        --archs 56,69,24,72,8,4,80,0,13,27,40 --epochs 30 --seed 0 --jobs 2 \
        --data-root PATH/cifar10-jpeg.h5 \
        --out data/probes/t81-cifar10-cpu-l8-s0-30ep.journal

``--out`` is a build journal (`nasbench_tools.build.journal`) whose header names the space,
the longer protocol, the seed and the table; each finished run is appended as it arrives and
runs already there are not trained again, so a stopped probe goes on where it stopped, and
with every run in the journal the report and the figure need no dataset. A journal of another
probe is refused. The report (`nasbench_tools.stats.probe_report`) ranks the probed archs by
the table's error of the same seed and by the probe's, with Kendall's tau between the two (a
handful of archs: read it with its bootstrap interval), and whether the gain from the longer
budget depends on the number of parameter-free ops.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nasbench_tools.build.journal import Journal
from nasbench_tools.build.probe import longer_protocol, probe_header, retrain
from nasbench_tools.exceptions import ConfigError
from nasbench_tools.stats import ProbeResult, probe_report
from nasbench_tools.table import Benchmark
from nasbench_tools.train.task import Task

from _script import run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table")
    ap.add_argument("--archs", required=True, help="comma-separated arch ids of the table")
    ap.add_argument("--epochs", type=int, required=True, help="the longer budget")
    ap.add_argument("--seed", type=int, default=0, help="table seed to retrain (0)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (1)")
    ap.add_argument("--data-root", help="the dataset's files, as for build-table")
    ap.add_argument("--out", required=True, help="the probe's journal (resumed if it exists)")
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


def probe(args: argparse.Namespace) -> None:
    bench = Benchmark.open(args.table)
    if args.seed not in bench.seeds:
        raise ConfigError(f"--seed {args.seed} is not in the table (seeds {bench.seeds})")
    protocol = longer_protocol(bench, args.epochs)
    ids = _arch_ids(args.archs, bench.n_archs)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with Journal.open(out, probe_header(bench, protocol, args.seed)) as journal:
        todo = [Task(a, args.seed) for a in ids if (a, args.seed) not in journal.results]
        print(f"{len(ids) - len(todo)} of {len(ids)} runs already in {out}; training "
              f"{len(todo)} ({args.epochs} epochs, seed {args.seed})", flush=True)
        for r in retrain(journal, bench.space, protocol, todo, jobs=args.jobs,
                         data_root=args.data_root):
            print(f"arch {r.arch}: {r.status.name}", flush=True)
        runs = [journal.results[(a, args.seed)] for a in ids]
    report = probe_report(ProbeResult.from_runs(bench, runs), rng=np.random.default_rng(0))
    print("\n" + report.format())
    if args.plot:
        from nasbench_tools.plots import plot_budget_probe, save_figure

        png = Path(args.plot)
        left, _ = plot_budget_probe(report.probe)
        (written,) = save_figure(left.figure, png.with_suffix(""),
                                 formats=(png.suffix.lstrip(".") or "png",), dpi=120)
        print(f"wrote {written}")


if __name__ == "__main__":
    raise SystemExit(main())
