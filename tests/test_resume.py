"""Resumable searches: a search killed after any epoch goes on from its checkpoint and gives
the same trace as one never stopped; a time limit stops between epochs with exit code 3."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from nasbench_tools.cli import EXIT_STOPPED, main
from nasbench_tools.exceptions import BuildMismatchError
from nasbench_tools.search.checkpoint import checkpoint_path
from nasbench_tools.search.engine import run_search
from nasbench_tools.search.trace import SearchTrace

TINY = {"epochs": 4, "steps_per_epoch": 3, "layers": 3, "channels": 4, "hessian_every": 2}
TIMES = ("wall_time", "analysis_time")


class Killed(Exception):
    pass


def _kill_after(n: int):  # type: ignore[no-untyped-def]
    seen = []

    def callback(record) -> None:  # type: ignore[no-untyped-def]
        seen.append(record)
        if len(seen) > n:
            raise Killed

    return callback


def _same(a: SearchTrace, b: SearchTrace) -> None:
    assert (a.result_epoch, a.finished, len(a.records)) == (b.result_epoch, b.finished,
                                                           len(b.records))
    for ra, rb in zip(a.records, b.records, strict=True):
        for f in dataclasses.fields(ra):
            if f.name in TIMES:
                continue
            va, vb = getattr(ra, f.name), getattr(rb, f.name)
            if isinstance(va, np.ndarray) or va is None:
                np.testing.assert_array_equal(va, vb)
            else:
                assert va == vb or (va != va and vb != vb), f.name


@pytest.mark.parametrize(("method", "table", "kill_after"), [
    ("darts", "data/t81-digits.h5", 1),
    ("fairdarts-dscd", "data/t81-none-digits.h5", 2),
])
def test_a_killed_search_resumes_to_the_same_trace(method: str, table: str, kill_after: int,
                                                   tmp_path: Path) -> None:
    whole = run_search(method, table, seed=3, device="cpu", overrides=TINY)
    ckpt = tmp_path / "x.h5.ckpt"
    with pytest.raises(Killed):
        run_search(method, table, seed=3, device="cpu", overrides=TINY, checkpoint=ckpt,
                   callback=_kill_after(kill_after))
    assert ckpt.exists()
    resumed = run_search(method, table, seed=3, device="cpu", overrides=TINY, checkpoint=ckpt)
    _same(whole, resumed)


def test_darts_ada_resumes_across_a_rollback(tmp_path: Path) -> None:
    overrides = {**TINY, "epochs": 6, "hessian_every": 1}
    params = {"every": 1, "window": 1, "lag": 1, "factor": 0.5, "start_epoch": 0}
    whole = run_search("darts-ada", "data/t81-digits.h5", seed=1, device="cpu",
                       overrides=overrides, params=params)
    assert any("rollback" in r.events for r in whole.records)  # the rule fires at once
    ckpt = tmp_path / "ada.ckpt"
    with pytest.raises(Killed):
        run_search("darts-ada", "data/t81-digits.h5", seed=1, device="cpu", overrides=overrides,
                   params=params, checkpoint=ckpt, callback=_kill_after(3))
    resumed = run_search("darts-ada", "data/t81-digits.h5", seed=1, device="cpu",
                         overrides=overrides, params=params, checkpoint=ckpt)
    _same(whole, resumed)


def test_a_checkpoint_of_another_search_is_refused(tmp_path: Path) -> None:
    ckpt = tmp_path / "x.ckpt"
    with pytest.raises(Killed):
        run_search("darts", "data/t81-digits.h5", seed=0, device="cpu", overrides=TINY,
                   checkpoint=ckpt, callback=_kill_after(1))
    with pytest.raises(BuildMismatchError, match="differs in seed"):
        run_search("darts", "data/t81-digits.h5", seed=1, device="cpu", overrides=TINY,
                   checkpoint=ckpt)
    # another thread count gives other numbers, so it is another search too
    with pytest.raises(BuildMismatchError, match="differs in search"):
        run_search("darts", "data/t81-digits.h5", seed=0, device="cpu",
                   overrides={**TINY, "threads": 2}, checkpoint=ckpt)


def test_time_limit_exits_3_and_the_same_command_finishes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.h5"
    args = ["search", "--table", "data/t81-digits.h5", "--method", "darts-es", "--out",
            str(out), "--device", "cpu", "--no-progress", "--epochs", "3", "--hessian-every",
            "1", "--set", "steps_per_epoch=3", "--set", "layers=3", "--set", "channels=4"]
    assert main([*args, "--time-limit", "0.001s"]) == EXIT_STOPPED  # over before epoch 0
    assert "stopped by the time limit" in capsys.readouterr().err
    assert not out.exists()
    assert main(args) == 0
    assert out.exists() and not checkpoint_path(out).exists()
    assert [r.epoch for r in SearchTrace.load(out).records] == [0, 1, 2]


class _Payload:
    """Unpickling this would run code."""

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (print, ("code ran",))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from nasbench_tools.exceptions import TableFormatError
    from nasbench_tools.search.checkpoint import load_checkpoint

    bad = tmp_path / "bad.ckpt"
    torch.save({"version": 2, "key": {}, "x": _Payload()}, bad)
    with pytest.raises(TableFormatError, match="cannot be read"):
        load_checkpoint(bad, {})
    assert "code ran" not in capsys.readouterr().out


def test_a_search_killed_with_sigkill_resumes_to_the_same_trace(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    import torch

    args = ["search", "--table", "data/t81-digits.h5", "--method", "darts", "--device", "cpu",
            "--no-progress", "--epochs", "6", "--hessian-every", "2", "--set",
            "steps_per_epoch=3", "--set", "layers=3", "--set", "channels=4", "--seed", "2"]
    out = tmp_path / "killed.h5"
    ckpt = checkpoint_path(out)
    proc = subprocess.Popen([sys.executable, "-m", "nasbench_tools", *args, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if ckpt.exists():
                saved = torch.load(ckpt, weights_only=True)
                if saved["loop"]["epoch"] >= 2:
                    break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert not out.exists() and ckpt.exists()  # killed mid-run, state kept
    assert main([*args, "--out", str(out)]) == 0
    whole = tmp_path / "whole.h5"
    assert main([*args, "--out", str(whole)]) == 0
    _same(SearchTrace.load(whole), SearchTrace.load(out))


def test_settings_added_to_the_key_later_leave_earlier_keys_unchanged() -> None:
    from nasbench_tools.search.checkpoint import LATER_SETTINGS, search_key
    from nasbench_tools.search.config import get_search_config

    settings = get_search_config("digits").to_dict()
    earlier = {k: v for k, v in settings.items() if k not in LATER_SETTINGS}
    assert search_key("darts", 0, "t", settings, {}) == search_key("darts", 0, "t", earlier, {})
    for changed in ({"threads": 2}, {"memory_format": "channels_last"}, {"eval_subset": 100}):
        assert search_key("darts", 0, "t", {**settings, **changed}, {}) != \
            search_key("darts", 0, "t", settings, {})
