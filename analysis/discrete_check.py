"""Is the discretised supernet's near-chance error real? Five readings of one DARTS search.

    python analysis/discrete_check.py --epochs 0,4,9,19 --data-root PATH/cifar10-jpeg.h5

Trains DARTS (seed 0) on the L=8 CIFAR-10 table with the study's search setting and, after each
listed epoch, measures the selected architecture's discretised error the recorded way (BN
statistics re-estimated on half A) and three other ways, next to the one-shot error
(`nasbench_tools.search.discrete_check`). Writes ``OUT/discrete-check.csv`` and
``OUT/discrete-check.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from nasbench_tools.build import parse_seeds
from nasbench_tools.search.discrete_check import (
    readings_frame,
    readings_markdown,
    run_discrete_check,
)

from _script import run
from study import OVERRIDES, TABLE


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", default="0,4,9,19", help="0-based epochs to read (0,4,9,19)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--table", default=TABLE)
    p.add_argument("--data-root", help="the CIFAR-10 JPEG file (or NASBENCH_CIFAR10_JPEG)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="figures/discrete-check")
    p.add_argument("--table-only", action="store_true",
                   help="train nothing: write the Markdown table from OUT/discrete-check.csv")
    args = p.parse_args(argv)
    return run("discrete_check", lambda: go(args))


def go(args: argparse.Namespace) -> None:
    out = Path(args.out)
    if args.table_only:
        frame = pd.read_csv(out / "discrete-check.csv")
    else:
        readings = run_discrete_check(
            args.table, epochs=parse_seeds(args.epochs), seed=args.seed,
            overrides={**OVERRIDES, "threads": args.threads}, data_root=args.data_root,
            progress=lambda line: print(line, file=sys.stderr, flush=True))
        frame = readings_frame(readings)
        out.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / "discrete-check.csv", index=False, float_format="%.4f")
    text = readings_markdown(frame)
    (out / "discrete-check.md").write_text(
        f"Errors in percent on the first {OVERRIDES['eval_subset']} images of half B's fixed "
        f"class-mixed order; DARTS seed {args.seed}, one thread, on {args.table}; "
        f"`python analysis/discrete_check.py --epochs {args.epochs}`.\n\n{text}\n")
    print(text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
