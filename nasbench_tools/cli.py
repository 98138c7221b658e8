"""Command line: ``nasbench-tools <subcommand>``. Thin: parse, call one function, exit code.

Exit codes: 0 success; 1 ``validate`` found problems; 2 bad input (one line on stderr, no
traceback, nothing already written touched).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from nasbench_tools.cli_analysis import add_analysis_commands
from nasbench_tools.exceptions import NasbenchError

DESCRIPTION = ("Exhaustive tabular benchmarks of small DARTS cell spaces, and DARTS searches\n"
               "replayed on them, to study why differentiable architecture search collapses.")
USUAL_ORDER = """usual order:
  nasbench-tools build-table ...   train every architecture x seed into a table (or use data/)
  nasbench-tools search ...        replay one search on a table (grid: grids x seeds)
  nasbench-tools report TRACES...  figures, correlations and REPORT.md from the traces
'nasbench-tools COMMAND --help' tells more about each command."""

#: Exit code of ``build-table --time-limit`` when runs are left (run it again to go on).
EXIT_STOPPED = 3

Command = Callable[[argparse.Namespace], int]


def _cmd_spaces(args: argparse.Namespace) -> int:
    from nasbench_tools.spaces import get_space, list_spaces

    for name in list_spaces():
        s = get_space(name)
        ops = list(dict.fromkeys(op for e in s.edges for op in e.ops))  # alpha-column order
        print(f"{name:10s} {s.size:6d} archs  {s.n_edges} edges  ops: {', '.join(ops)}")
        if s.description:
            print(f"{'':10s} {s.description}")
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    from nasbench_tools.data import list_datasets
    from nasbench_tools.train import list_presets

    for name in list_datasets():
        print(f"{name:14s} presets: {', '.join(list_presets(name)) or '-'}")
    return 0


def _protocol(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from nasbench_tools.config import load_toml, parse_assignments
    from nasbench_tools.data import list_datasets
    from nasbench_tools.exceptions import UnknownNameError
    from nasbench_tools.train import get_protocol

    if args.dataset not in list_datasets():
        raise UnknownNameError("dataset", args.dataset, list_datasets())
    overrides = dict(load_toml(args.config)) if args.config else {}
    overrides.update(parse_assignments(args.set or []))
    return get_protocol(args.dataset, args.preset, overrides)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _log_to_stderr() -> None:
    """The package's INFO lines (one per epoch of a fused group) on stderr, timestamped."""
    logger = logging.getLogger("nasbench_tools")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _cmd_build(args: argparse.Namespace) -> int:
    from nasbench_tools.build import build_table, parse_duration, parse_seeds, parse_shard
    from nasbench_tools.spaces import get_space

    _log_to_stderr()

    space = get_space(args.space)
    protocol = _protocol(args)
    seeds, shard = parse_seeds(args.seeds), parse_shard(args.shard)
    time_limit = None if args.time_limit is None else parse_duration(args.time_limit)
    out = Path(args.out or f"data/{space.name}-{protocol.dataset}.h5")
    if args.data_root is not None and not Path(args.data_root).exists():
        from nasbench_tools.exceptions import DataNotFoundError

        raise DataNotFoundError(f"data directory {args.data_root!r} does not exist")
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = build_table(space, protocol, seeds, out, jobs=args.jobs, scheduler=args.scheduler,
                          shard=shard, device=args.device, group_size=args.group_size,
                          data_root=args.data_root, progress=not args.no_progress,
                          fuse=None if args.fuse == "auto" else _int(args.fuse, "--fuse", "auto"),
                          compile_mode=args.compile, time_limit=time_limit)
    print(summary.line())
    return EXIT_STOPPED if summary.stopped else 0


def _cmd_merge(args: argparse.Namespace) -> int:
    from nasbench_tools.build import merge_tables
    from nasbench_tools.table import Status

    merged = merge_tables(args.inputs, args.out)
    print(f"{args.out}: merged {len(args.inputs)} tables, "
          f"{int((merged.status == Status.DONE).sum())} runs done")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from nasbench_tools.table.validate import validate_table

    report = validate_table(args.table)
    print(report.format())
    return 0 if report.ok else 1


def _cmd_info(args: argparse.Namespace) -> int:
    from nasbench_tools.table import Benchmark

    print(Benchmark.open(args.table).describe())
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    from nasbench_tools.table import Benchmark, Metric

    bench = Benchmark.open(args.table)
    arch = bench.space.resolve(args.arch)
    seed: int | str = "mean" if args.seed == "mean" else _int(args.seed, "--seed", "mean")
    print(f"arch {arch}: {bench.space.genotype(bench.space.arch(arch))}")
    for metric in (Metric.TRAIN_ERR, Metric.VALID_ERR, Metric.TEST_ERR):
        value = bench.query(arch, metric, epoch=args.epoch, seed=seed)
        regret = bench.regret(arch, metric, epoch=args.epoch)
        print(f"  {metric.value:10s} {value:8.3f} %   regret {regret:7.3f}")
    print(f"  n_params   {int(bench.data.n_params[arch])}   flops {int(bench.data.flops[arch])}")
    return 0


def _search_overrides(args: argparse.Namespace) -> dict[str, object]:
    from nasbench_tools.config import parse_assignments

    overrides: dict[str, object] = dict(parse_assignments(args.set or []))
    for key in ("epochs", "order", "hessian_every"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    return overrides


def _epoch_line(r) -> str:  # type: ignore[no-untyped-def]
    lam = f"{r.lambda_max:.4f}" if r.lambda_max == r.lambda_max else "-"
    line = (f"epoch {r.epoch:3d}  arch {r.arch:4d}  regret {r.test_regret:6.2f}  "
            f"lambda_max {lam:>7s}  gap {r.gap_err:6.2f} %  one-shot {r.oneshot_err:5.2f} %")
    return line + (f"  [{r.events}]" if r.events else "")


def _cmd_search(args: argparse.Namespace) -> int:
    from nasbench_tools.build import parse_duration
    from nasbench_tools.config import parse_assignments
    from nasbench_tools.exceptions import ConfigError
    from nasbench_tools.search.checkpoint import checkpoint_path
    from nasbench_tools.search.engine import run_search

    out = Path(args.out or f"traces/{args.method}-s{args.seed}.h5")
    if out.exists() and not args.overwrite:
        raise ConfigError(f"trace {str(out)!r} already exists; choose another --out or pass "
                          "--overwrite")
    limit = None if args.time_limit is None else parse_duration(args.time_limit)
    deadline = None if limit is None else time.monotonic() + limit
    from tqdm import tqdm

    overrides, ckpt = _search_overrides(args), checkpoint_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if ckpt.exists():
        print(f"resuming from {ckpt}", file=sys.stderr)
    with tqdm(desc=f"{args.method} seed {args.seed}", unit="epoch", disable=args.no_progress,
              total=None, leave=False) as bar:
        def report(record) -> None:  # type: ignore[no-untyped-def]
            bar.update(1)
            bar.write(_epoch_line(record))

        trace = run_search(args.method, args.table, seed=args.seed, device=args.device,
                           overrides=overrides, params=parse_assignments(args.param or []),
                           callback=report, checkpoint=ckpt, deadline=deadline,
                           data_root=args.data_root)
    if not trace.finished:
        print(f"{ckpt}: stopped by the time limit after {len(trace.records)} epoch(s); run the "
              "same command again to go on", file=sys.stderr)
        return EXIT_STOPPED
    trace.save(out)
    ckpt.unlink(missing_ok=True)
    r = trace.result
    print(f"{out}: {args.method} returned epoch {r.epoch}: arch {r.arch} ({r.genotype}), "
          f"test error {r.test_err:.2f} %, regret {r.test_regret:.2f}")
    return 0


def _cmd_grid(args: argparse.Namespace) -> int:
    from nasbench_tools.build import parse_seeds
    from nasbench_tools.config import parse_assignments
    from nasbench_tools.search.grid import run_grid

    values = None
    if args.values:
        from nasbench_tools.exceptions import ConfigError

        try:
            values = [float(v) for v in args.values.split(",")]
        except ValueError:
            raise ConfigError(f"--values must be numbers separated by commas, got "
                              f"{args.values!r}") from None
    summary = run_grid(args.method, args.table, seeds=parse_seeds(args.seeds),
                       out_dir=args.out or f"traces/{args.method}", values=values,
                       params=parse_assignments(args.param or []),
                       overrides=_search_overrides(args), device=args.device, jobs=args.jobs,
                       scheduler=args.scheduler, progress=print, data_root=args.data_root)
    print(summary.format())
    return 0


def _int(text: str, flag: str, word: str = "") -> int:
    from nasbench_tools.exceptions import ConfigError

    try:
        return int(text)
    except ValueError:
        also = f" or {word!r}" if word else ""
        raise ConfigError(f"{flag} must be an integer{also}, got {text!r}") from None


def _add_build(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build-table", help="train every arch x seed of a space into a table")
    from nasbench_tools.data.loaders import list_datasets
    from nasbench_tools.spaces import list_spaces
    from nasbench_tools.train.protocol import list_presets

    presets = sorted({name.split("/", 1)[1] for name in list_presets()})
    p.add_argument("--space", default="t81",
                   help=f"{', '.join(list_spaces())}, or a .toml file of your own (t81)")
    p.add_argument("--dataset", default="digits",
                   help=f"one of {', '.join(list_datasets())} (digits)")
    p.add_argument("--preset", default="standard",
                   help=f"protocol preset: {', '.join(presets)}; 'nasbench-tools datasets' "
                        "lists which dataset has which (standard)")
    p.add_argument("--config", help="TOML file of protocol overrides")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="protocol override")
    p.add_argument("--seeds", default="0,1,2", help="e.g. 0,1,2 or 0-4 (0,1,2)")
    p.add_argument("--jobs", type=int, default=1, help="local worker processes (1)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, tcp://HOST:PORT")
    p.add_argument("--shard", help="i/n: build only shard i of n (merge them afterwards)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (auto)")
    p.add_argument("--group-size", type=int, default=1, help="tasks per worker call (1)")
    p.add_argument("--fuse", default="auto",
                   help="train K archs of a seed as one fused network; auto: all on a GPU, "
                        "1 (off) on the CPU")
    p.add_argument("--compile", metavar="MODE",
                   help="torch.compile the fused training step: default, reduce-overhead "
                        "(CUDA graphs), max-autotune or max-autotune-no-cudagraphs (off)")
    p.add_argument("--data-root", help="directory (or file) holding the dataset")
    p.add_argument("--out", help="output table (data/<space>-<dataset>.h5)")
    p.add_argument("--time-limit", metavar="DURATION",
                   help="e.g. 50m: start no run (fused: no epoch) after this, write what is "
                        f"done and exit {EXIT_STOPPED}; re-run to go on (none)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_build)


def _add_search(sub: argparse._SubParsersAction) -> None:
    from nasbench_tools.search.strategies import STRATEGIES  # torch-free registry

    for name, text in (("search", "replay one DARTS variant on a table"),
                       ("grid", "run a method over its grid x seeds; select by valid error")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--table", required=True, help="table file, e.g. data/t81-digits.h5")
        p.add_argument("--method", default="darts",
                       help=f"one of {', '.join(sorted(STRATEGIES))} (darts)")
        p.add_argument("--epochs", type=int, help="search epochs (dataset preset: 50)")
        p.add_argument("--order", type=int, help="1 (first order) or 2 (unrolled)")
        p.add_argument("--hessian-every", type=int, help="epochs between eigenvalues (1)")
        p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (auto)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="search setting override (see SearchConfig)")
        p.add_argument("--param", action="append", metavar="KEY=VALUE",
                       help="method parameter, e.g. weight_decay=2.7e-3")
        p.add_argument("--data-root", help="directory (or file) holding the table's dataset "
                                           "(docs/datasets.md)")
        if name == "search":
            p.add_argument("--seed", type=int, default=0)
            p.add_argument("--out", help="trace file to write (traces/<method>-s<seed>.h5)")
            p.add_argument("--overwrite", action="store_true",
                           help="replace an existing trace (written atomically at the end); "
                                "a search stopped part-way always resumes from OUT.ckpt")
            p.add_argument("--no-progress", action="store_true", help="no progress bar")
            p.add_argument("--time-limit", metavar="DURATION",
                           help="e.g. 50m: start no epoch after this, keep the state in "
                                f"OUT.ckpt and exit {EXIT_STOPPED}; re-run to go on (none)")
            p.set_defaults(func=_cmd_search)
        else:
            p.add_argument("--seeds", default="0,1,2", help="e.g. 0,1,2 or 0-4 (0,1,2)")
            p.add_argument("--values", help="grid values, comma separated (the method's grid)")
            p.add_argument("--jobs", type=int, default=1, help="local worker processes (1)")
            p.add_argument("--scheduler", help="address of a Dask scheduler, tcp://HOST:PORT")
            p.add_argument("--out", help="folder for the traces (traces/<method>)")
            p.set_defaults(func=_cmd_grid)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nasbench-tools", description=DESCRIPTION, epilog=USUAL_ORDER,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("spaces", help="list the registered search spaces").set_defaults(
        func=_cmd_spaces)
    sub.add_parser("datasets", help="list datasets and their protocol presets").set_defaults(
        func=_cmd_datasets)
    _add_build(sub)
    _add_search(sub)
    p = sub.add_parser("merge", help="combine shard tables, or tables of other seeds, into one")
    p.add_argument("inputs", nargs="+")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_merge)
    p = sub.add_parser("validate", help="check a table: completeness, ranges, hash")
    p.add_argument("table")
    p.set_defaults(func=_cmd_validate)
    p = sub.add_parser("info", help="what a table holds and its best architecture")
    p.add_argument("table")
    p.set_defaults(func=_cmd_info)
    p = sub.add_parser("query", help="look one architecture up in a table")
    p.add_argument("table")
    p.add_argument("arch", help="architecture id or genotype string")
    p.add_argument("--epoch", type=int, default=-1)
    p.add_argument("--seed", default="mean")
    p.set_defaults(func=_cmd_query)
    add_analysis_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors itself, with code 2
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except NasbenchError as exc:
        print(f"nasbench-tools: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = "; re-run the same command to resume" if args.command in (
            "build-table", "grid", "search") else ""
        print(f"nasbench-tools: interrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
