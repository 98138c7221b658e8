"""The command line: subcommands work, and bad input gives one line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest
from conftest import SYNTHETIC_BEST, synthetic_t81_data

from nasbench_tools.cli import main
from nasbench_tools.table.hdf5 import write_table


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "t81.h5"
    write_table(synthetic_t81_data(), path)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_spaces_lists_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "spaces")
    assert code == 0
    for name in ("t81", "t81-none", "t16", "t256"):
        assert name in out


def test_info_and_query(capsys: pytest.CaptureFixture[str], table: Path) -> None:
    code, out, _ = run(capsys, "info", str(table))
    assert code == 0 and f"best arch {SYNTHETIC_BEST}" in out and "protocol:" in out
    code, out, _ = run(capsys, "query", str(table), str(SYNTHETIC_BEST))
    assert code == 0 and "regret   0.000" in out
    code, out, _ = run(capsys, "validate", str(table))
    assert code == 0 and "OK" in out


def test_query_by_genotype(capsys: pytest.CaptureFixture[str], table: Path) -> None:
    from nasbench_tools.spaces import get_space

    space = get_space("t81")
    code, out, _ = run(capsys, "query", str(table), space.genotype(space.arch(7)))
    assert code == 0 and out.startswith("arch 7:")


@pytest.mark.parametrize(
    "argv,needles",
    [
        (["build-table", "--space", "t99"], ["unknown space 't99'", "t81"]),
        (["build-table", "--dataset", "mnist"], ["unknown dataset 'mnist'", "digits"]),
        (["build-table", "--preset", "huge"], ["'huge'", "quick", "standard"]),
        (["build-table", "--shard", "3/2"], ["malformed shard '3/2'", "i/n"]),
        (["build-table", "--shard", "a"], ["malformed shard"]),
        (["build-table", "--seeds", "x"], ["malformed seeds"]),
        (["build-table", "--set", "epochs"], ["key=value"]),
        (["build-table", "--set", "epochz=3"], ["unknown setting 'epochz'", "epochs"]),
        (["build-table", "--device", "tpu"], ["unknown device 'tpu'", "cpu"]),
        (["build-table", "--dataset", "fashion-mnist", "--data-root", "/no/such/dir"],
         ["/no/such/dir"]),
        (["build-table", "--device", "cpu", "--fuse", "4", "--compile", "fast"],
         ["unknown compile mode 'fast'", "max-autotune"]),
        (["build-table", "--device", "cpu", "--compile", "default"],
         ["--compile default needs a fused build", "--fuse"]),
        (["build-table", "--time-limit", "soon"], ["malformed duration 'soon'", "50m"]),
        (["build-table", "--time-limit", "0"], ["malformed duration '0'", "positive"]),
        (["build-table", "--set", "precision=fp16"], ["precision='fp16'", "fp32, bf16"]),
    ],
)
def test_bad_build_input(capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str],
                         needles: list[str]) -> None:
    out = tmp_path / "never.h5"
    code, _, err = run(capsys, *argv, "--out", str(out), "--no-progress")
    assert_one_line_error(code, err, *needles)
    assert not out.exists() and not Path(f"{out}.journal").exists()


def test_time_limited_build_exits_3_and_says_how_to_go_on(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    argv = ["build-table", "--space", "t16", "--preset", "quick", "--set", "epochs=1", "--set",
            "layers=2", "--set", "channels=4", "--seeds", "0", "--device", "cpu", "--fuse", "1",
            "--no-progress", "--out", str(out)]
    code, text, _ = run(capsys, *argv, "--time-limit", "0.000001")  # past before any run starts
    assert code == 3
    assert "stopped at the time limit with 16 runs left: run the same command again" in text
    code, text, _ = run(capsys, *argv)
    assert code == 0 and "16 done, 0 failed of 16 runs (0 from the journal, 16 trained)" in text


def test_fused_build_logs_each_epoch_of_each_group(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    code, text, err = run(capsys, "build-table", "--space", "t16", "--preset", "quick", "--set",
                          "epochs=2", "--set", "layers=2", "--set", "channels=4", "--seeds", "0",
                          "--device", "cpu", "--fuse", "8", "--no-progress",
                          "--out", str(tmp_path / "f.h5"))
    assert code == 0 and "16 done" in text
    lines = [line for line in err.splitlines() if "fused group" in line]
    assert [line.split(": ", 1)[1].split(" in ")[0] for line in lines] == \
        ["epoch 1/2", "epoch 2/2"] * 2  # two groups of 8, in turn
    assert all("fused group of 8 (seed 0)" in line and "model-images/s" in line
               for line in lines)


def test_unknown_op_in_a_space_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    space = tmp_path / "bad.toml"
    space.write_text('name = "bad"\nops = ["skip_connect", "conv_9x9"]\n')
    code, _, err = run(capsys, "build-table", "--space", str(space), "--out",
                       str(tmp_path / "x.h5"))
    assert_one_line_error(code, err, "unknown op 'conv_9x9'", "sep_conv_3x3")


def test_missing_fashion_data(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASBENCH_FASHION_MNIST", str(tmp_path / "nowhere"))
    code, _, err = run(capsys, "build-table", "--dataset", "fashion-mnist", "--preset", "quick",
                       "--device", "cpu", "--no-progress", "--out", str(tmp_path / "f.h5"))
    assert_one_line_error(code, err, "nowhere")


@pytest.mark.parametrize("command", ["info", "query"])
def test_unreadable_tables(capsys: pytest.CaptureFixture[str], tmp_path: Path, table: Path,
                           command: str) -> None:
    extra = ["0"] if command == "query" else []
    text = tmp_path / "notes.h5"
    text.write_text("not a table")
    code, _, err = run(capsys, command, str(text), *extra)
    assert_one_line_error(code, err, "notes.h5")
    truncated = tmp_path / "cut.h5"
    truncated.write_bytes(table.read_bytes()[: table.stat().st_size // 2])
    code, _, err = run(capsys, command, str(truncated), *extra)
    assert_one_line_error(code, err, "cut.h5")
    code, _, err = run(capsys, command, str(tmp_path / "absent.h5"), *extra)
    assert_one_line_error(code, err, "absent.h5")


def test_wrong_schema_version(capsys: pytest.CaptureFixture[str], table: Path) -> None:
    with h5py.File(table, "r+") as f:
        f.attrs["schema_version"] = 99
    code, _, err = run(capsys, "info", str(table))
    assert_one_line_error(code, err, "99", "1")


def test_query_outside_the_space(capsys: pytest.CaptureFixture[str], table: Path) -> None:
    code, _, err = run(capsys, "query", str(table), "81")
    assert_one_line_error(code, err, "81", "0..80")


def test_build_over_a_foreign_or_broken_output(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path, table: Path) -> None:
    before = table.read_bytes()
    code, _, err = run(capsys, "build-table", "--space", "t16", "--preset", "quick",
                       "--no-progress", "--out", str(table))
    assert_one_line_error(code, err, "different", "space")
    assert table.read_bytes() == before
    broken = tmp_path / "broken.h5"
    broken.write_bytes(before[:1000])
    code, _, err = run(capsys, "build-table", "--preset", "quick", "--no-progress",
                       "--out", str(broken))
    assert_one_line_error(code, err, "broken.h5")
    assert broken.read_bytes() == before[:1000]


def test_validate_reports_problems_with_exit_1(capsys: pytest.CaptureFixture[str],
                                               table: Path) -> None:
    with h5py.File(table, "r+") as f:
        f["metrics/test_acc"][0, 0, -1] = 2.0
    code, out, _ = run(capsys, "validate", str(table))
    assert code == 1 and "test_acc" in out


def test_merge_needs_compatible_inputs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                       table: Path) -> None:
    other = tmp_path / "other.h5"
    write_table(synthetic_t81_data(seeds=(5,), epochs=3), other)
    code, _, err = run(capsys, "merge", str(table), str(other), "--out", str(tmp_path / "m.h5"))
    assert_one_line_error(code, err, "other.h5", "epochs")
    assert not (tmp_path / "m.h5").exists()
