"""The builder: determinism across back ends, shards + merge, resume after SIGKILL, locking."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny4_space

from nasbench_tools.build import build_table, merge_tables, parse_shard
from nasbench_tools.build.journal import Journal
from nasbench_tools.build.lock import output_lock
from nasbench_tools.exceptions import BuildLockedError, BuildMismatchError
from nasbench_tools.table import Benchmark
from nasbench_tools.table.data import TableData
from nasbench_tools.table.hdf5 import read_table
from nasbench_tools.table.schema import STORED_METRICS, Metric, Status
from nasbench_tools.table.validate import validate_table
from nasbench_tools.train import get_protocol

SEEDS = (0, 1)
PROTOCOL = get_protocol("digits", "quick", {"epochs": 2, "layers": 2, "channels": 4})


def build(out: Path, **kw: object) -> TableData:
    build_table(tiny4_space(), PROTOCOL, SEEDS, out, device="cpu", progress=False, **kw)  # type: ignore[arg-type]
    return read_table(out)


def assert_same_numbers(a: TableData, b: TableData) -> None:
    np.testing.assert_array_equal(a.status, b.status)
    for m in STORED_METRICS:
        if m.deterministic:  # bit-identical, NaN where either is NaN
            assert np.array_equal(a.metrics[m], b.metrics[m], equal_nan=True), m


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> TableData:
    return build(tmp_path_factory.mktemp("ref") / "ref.h5", jobs=1)


def test_reference_build_is_complete_and_valid(reference: TableData, tmp_path: Path) -> None:
    assert (reference.status == Status.DONE).all()
    assert validate_table(reference).ok


def test_two_workers_equal_one(reference: TableData, tmp_path: Path) -> None:
    assert_same_numbers(reference, build(tmp_path / "j2.h5", jobs=2))


def test_dask_local_cluster_equals_one_worker(reference: TableData, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        table = build(tmp_path / "dask.h5", scheduler=cluster.scheduler_address)
    assert_same_numbers(reference, table)


def test_shards_merge_to_the_one_shot_build(reference: TableData, tmp_path: Path) -> None:
    parts = [tmp_path / f"s{i}.h5" for i in range(2)]
    for i, p in enumerate(parts):
        shard = build(p, shard=parse_shard(f"{i}/2"))
        assert (shard.status == Status.DONE).sum() == 4  # half of 4 archs x 2 seeds
    merged = merge_tables(parts, tmp_path / "merged.h5")
    assert_same_numbers(reference, merged)
    assert_same_numbers(reference, read_table(tmp_path / "merged.h5"))


def test_tables_of_other_seeds_merge_to_the_one_shot_build(reference: TableData,
                                                           tmp_path: Path) -> None:
    """Seed 1 built later than seed 0: merged, they are the two-seed build, seeds sorted."""
    parts = [tmp_path / "s1.h5", tmp_path / "s0.h5"]
    for seed, p in zip((1, 0), parts, strict=True):
        build_table(tiny4_space(), PROTOCOL, (seed,), p, device="cpu", progress=False)
    merged = merge_tables(parts, tmp_path / "merged.h5")
    assert merged.seeds == SEEDS
    assert_same_numbers(reference, read_table(tmp_path / "merged.h5"))
    assert validate_table(tmp_path / "merged.h5").ok


def test_rerun_trains_nothing(tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    build(out)
    summary = build_table(tiny4_space(), PROTOCOL, SEEDS, out, device="cpu", progress=False)
    assert (summary.computed, summary.resumed, summary.done) == (0, 8, 8)


def test_deleted_journal_is_rebuilt_from_the_table(tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    first = build(out)
    Path(f"{out}.journal").unlink()
    summary = build_table(tiny4_space(), PROTOCOL, SEEDS, out, device="cpu", progress=False)
    assert summary.computed == 0
    assert_same_numbers(first, read_table(out))


def test_mismatching_output_is_refused_and_untouched(tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    build(out)
    before = out.read_bytes()
    other = get_protocol("digits", "quick", {"epochs": 1, "layers": 2, "channels": 4})
    with pytest.raises(BuildMismatchError, match="protocol"):
        build_table(tiny4_space(), other, SEEDS, out, device="cpu", progress=False)
    with pytest.raises(BuildMismatchError, match="seeds"):
        build_table(tiny4_space(), PROTOCOL, (0, 1, 2), out, device="cpu", progress=False)
    assert out.read_bytes() == before


def test_a_held_lock_stops_a_second_builder(tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    with output_lock(out), pytest.raises(BuildLockedError, match="another build"):
        build(out)


def test_torn_journal_line_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    Journal.open(path, {"x": 1}).close()
    with open(path, "a") as f:
        f.write('{"type": "start", "arch": 0, "se')  # a kill in the middle of a write
    journal = Journal.open(path, {"x": 1})
    journal.close()
    assert journal.events == []
    assert path.read_text().count("\n") == 1
    with pytest.raises(BuildMismatchError, match="x"):
        Journal.open(path, {"x": 2})


def _cli_build(out: Path, fuse: str = "1") -> list[str]:
    return [sys.executable, "-m", "nasbench_tools.cli", "build-table", "--space", "t16",
            "--preset", "quick", "--set", "epochs=2", "--set", "layers=2", "--set", "channels=4",
            "--seeds", "0", "--jobs", "1", "--device", "cpu", "--no-progress", "--fuse", fuse,
            "--out", str(out)]


def _results(journal: Path) -> list[tuple[int, int]]:
    lines = [json.loads(x) for x in journal.read_text().splitlines()[1:] if x.endswith("}")]
    return [(r["arch"], r["seed"]) for r in lines if r["type"] == "result"]


@pytest.mark.parametrize("fuse", ["1", "4"])
def test_sigkill_then_resume_equals_uninterrupted(tmp_path: Path, fuse: str) -> None:
    """Unfused, and fused in groups of 4 (results reach the journal a group at a time)."""
    killed, clean = tmp_path / "killed.h5", tmp_path / "clean.h5"
    journal = Path(f"{killed}.journal")
    proc = subprocess.Popen(_cli_build(killed, fuse), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and len(_results(journal)) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not killed.exists()  # the table is only written at the end
    done_before = _results(journal)
    assert 3 <= len(done_before) < 16
    subprocess.run(_cli_build(killed, fuse), check=True, capture_output=True)
    subprocess.run(_cli_build(clean, fuse), check=True, capture_output=True)
    after = _results(journal)
    assert len(after) == len(set(after)) == 16  # no finished run was trained twice
    assert after[: len(done_before)] == done_before
    assert_same_numbers(read_table(killed), read_table(clean))
    assert validate_table(killed).ok


def test_fused_build_is_valid_and_equals_the_unfused_one(tmp_path: Path) -> None:
    # In fp64 the fused and the separate trainer agree to float rounding after every SGD
    # step; in fp32 that rounding grows over the 32 steps of this build into differences of
    # a few per cent that depend on the CPU's kernels, which would hide a real mismatch.
    protocol = replace(PROTOCOL, precision="fp64")
    unfused = tmp_path / "unfused.h5"
    build_table(tiny4_space(), protocol, SEEDS, unfused, device="cpu", progress=False)
    fused = tmp_path / "fused.h5"  # groups of 3, 2, 3, 2 (tasks of one seed)
    build_table(tiny4_space(), protocol, SEEDS, fused, device="cpu", progress=False, fuse=3)
    assert validate_table(fused).ok
    a, b = read_table(fused), read_table(unfused)
    np.testing.assert_array_equal(a.status, b.status)
    assert (a.status == Status.DONE).all()
    for m in STORED_METRICS:
        if m.deterministic:  # stored as float32: equal up to its last bit
            np.testing.assert_allclose(a.metrics[m], b.metrics[m], rtol=1e-6, atol=0, err_msg=m)


def test_fp64_build_is_a_table_of_its_own(reference: TableData, tmp_path: Path) -> None:
    out = tmp_path / "fp64.h5"
    build_table(tiny4_space(), replace(PROTOCOL, precision="fp64"), SEEDS, out, device="cpu",
                progress=False)
    fp64 = read_table(out)
    assert fp64.protocol_record["precision"] == "fp64"
    loss = fp64.metrics[Metric.TRAIN_LOSS]
    # the same weights and batches as the fp32 reference: close at first, never bit-equal
    np.testing.assert_allclose(loss[..., 0], reference.metrics[Metric.TRAIN_LOSS][..., 0],
                               rtol=1e-3)
    assert not np.array_equal(loss, reference.metrics[Metric.TRAIN_LOSS])
    with pytest.raises(BuildMismatchError):  # resuming it as fp32 is refused
        build_table(tiny4_space(), PROTOCOL, SEEDS, out, device="cpu", progress=False)


def test_status_moves_pending_running_done(tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    build(out)
    journal = Journal.open(f"{out}.journal", json.loads(
        Path(f"{out}.journal").read_text().splitlines()[0]))
    journal.close()
    for key in {(a, s) for _, a, s in journal.events}:
        kinds = [k for k, a, s in journal.events if (a, s) == key]
        assert kinds == ["start", "result"]


def test_a_killed_fused_group_resumes_from_its_last_epoch(tmp_path: Path) -> None:
    """One fused group of all 16 archs, 3 epochs: killed once its checkpoint holds epoch 1,
    the resumed build goes on from there (its stored epoch-0 times are the killed run's) and
    equals an uninterrupted build bit for bit; the checkpoints are gone afterwards."""
    import torch

    killed, clean = tmp_path / "killed.h5", tmp_path / "clean.h5"
    argv = [*_cli_build(killed, "16"), "--set", "epochs=3"]
    ckpt_dir = Path(f"{killed}.ckpt")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if ckpt_dir.exists() and any(ckpt_dir.glob("*.pt")):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    (ckpt,) = ckpt_dir.glob("*.pt")
    saved = torch.load(ckpt, weights_only=True)
    assert saved["epoch"] == 1 and not _results(Path(f"{killed}.journal"))
    subprocess.run(argv, check=True, capture_output=True)
    subprocess.run([*_cli_build(clean, "16"), "--set", "epochs=3"], check=True,
                   capture_output=True)
    a, b = read_table(killed), read_table(clean)
    assert_same_numbers(a, b)
    times = a.metrics[Metric.EPOCH_TIME]
    for i, (arch, _) in enumerate(saved["key"]["tasks"]):
        assert times[arch, 0, 0] == saved["curves"][i]["epoch_time"][0]
    assert not ckpt_dir.exists() and validate_table(killed).ok


def test_a_time_limited_build_goes_on_where_it_stopped(reference: TableData,
                                                       tmp_path: Path) -> None:
    """No run starts after the limit; nothing is lost, and the next call completes the build
    with the numbers of an uninterrupted one."""
    out = tmp_path / "t.h5"
    first = build_table(tiny4_space(), PROTOCOL, SEEDS, out, device="cpu", progress=False,
                        time_limit=1e-6)  # passes before the first run can start
    assert first.stopped and (first.done, first.left) == (0, 8)
    assert (read_table(out).status == Status.RUNNING).all()  # handed out, not finished
    second = build_table(tiny4_space(), PROTOCOL, SEEDS, out, device="cpu", progress=False)
    assert not second.stopped and second.done == 8
    assert_same_numbers(reference, read_table(out))


def test_a_build_of_an_older_version_resumes(reference: TableData, tmp_path: Path) -> None:
    """A journal and table written before a protocol field existed (here ``precision``) hold
    the same protocol: resuming them is not refused, and the result is the uninterrupted one."""
    import h5py

    out = tmp_path / "t.h5"
    build_table(tiny4_space(), PROTOCOL, SEEDS, out, device="cpu", progress=False,
                time_limit=1e-6)
    journal = Path(f"{out}.journal")
    lines = journal.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    del header["protocol"]["precision"]
    journal.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    with h5py.File(out, "r+") as f:
        stored = json.loads(f.attrs["protocol"])
        del stored["precision"]
        f.attrs["protocol"] = json.dumps(stored)
    assert build_table(tiny4_space(), PROTOCOL, SEEDS, out, device="cpu",
                       progress=False).done == 8
    assert_same_numbers(reference, read_table(out))


def test_a_time_limited_fused_build_stops_between_epochs(tmp_path: Path) -> None:
    """One fused group of 4 archs, 6 epochs, a limit of half its measured training time: the
    first call stops mid-group with its epochs in the checkpoint, and calling again until done
    gives the numbers of an uninterrupted build bit for bit."""
    protocol = get_protocol("digits", "quick", {"epochs": 6, "layers": 2, "channels": 4})
    kw: dict[str, object] = {"device": "cpu", "progress": False, "fuse": 4}
    build_table(tiny4_space(), protocol, (0,), tmp_path / "clean.h5", **kw)  # type: ignore[arg-type]
    clean = read_table(tmp_path / "clean.h5")
    limit = 0.5 * float(clean.metrics[Metric.EPOCH_TIME].sum())  # per-model shares of the group
    out, ckpt = tmp_path / "t.h5", Path(f"{tmp_path / 't.h5'}.ckpt")
    calls = [build_table(tiny4_space(), protocol, (0,), out, time_limit=limit, **kw)]  # type: ignore[arg-type]
    assert calls[0].stopped and calls[0].done == 0 and len(list(ckpt.glob("*.pt"))) == 1
    while calls[-1].stopped and len(calls) < 12:
        calls.append(build_table(tiny4_space(), protocol, (0,), out, time_limit=limit, **kw))  # type: ignore[arg-type]
    assert not calls[-1].stopped, "no progress across calls"
    assert_same_numbers(clean, read_table(out))
    assert not ckpt.exists() and validate_table(out).ok


class _RunsCode:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (print, ("code ran",))


def test_a_fused_checkpoint_that_would_run_code_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from nasbench_tools.exceptions import TableFormatError
    from nasbench_tools.train import get_protocol
    from nasbench_tools.train.checkpoint import FitCheckpoint

    path = tmp_path / "group.pt"
    torch.save({"key": {}, "payload": _RunsCode()}, path)
    ckpt = FitCheckpoint(path, [], get_protocol("digits", "quick"), torch.device("cpu"))
    with pytest.raises(TableFormatError, match="cannot be read"):
        ckpt.restore(None, None, None, [], {})  # type: ignore[arg-type]
    assert "code ran" not in capsys.readouterr().out


def test_a_reworded_space_description_still_resumes_and_merges(tmp_path: Path) -> None:
    """A space's description is words for people: a table built before it was reworded still
    resumes and merges (identity = edges, ops, nodes, multiplier, shared, name)."""
    import dataclasses as dc

    from nasbench_tools.build import merge_tables
    from nasbench_tools.spaces import get_space
    from nasbench_tools.table.hdf5 import read_table, write_table

    table = read_table("data/t81-digits.h5")
    old = dc.replace(table, space=dc.replace(table.space, description="an older wording"))
    write_table(old, tmp_path / "old.h5")
    assert read_table(tmp_path / "old.h5").space == get_space("t81")
    merged = merge_tables([tmp_path / "old.h5", "data/t81-digits.h5"], tmp_path / "m.h5")
    assert merged.seeds == table.seeds
    from nasbench_tools.build.builder import _check_existing_output
    from nasbench_tools.build.compile import output_header
    from nasbench_tools.build.plan import parse_shard
    header = output_header(get_space("t81"), Benchmark(table).protocol, table.seeds,
                           parse_shard(None))
    _check_existing_output(tmp_path / "old.h5", header)  # no BuildMismatchError
