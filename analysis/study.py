"""The RobustDARTS study on the L=8 CIFAR-10 CPU table: run what is missing, then the report.

    python analysis/study.py --data-root PATH/cifar10-jpeg.h5 --jobs 2 --time-limit 2h
    python analysis/study.py --report-only
    python analysis/study.py --status        # where the study stands; runs nothing

One search setting for every method (`OVERRIDES` over the cifar10-jpeg preset; every trace
records it): DARTS x 5 seeds, DARTS-ES seed 0 online (the check of the offline replay),
R-DARTS(L2) at 4 weight decays x 3 seeds, DARTS-ADA x 3 seeds. Each search resumes from its own
checkpoint; traces go to ``data/traces/study-cifar10-cpu-l8/`` (``NAME.partial.h5`` while one is
under way), so the study spans as many sittings as it needs. Two one-thread searches side by
side use a 2-core machine best (benchmarks/README.md).

When every search is done: DARTS-ES on the 5 DARTS seeds by offline replay (ES does not change
the search before it stops), R-DARTS(L2)'s architecture per seed chosen by table validation
error as ``grid`` does, and ``nasbench-tools report`` on DARTS, replayed DARTS-ES, DARTS-ADA and
R-DARTS(L2) into ``figures/study-cifar10-cpu-l8/``, with ``STUDY.md`` (setting, selections,
the online-vs-replay check, and claims (a)-(e) of RobustDARTS tested one by one, also in
``claims.csv``) beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from nasbench_tools.build import parse_duration
from nasbench_tools.report import write_report
from nasbench_tools.report.words import claim_line
from nasbench_tools.search.grid import run_grid
from nasbench_tools.search.replay import es_trace, trace_differences
from nasbench_tools.search.study import SearchSpec, run_study, study_status
from nasbench_tools.search.trace import SearchTrace
from nasbench_tools.stats import RunSet, load_runs
from nasbench_tools.stats.claims import (
    claims_frame,
    endings,
    regret_paths,
    robustdarts_claims,
)

from _script import run

TABLE = "data/t81-cifar10-cpu-l8.h5"
OUT = Path("data/traces/study-cifar10-cpu-l8")
REPLAYED = OUT / "replayed-es"
REPORT = Path("figures/study-cifar10-cpu-l8")
#: written by analysis/discrete_check.py; quoted in STUDY.md when present
DISCRETE_CHECK = "figures/discrete-check/discrete-check.md"
#: the study's search setting: the cifar10-jpeg preset (80 steps per epoch, 4,000 alpha
#: updates in 50 epochs, channels-last) with the analysis made affordable
OVERRIDES: dict[str, Any] = {"epochs": 50, "order": 1, "eval_subset": 1000,
                             "hessian_every": 2, "threads": 1}
DARTS_SEEDS = (0, 1, 2, 3, 4)
SEEDS = (0, 1, 2)
L2_VALUES = (3e-4, 2.7e-3, 8.1e-3, 2.43e-2)
#: in the order they are started; R-DARTS(L2) at 3e-4 (DARTS's own weight decay, so the same
#: search as DARTS: STUDY.md checks it) goes last
SPECS = (
    [SearchSpec("darts", s) for s in DARTS_SEEDS]
    + [SearchSpec("darts-es", 0)]
    + [SearchSpec("darts-ada", s) for s in SEEDS]
    + [SearchSpec("rdarts-l2", s, {"weight_decay": v}) for v in L2_VALUES[1:] for s in SEEDS]
    + [SearchSpec("rdarts-l2", s, {"weight_decay": L2_VALUES[0]}) for s in SEEDS]
)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", help="the CIFAR-10 JPEG file (or NASBENCH_CIFAR10_JPEG)")
    p.add_argument("--jobs", type=int, default=2, help="searches at once (2)")
    p.add_argument("--time-limit", help="e.g. 2h: start no epoch after this (none)")
    p.add_argument("--report-only", action="store_true",
                   help="run no search; write the report from the finished traces")
    p.add_argument("--status", action="store_true",
                   help="run nothing; say which searches are done and, once every DARTS seed "
                        "is, what those runs and their DARTS-ES replays show")
    args = p.parse_args(argv)
    return run("study", lambda: go(args))


def go(args: argparse.Namespace) -> None:
    if args.status:
        print(status())
        return
    if not args.report_only:
        limit = None if args.time_limit is None else parse_duration(args.time_limit)
        summary = run_study(SPECS, TABLE, OUT, overrides=OVERRIDES, jobs=args.jobs,
                            time_limit=limit, data_root=args.data_root, device="cpu",
                            progress=lambda line: print(line, file=sys.stderr, flush=True))
        print(summary.format())
        if not summary.finished:
            done = sum(1 for *_, finished in summary.runs if finished)
            print(f"{done} of {len(summary.runs)} searches finished; run the same command "
                  "again to go on")
            return
    finish(args.data_root)


def finish(data_root: str | None, *, out: Path = OUT, report: Path = REPORT,
           table: str = TABLE, discrete_check: str = DISCRETE_CHECK) -> None:
    """Replay DARTS-ES, select R-DARTS(L2) per seed, write the report and STUDY.md."""
    replayed_dir = out / REPLAYED.name
    replayed_dir.mkdir(parents=True, exist_ok=True)
    replayed = []
    for s in DARTS_SEEDS:
        darts = out / f"darts-s{s}.h5"
        es = es_trace(SearchTrace.load(darts), source=darts.name)
        es.save(replayed_dir / f"darts-es-s{s}.h5")
        replayed.append(es)
    check = online_vs_replay(SearchTrace.load(out / "darts-es-s0.h5"), replayed[0])
    grids = [run_grid("rdarts-l2", table, seeds=[s], values=L2_VALUES, out_dir=out,
                      overrides=OVERRIDES, data_root=data_root, device="cpu") for s in SEEDS]
    sources = ([out / f"darts-s{s}.h5" for s in DARTS_SEEDS]
               + [replayed_dir / f"darts-es-s{s}.h5" for s in DARTS_SEEDS]
               + [out / f"darts-ada-s{s}.h5" for s in SEEDS]
               + [out / f"{SearchSpec('rdarts-l2', s, {'weight_decay': v}).name}.h5"
                  for s in SEEDS for v in L2_VALUES])
    summary = write_report(sources, report, table=table, overwrite=True, seed=0,
                           progress=lambda line: print(line, file=sys.stderr, flush=True))
    lines = [f"# The RobustDARTS study on {Path(table).name}: setting and selections", "",
             f"Search setting (every method): the dataset's search preset with "
             f"`{json.dumps(OVERRIDES, sort_keys=True)}`; first order; table `{table}`.", "",
             "## DARTS-ES: online against the offline replay (seed 0)", "", check, "",
             "## R-DARTS(L2): the architecture chosen per seed by table validation error", ""]
    for s, g in zip(SEEDS, grids, strict=True):
        lines += [f"Seed {s}:", "", "```", g.format(), "```", ""]
    lines += ["R-DARTS(L2) at 3e-4 is DARTS's own weight decay, so it should repeat DARTS's "
              "search exactly:", ""]
    for s in SEEDS:
        l2 = out / f"{SearchSpec('rdarts-l2', s, {'weight_decay': L2_VALUES[0]}).name}.h5"
        differ = trace_differences(SearchTrace.load(out / f"darts-s{s}.h5"),
                                   SearchTrace.load(l2))
        lines.append(f"- seed {s}: " + ("every recorded value identical" if not differ else
                     "differs: " + ", ".join(f"{k} {v:.3g}" for k, v in sorted(differ.items()))))
    lines += ["", "The report's `all` group holds such repeats and the replayed DARTS-ES runs "
              "beside their DARTS runs; the claims below correlate across independent "
              "searches only.", ""]
    check_md = Path(discrete_check)
    if check_md.exists():
        lines += ["## Is the discretised error near chance a defect of the measurement?", "",
                  check_md.read_text(), ""]
    lines += claims_section(summary.runs, report / "claims.csv")
    lines += [f"Report: [REPORT.md](REPORT.md) ({summary.n_runs} traces). The same numbers "
              "from the command line (the bootstrap is seeded; list the traces in this order), "
              "into another folder so that this one keeps STUDY.md and claims.csv:", "",
              "```bash", report_command(sources, table), "```", ""]
    (report / "STUDY.md").write_text("\n".join(lines))
    print(f"wrote {report}/REPORT.md and STUDY.md")


def status(out: Path = OUT, table: str = TABLE) -> str:
    """Which searches are finished and, once all DARTS seeds are, their regret paths,
    collapse counts and DARTS-ES replays (a look at the study before its report)."""
    summary = study_status(SPECS, out)
    done = sum(1 for *_, finished in summary.runs if finished)
    lines = [summary.format(), f"{done} of {len(summary.runs)} searches finished."]
    darts = [out / f"darts-s{s}.h5" for s in DARTS_SEEDS]
    if all(p.exists() for p in darts):
        runs = load_runs(darts, table=table)
        lines += ["", "DARTS runs:", regret_paths(runs).round(2).to_string(index=False), "",
                  endings(runs).to_string(index=False), "", "DARTS-ES replayed on them:"]
        for run in runs.runs:
            es = es_trace(run.trace, source=Path(run.path).name)
            lines.append(f"{run.name}: stops after {len(es.records)} epochs, returns epoch "
                         f"{es.result.epoch} (arch {es.result.arch}), regret "
                         f"{es.result.test_regret:.2f} (DARTS {run.trace.result.test_regret:.2f})")
    return "\n".join(lines)


def report_command(sources: list[Path], table: str) -> str:
    """The `nasbench-tools report` call that reproduces the study's ``correlations.csv``."""
    return " ".join(["nasbench-tools report", *map(str, sources), "--table", table,
                     "--out", "study-report"])


def claims_section(runs: RunSet, csv: Path) -> list[str]:
    """STUDY.md's answer to claims (a)-(e) (`nasbench_tools.stats.claims`), also written to
    ``claims.csv`` beside the report, and how many runs ended on a parameter-free normal cell."""
    tests = robustdarts_claims(runs, seed=0)
    claims_frame(tests).to_csv(csv, index=False)
    ends = endings(runs)
    lines = ["## The RobustDARTS claims", "",
             "Each line: the measurement, its 95 % interval (bootstrap over runs or pairs), "
             "two-sided permutation p and n; `supported` needs the interval on the predicted "
             "side and p <= 0.05 (with 5 runs a sign-flip p cannot go below 0.0625, so "
             "`direction only` is the most five runs can give). Numbers in `claims.csv`.", ""]
    lines += [claim_line(t) for t in tests]
    lines += ["", "What claim (a)'s windows average over, per DARTS run (descriptive: the lowest "
              "regret is picked after the fact):", "",
              "| run | regret at epoch 0 | lowest regret (epoch) | regret at the end | one-shot "
              "error at the lowest / at the end (%) |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r.run} | {r.regret_start:.2f} | {r.regret_min:.2f} ({r.min_epoch}) | "
              f"{r.regret_end:.2f} | {r.oneshot_at_min:.1f} / {r.oneshot_end:.1f} |"
              for r in regret_paths(runs).itertuples()]
    lines += ["", "Runs whose returned normal cell is entirely parameter-free (every edge "
              "skip or pooling), per method, and the median epoch from which such runs kept "
              "an all parameter-free normal cell:", "",
              "| method | runs | all parameter-free | at least one parameter-free | median "
              "epoch it settled |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r.method} | {r.runs} | {r.all_free} | {r.any_free} | "
              f"{r.median_settled:g} |" for r in ends.itertuples()]
    return [*lines, ""]


def online_vs_replay(online: SearchTrace, replayed: SearchTrace) -> str:
    """One paragraph: do the online DARTS-ES trace and the replayed one agree, and where not."""
    same_stop = (len(online.records), online.result_epoch) == \
        (len(replayed.records), replayed.result_epoch)
    differ = trace_differences(online, replayed)
    head = (f"Online DARTS-ES stopped after {len(online.records)} epochs and returned epoch "
            f"{online.result.epoch} (arch {online.result.arch}); the replay of DARTS seed 0 "
            f"stops after {len(replayed.records)} and returns epoch {replayed.result.epoch} "
            f"(arch {replayed.result.arch}): "
            + ("the same stop. " if same_stop else "a different stop. "))
    if not differ:
        return head + "Every recorded value of the common epochs is identical."
    return head + "Largest differences over the common epochs: " + ", ".join(
        f"{k} {v:.3g}" for k, v in sorted(differ.items())) + "."


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
