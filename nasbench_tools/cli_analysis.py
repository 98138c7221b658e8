"""The analysis subcommands of ``nasbench-tools``: ``report``, ``replay-es`` and
``bench-global`` (thin, as the rest of the command line: parse, call one function)."""

from __future__ import annotations

import argparse
import sys


def _cmd_replay_es(args: argparse.Namespace) -> int:
    from nasbench_tools.search.replay import replay_es, write_replay_csv

    rule = dict(window=args.window, lag=args.lag, factor=args.factor,
                start_epoch=args.start_epoch)
    results = [replay_es(log, every=args.every, **rule) for log in args.logs]  # all checked
    if args.csv:
        write_replay_csv(results, args.csv)
    for result in results:
        print(result.line())
    return 0


def _add_replay(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay-es", help="replay the DARTS-ES rule on logged eigenvalues "
                                         "(search traces or RobustDARTS derivatives logs)")
    p.add_argument("logs", nargs="+", metavar="LOG",
                   help="search trace (.h5) or RobustDARTS derivatives_N.json")
    p.add_argument("--csv", metavar="FILE",
                   help="also write log, n_evals, stop_epoch, return_epoch, ratio")
    p.add_argument("--every", type=int, default=2, metavar="N",
                   help="use the evaluations at multiples of N, plus the last (2)")
    p.add_argument("--window", type=int, default=5, help="evaluations per local average (5)")
    p.add_argument("--lag", type=int, default=4, help="evaluations between compared averages (4)")
    p.add_argument("--factor", type=float, default=1.3, help="ratio that fires the rule (1.3)")
    p.add_argument("--start-epoch", type=int, default=10, help="earliest returned epoch (10)")
    p.set_defaults(func=_cmd_replay_es)


def _cmd_report(args: argparse.Namespace) -> int:
    from nasbench_tools.report import write_report

    def say(text: str) -> None:
        if not args.quiet:
            print(f"report: {text}", file=sys.stderr, flush=True)

    summary = write_report(args.traces, args.out, table=args.table, group=args.group,
                           overwrite=args.overwrite, n_resamples=args.resamples,
                           n_permutations=args.permutations, seed=args.seed, progress=say)
    print(summary.line())
    return 0


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="figures, CSVs and REPORT.md from search traces: "
                                      "regret curves, eigenvalues, correlations with CIs")
    p.add_argument("traces", nargs="+", metavar="TRACE",
                   help="search trace files (.h5) or folders holding them")
    p.add_argument("--out", required=True, help="report folder to write")
    p.add_argument("--table", help="the table the traces were searched on (default: the one "
                                   "each trace names, when found and its hash matches)")
    p.add_argument("--group", action="store_true",
                   help="accept traces of different tables or settings, analysed per group")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report folder")
    p.add_argument("--resamples", type=int, default=1999,
                   help="bootstrap resamples per interval (1999)")
    p.add_argument("--permutations", type=int, default=9999,
                   help="permutations per p-value (9999; the smallest p is 1/(N+1))")
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling (0)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=_cmd_report)


def _cmd_bench_global(args: argparse.Namespace) -> int:
    from nasbench_tools.build import parse_seeds
    from nasbench_tools.synthetic import run_global_benchmark

    text = args.seeds.strip()
    seeds: int | tuple[int, ...] = int(text) if text.isdigit() else parse_seeds(text)
    methods = None
    if args.methods is not None:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]

    def say(line: str) -> None:
        print(f"bench-global: {line}", file=sys.stderr, flush=True)

    bench = run_global_benchmark(args.function, args.dim, args.budget, seeds, args.out,
                                 methods=methods, jobs=args.jobs, overwrite=args.overwrite,
                                 tolerance=args.tolerance, progress=say)
    print(bench.format())
    return 0


def _add_bench_global(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench-global", help="Adam with and without DSCD, CMA-ES and random "
                                            "sampling on a test function, at equal budgets")
    p.add_argument("--function", required=True, help="styblinski-tang or schwefel")
    p.add_argument("--dim", type=int, required=True, help="dimension d")
    p.add_argument("--budget", type=int, required=True, metavar="EVALS",
                   help="function evaluations per run")
    p.add_argument("--seeds", default="10",
                   help="a count S (seeds 0..S-1), or seeds such as 0-9 or 0,1,2 (10)")
    p.add_argument("--out", required=True, help="folder for the CSVs and the figure")
    p.add_argument("--methods", help="comma-separated method names (all registered)")
    p.add_argument("--jobs", type=int, default=1, help="local worker processes (1)")
    p.add_argument("--tolerance", type=float, default=1.0,
                   help="success: best - f* below this (1.0)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    p.set_defaults(func=_cmd_bench_global)


def add_analysis_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``report``, ``replay-es`` and ``bench-global``."""
    _add_report(sub)
    _add_replay(sub)
    _add_bench_global(sub)
