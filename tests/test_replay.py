"""Offline DARTS-ES replay of logged eigenvalues: RobustDARTS logs, our traces, the CLI."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from nasbench_tools.cli import main
from nasbench_tools.exceptions import ConfigError, TableFormatError
from nasbench_tools.search import ReplayResult, early_stop, replay_es
from nasbench_tools.search.replay import CSV_COLUMNS, read_eigenvalue_log
from nasbench_tools.search.trace import EpochRecord, SearchTrace
from nasbench_tools.spaces import get_space

GRID = [*range(0, 50, 2), 49]  # RobustDARTS: every 2nd epoch and the last one

Lam = Callable[[int], float]
# DARTS-ES fixtures of docs/methods.md (window 5, lag 4, factor 1.3, start epoch 10):
# lambda(epoch), (stop, return)
FIXTURES: dict[str, tuple[Lam, tuple[int, int] | None]] = {
    "jump30": (lambda e: 0.1 if e <= 30 else 1.0, (32, 20)),
    "jump24": (lambda e: 0.1 if e <= 24 else 1.0, (26, 14)),
    "jump36": (lambda e: 0.1 if e <= 36 else 1.0, (38, 26)),
    "jump44": (lambda e: 0.1 if e <= 44 else 1.0, (46, 34)),
    "constant": (lambda e: 0.5, None),
    "exp1035": (lambda e: 1.035**e, (22, 10)),
    "exp103": (lambda e: 1.03**e, None),
}


def hessian(lam: float, rng: np.random.Generator, n: int = 6) -> list[list[float]]:
    """A non-symmetric H whose (H + Hᵀ)/2 has largest algebraic eigenvalue ``lam`` and an
    eigenvalue -10 of larger magnitude (a largest-|λ| reading would never fire)."""
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    sym = q @ np.diag([lam, 0.5 * lam, 0.2 * lam, 0.0, -lam, -10.0]) @ q.T
    skew = rng.normal(size=(n, n))
    return (sym + (skew - skew.T)).tolist()


def write_log(path: Path, epochs: list[int], lam: Lam, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lines = []
    for e in epochs:
        h = hessian(lam(e), rng)
        lines.append(json.dumps({"epoch": e, "H": h, "g": [0.0] * len(h)}))
    path.write_text("\n".join(lines) + "\n")
    return path


def key(result: ReplayResult) -> tuple[int, int] | None:
    if result.stop_epoch is None:
        return None
    assert result.return_epoch is not None
    return result.stop_epoch, result.return_epoch


@pytest.mark.parametrize("name", list(FIXTURES))
def test_robustdarts_log_gives_the_method_fixtures(tmp_path: Path, name: str) -> None:
    lam, expected = FIXTURES[name]
    result = replay_es(write_log(tmp_path / "derivatives_1.json", GRID, lam))
    assert key(result) == expected
    assert result.n_evals == 26
    fired = early_stop(GRID, [lam(e) for e in GRID])
    assert result.ratio == (None if fired is None else pytest.approx(fired.ratio, rel=1e-9))


def test_lambda_max_is_the_largest_algebraic_eigenvalue(tmp_path: Path) -> None:
    log = read_eigenvalue_log(write_log(tmp_path / "d.json", GRID, lambda e: 1.035**e))
    assert log.epochs == tuple(GRID) and log.last_epoch == 49
    np.testing.assert_allclose(log.values, [1.035**e for e in GRID], rtol=1e-10)


def test_line() -> None:
    fired = ReplayResult("derivatives_1.json", 26, 32, 20, 2.8)
    assert fired.line() == ("derivatives_1.json: 26 evaluations; fires at epoch 32 "
                            "(ratio 2.800), returns epoch 20")
    assert ReplayResult("x.h5", 3, None, None, None).line() == "x.h5: 3 evaluations; never fires"


def test_every_epoch_log_and_the_every_option(tmp_path: Path) -> None:
    lam = FIXTURES["jump30"][0]
    dense = replay_es(write_log(tmp_path / "dense.json", list(range(50)), lam))
    assert (key(dense), dense.n_evals) == ((32, 20), 26)  # every=2 picks 0, 2, ..., 48 and 49
    sparse = write_log(tmp_path / "every5.json", [*range(0, 50, 5), 49], lam)
    with pytest.raises(ConfigError, match=r"no evaluation at epoch 2\b.*try --every 5"):
        replay_es(sparse)
    assert replay_es(sparse, every=5).n_evals == 11


def test_too_few_evaluations_never_fire(tmp_path: Path) -> None:
    result = replay_es(write_log(tmp_path / "short.json", [0, 2, 4], lambda e: 10.0**e))
    assert (key(result), result.n_evals) == (None, 3)


def test_cli_prints_lines_and_writes_the_csv(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    logs = [write_log(tmp_path / f"{name}.json", GRID, FIXTURES[name][0])
            for name in ("jump30", "constant")]
    out_csv = tmp_path / "es.csv"
    code = main(["replay-es", *map(str, logs), "--csv", str(out_csv)])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out.splitlines() == [f"{logs[0]}: 26 evaluations; fires at epoch 32 (ratio 2.800), "
                                "returns epoch 20", f"{logs[1]}: 26 evaluations; never fires"]
    with open(out_csv, newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS == (
        "log", "n_evals", "stop_epoch", "return_epoch", "ratio")
    assert rows[0]["stop_epoch"] == "32" and rows[0]["return_epoch"] == "20"
    assert float(rows[0]["ratio"]) == pytest.approx(2.8)
    assert rows[1] == {"log": str(logs[1]), "n_evals": "26", "stop_epoch": "",
                       "return_epoch": "", "ratio": ""}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# -- our own traces -------------------------------------------------------------------------
def make_trace(lam: Lam, epochs: int = 50, last: int = 49) -> SearchTrace:
    """DARTS-ADA-like: epochs 0..29, a rollback to 19 (epochs 20..29 of the first pass hold a
    spurious jump), then 20..``last``; eigenvalues on even epochs and the last one."""
    space = get_space("t81")

    def record(e: int, it: int, value: float) -> EpochRecord:
        due = e % 2 == 0 or e == epochs - 1
        return EpochRecord(epoch=e, alphas=np.zeros(12), arch=e % 81,
                           genotype=space.genotype(space.arch(e % 81)), iteration=it,
                           lambda_max=value if due else float("nan"))

    first = [record(e, 1, lam(e) if e <= 19 else 50.0) for e in range(30)]
    second = [record(e, 2, lam(e)) for e in range(20, last + 1)]
    return SearchTrace(method="darts-ada", seed=0, space=space, records=(*first, *second),
                       config={"search": {"epochs": epochs}})


@pytest.mark.parametrize("name", ["jump30", "jump44", "constant", "exp1035"])
def test_trace_replay_equals_early_stop(tmp_path: Path, name: str) -> None:
    lam, expected = FIXTURES[name]
    make_trace(lam).save(tmp_path / "ada-s0.h5")
    result = replay_es(tmp_path / "ada-s0.h5")
    fired = early_stop(GRID, [lam(e) for e in GRID])
    assert key(result) == expected == (None if fired is None else
                                       (fired.stop_epoch, fired.return_epoch))
    assert result.n_evals == 26


def test_trace_stopped_early_replays_its_stop(tmp_path: Path) -> None:
    lam = FIXTURES["jump30"][0]
    make_trace(lam, last=32).save(tmp_path / "es.h5")  # DARTS-ES stopped it at 32 of 50
    assert key(replay_es(tmp_path / "es.h5")) == (32, 20)


# -- telling the kinds apart by content -------------------------------------------------------
def test_kind_comes_from_the_content_not_the_suffix(tmp_path: Path) -> None:
    lam = FIXTURES["jump30"][0]
    make_trace(lam).save(tmp_path / "trace.json")
    assert key(replay_es(tmp_path / "trace.json")) == (32, 20)
    write_log(tmp_path / "derivatives.h5", GRID, lam)
    assert key(replay_es(tmp_path / "derivatives.h5")) == (32, 20)


def test_hdf5_after_a_user_block_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "ub.json"
    with h5py.File(path, "w", userblock_size=512) as f:
        f["x"] = np.arange(3)
    with pytest.raises(TableFormatError, match="not a nasbench-tools search trace"):
        replay_es(path)


# -- malformed logs: exit code 2, one line naming the file, no CSV -------------------------------
def obj_line(epoch: object = 0, h: object = ((1.0, 0.0), (0.0, 1.0)), **drop: bool) -> str:
    obj = {"epoch": epoch, "H": h, "g": [0.0, 0.0]}
    return json.dumps({k: v for k, v in obj.items() if not drop.get(k)})


MALFORMED: dict[str, tuple[str | bytes, list[str]]] = {
    "empty": ("", ["empty", "epoch, H and g"]),
    "blank": ("\n \n", ["empty"]),
    "badjson": (obj_line(0) + "\n{epoch: 2\n", ["line 2", "invalid JSON"]),
    "notobject": ("[1, 2]\n", ["line 1", "JSON object"]),
    "nog": (obj_line(0, g=True) + "\n", ["line 1", "missing key 'g'"]),
    "noh": (obj_line(0) + "\n" + obj_line(2, H=True) + "\n", ["line 2", "missing key 'H'"]),
    "epochtext": (obj_line("2") + "\n", ["line 1", "epoch must be a non-negative integer"]),
    "notsquare": (obj_line(0, [[1, 2, 3], [4, 5, 6]]) + "\n", ["line 1", "square", "(2, 3)"]),
    "ragged": (obj_line(0, [[1, 2], [3]]) + "\n", ["line 1", "square"]),
    "resized": (obj_line(0) + "\n" + obj_line(2, np.eye(3).tolist()) + "\n",
                ["line 2", "3 x 3", "earlier lines are 2 x 2"]),
    "nan": (obj_line(0, [[float("nan"), 0], [0, 1]]) + "\n", ["line 1", "non-finite"]),
    "order": ("\n".join(obj_line(e) for e in (0, 2, 2)) + "\n",
              ["line 3", "epoch 2 after epoch 2", "strictly increasing"]),
    "hole": ("\n".join(obj_line(e) for e in (0, 2, 6, 8)) + "\n",
             ["no evaluation at epoch 4", "--every 2"]),
    "binary": (b"\xff\xfe\x00\x01 not text", ["neither an HDF5 search trace nor"]),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_log_is_one_line_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    content, needles = MALFORMED[case]
    bad = tmp_path / f"derivatives_{case}.json"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content)
    good = write_log(tmp_path / "good.json", GRID, FIXTURES["jump30"][0])
    assert_one_line_error(capsys, ["replay-es", str(good), str(bad), "--csv",
                                   str(tmp_path / "es.csv")], bad.name, *needles)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([bad.name, "good.json"])


@pytest.mark.parametrize("maker,needles", [
    (lambda p: None, ["does not exist"]),
    (lambda p: h5py.File(p, "w").close(), ["not a nasbench-tools search trace"]),
    (lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64), ["truncated or corrupt"]),
])
def test_missing_or_foreign_files(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  maker: Callable[[Path], object], needles: list[str]) -> None:
    path = tmp_path / "log.json"
    maker(path)
    assert_one_line_error(capsys, ["replay-es", str(path)], path.name, *needles)


def test_trace_without_eigenvalues(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_trace(lambda e: float("nan")).save(tmp_path / "none.h5")
    assert_one_line_error(capsys, ["replay-es", str(tmp_path / "none.h5")], "none.h5",
                          "no finite eigenvalue")


def test_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = str(write_log(tmp_path / "d.json", GRID, FIXTURES["jump30"][0]))
    assert_one_line_error(capsys, ["replay-es", log, "--every", "0"], "every", ">= 1")
    assert_one_line_error(capsys, ["replay-es", log, "--csv", str(tmp_path / "no" / "x.csv")],
                          "does not exist")
    (tmp_path / "dir.csv").mkdir()
    assert_one_line_error(capsys, ["replay-es", log, "--csv", str(tmp_path / "dir.csv")],
                          "dir.csv", "cannot write")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json", "dir.csv"]


def assert_one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str],
                          *needles: str) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1, (code, out, err)
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_replayed_es_trace_equals_the_online_search() -> None:
    """ES does not change the search before it stops: replaying it on a DARTS trace gives the
    online DARTS-ES trace (records, stop, returned epoch), apart from timings."""
    import dataclasses
    import math

    from test_search import TINY, digits_bench

    from nasbench_tools.search.engine import run_search
    from nasbench_tools.search.replay import es_trace, trace_differences

    bench = digits_bench()
    rule = {"every": 1, "window": 1, "lag": 1, "factor": 1e-9, "start_epoch": 0}
    darts = run_search("darts", bench, seed=0, device="cpu", overrides=TINY)
    online = run_search("darts-es", bench, seed=0, device="cpu", overrides=TINY, params=rule)
    replayed = es_trace(darts, **rule, source="darts-s0.h5")
    assert len(online.records) == len(replayed.records) == 2 < len(darts.records)
    assert replayed.result_epoch == online.result_epoch == 0
    assert replayed.method == "darts-es" and replayed.config["replayed_from"] == "darts-s0.h5"
    assert replayed.config["params"] == online.config["params"]
    for a, b in zip(online.records, replayed.records, strict=True):
        for f in dataclasses.fields(a):
            if f.name in ("wall_time", "analysis_time"):
                continue
            x, y = getattr(a, f.name), getattr(b, f.name)
            if isinstance(x, np.ndarray):
                assert np.array_equal(x, y), f.name
            else:
                assert x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y)), \
                    f.name
    assert trace_differences(online, replayed) == {}
    moved = dataclasses.replace(replayed, records=(
        dataclasses.replace(replayed.records[0], oneshot_err=replayed.records[0].oneshot_err
                            + 0.5, genotype="x"), *replayed.records[1:]))
    assert trace_differences(online, moved) == {"oneshot_err": pytest.approx(0.5),
                                                "genotype": math.inf}
    with pytest.raises(ConfigError, match="DARTS traces"):
        es_trace(online)
