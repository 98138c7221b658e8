"""The tables shipped in data/ are complete, valid and internally consistent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasbench_tools.table import Benchmark, Metric, Status
from nasbench_tools.table.validate import validate_table
from nasbench_tools.train import get_protocol

DATA = Path(__file__).resolve().parents[1] / "data"
#: file -> (space, dataset, protocol preset, number of seeds, protocol overrides)
SHIPPED: dict[str, tuple[str, str, str, int, dict[str, int]]] = {
    "t81-digits.h5": ("t81", "digits", "standard", 3, {}),
    "t81-none-digits.h5": ("t81-none", "digits", "standard", 3, {}),
    "t81-fashion.h5": ("t81", "fashion-mnist", "cpu", 3, {}),
    "t81-fashion-8k.h5": ("t81", "fashion-mnist", "cpu", 3, {"n_train": 8000, "epochs": 10}),
    "t81-cifar10-cpu.h5": ("t81", "cifar10-jpeg", "cpu", 3, {}),
    "t81-cifar10-cpu-l5.h5": ("t81", "cifar10-jpeg", "cpu", 3, {"layers": 5}),
    "t81-cifar10-cpu-l8.h5": ("t81", "cifar10-jpeg", "cpu", 3, {"layers": 8}),
}


@pytest.fixture(scope="module", params=sorted(SHIPPED))
def shipped(request: pytest.FixtureRequest) -> tuple[Path, Benchmark]:
    path = DATA / request.param
    return path, Benchmark.open(path)


def test_validates_clean(shipped: tuple[Path, Benchmark]) -> None:
    path, _ = shipped
    report = validate_table(path)
    assert report.ok, report.format()


def test_is_the_documented_protocol(shipped: tuple[Path, Benchmark]) -> None:
    path, bench = shipped
    space, dataset, preset, n_seeds, overrides = SHIPPED[path.name]
    assert bench.space.name == space and bench.dataset == dataset
    assert bench.n_archs == 81 and len(bench.seeds) == n_seeds
    assert bench.protocol == get_protocol(dataset, preset, overrides)
    assert (bench.data.status == Status.DONE).all()


def test_best_has_zero_regret(shipped: tuple[Path, Benchmark]) -> None:
    _, bench = shipped
    for metric in (Metric.TEST_ERR, Metric.VALID_ERR):
        best = bench.best(metric)
        assert bench.regret(best, metric) == 0.0
        regrets = np.asarray(bench.regret(np.arange(81), metric))
        assert (regrets >= 0).all() and np.isclose(regrets.min(), 0.0)


def test_compare_tables_script_reports_the_seed_mean_tau() -> None:
    import subprocess
    import sys

    from scipy import stats

    a, b = DATA / "t81-digits.h5", DATA / "t81-fashion.h5"
    script = Path(__file__).resolve().parents[1] / "analysis" / "compare_tables.py"
    out = subprocess.run([sys.executable, str(script), str(a), str(b), "--boot", "50"],
                         check=True, capture_output=True, text=True).stdout
    ids = np.arange(81)
    tau = stats.kendalltau(np.asarray(Benchmark.open(a).query(ids, Metric.TEST_ERR)),
                           np.asarray(Benchmark.open(b).query(ids, Metric.TEST_ERR))).statistic
    assert f"Kendall tau {tau:.3f} [" in out


def test_table_report_script_reports_the_recorded_facts(tmp_path: Path) -> None:
    import subprocess
    import sys

    from scipy import stats

    path = DATA / "t81-fashion-8k.h5"
    script = Path(__file__).resolve().parents[1] / "analysis" / "table_report.py"
    out = subprocess.run([sys.executable, str(script), str(path)], check=True,
                         capture_output=True, text=True).stdout
    bench, ids = Benchmark.open(path), np.arange(81)
    err = np.asarray(bench.query(ids, Metric.TEST_ERR))
    valid = np.asarray(bench.query(ids, Metric.VALID_ERR))
    first = np.asarray(bench.query(ids, Metric.TEST_ERR, epoch=0))
    assert f"best arch {bench.best()}:" in out
    assert f"same runs: tau {stats.kendalltau(valid, err).statistic:.3f}" in out
    assert f"(e: tau): 1: {stats.kendalltau(first, err).statistic:.3f}," in out
    space = bench.space  # t81 edges: two of the normal cell, then two of the reduction cell
    ops = [space.op_names(space.arch(i)) for i in ids]
    both_free = [not any(o == "sep_conv_3x3" for o in names[2:]) for names in ops]
    normal_sep = [all(o == "sep_conv_3x3" for o in names[:2]) for names in ops]
    mask = np.array(both_free) & np.array(normal_sep)
    assert f"; 0, 2: {err[mask].mean():.2f}" in out


def test_param_free_plot_script_draws_one_panel_per_table(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "analysis" / "plot_param_free.py"
    out = tmp_path / "pf.png"
    tables = [str(DATA / "t81-digits.h5"), str(DATA / "t81-fashion.h5")]
    subprocess.run([sys.executable, str(script), *tables, "--out", str(out)], check=True,
                   capture_output=True)
    head = out.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert width > 1.5 * height  # two panels side by side


def test_budget_probe_retrains_under_the_longer_protocol_and_resumes(tmp_path: Path) -> None:
    import subprocess
    import sys
    from dataclasses import replace

    from conftest import tiny4_space
    from scipy.stats import kendalltau

    from nasbench_tools.build import build_table
    from nasbench_tools.build.journal import Journal
    from nasbench_tools.build.probe import probe_header
    from nasbench_tools.stats import ProbeResult, param_free_counts, probe_report
    from nasbench_tools.train import get_protocol
    from nasbench_tools.train.task import Task
    from nasbench_tools.train.trainer import train_group

    protocol = get_protocol("digits", "quick", {"epochs": 2, "layers": 2, "channels": 4})
    table = tmp_path / "t.h5"
    build_table(tiny4_space(), protocol, (0, 1), table, device="cpu", progress=False)
    script = Path(__file__).resolve().parents[1] / "analysis" / "budget_probe.py"
    out = tmp_path / "probe.journal"
    cmd = [sys.executable, str(script), str(table), "--archs", "3,0,2", "--epochs", "3",
           "--seed", "1", "--jobs", "2", "--out", str(out)]
    first = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    bench, space = Benchmark.open(table), tiny4_space()
    longer = replace(bench.protocol, epochs=3)
    with Journal.open(out, probe_header(bench, longer, 1)) as journal:  # the same header
        runs = {arch: r for (arch, _), r in journal.results.items()}
    assert sorted(runs) == [0, 2, 3] and "training 3 (3 epochs, seed 1)" in first
    for arch, r in runs.items():  # the probe's run is the longer protocol's, number for number
        (own,) = train_group([Task(arch, 1)], space, longer)  # as the builder trains
        assert r.epochs == 3 and r.status == Status.DONE
        assert r.same_numbers(own)
    report = probe_report(ProbeResult.from_runs(bench, [runs[a] for a in (3, 0, 2)]),
                          rng=np.random.default_rng(0))
    probe = report.probe
    assert probe.ids == (3, 0, 2) and probe.seed == 1 and probe.epochs == 3
    np.testing.assert_array_equal(probe.table_err, bench.query([3, 0, 2], Metric.TEST_ERR, seed=1))
    gains = []  # table error minus the longer run's, in the order 3, 0, 2
    for i, arch in enumerate((3, 0, 2)):
        table_err = float(bench.query(arch, Metric.TEST_ERR, seed=1))
        long_err = 100 * (1 - float(runs[arch].metrics[Metric.TEST_ACC][-1]))
        assert f"{arch:>5} {table_err:8.2f}" in first and f"{long_err:8.2f}" in first
        assert probe.long_err[i] == pytest.approx(long_err, rel=0, abs=1e-9)
        gains.append(table_err - long_err)
    np.testing.assert_allclose(report.gain, gains, rtol=0, atol=1e-9)
    tau = kendalltau(param_free_counts(bench)[[3, 0, 2]], gains).statistic
    assert report.gain_tau == pytest.approx(tau, nan_ok=True)
    assert "\n" + report.format() + "\n" in first  # the script prints this report
    assert f"parameter-free ops: Kendall tau {tau:.3f}" in first
    png = tmp_path / "probe.png"
    stored = out.read_bytes()
    again = subprocess.run([*cmd, "--plot", str(png)], check=True, capture_output=True,
                           text=True).stdout
    assert "3 of 3 runs already" in again and "training 0" in again
    assert "\n" + report.format() + "\n" in again  # the same values from the journal
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the figure, from the stored runs
    assert out.read_bytes() == stored  # nothing trained twice
    seed0 = [sys.executable, str(script), str(table), "--archs", "3,0,2", "--epochs", "3",
             "--seed", "0", "--out", str(out)]  # seed 0 into seed 1's journal: refused
    other = subprocess.run(seed0, capture_output=True, text=True)
    assert other.returncode == 2 and other.stderr.count("\n") == 1
    assert other.stderr.startswith("budget_probe: error: ") and "different seeds" in other.stderr
    assert out.read_bytes() == stored


#: script -> its arguments, with {bad} for the file it is to reject and {out} for a figure
SCRIPT_ARGS = {
    "compare_tables.py": ["{bad}", str(DATA / "t81-digits.h5")],
    "table_report.py": [str(DATA / "t81-digits.h5"), "{bad}"],
    "plot_param_free.py": ["{bad}", "--out", "{out}"],
    "plot_trace.py": ["{bad}", "{out}"],
    "budget_probe.py": ["{bad}", "--archs", "0,1,2", "--epochs", "30", "--out", "{out}"],
    "discrete_check.py": ["--table", "{bad}", "--epochs", "0", "--out", "{out}"],
}


@pytest.mark.parametrize("script", sorted(SCRIPT_ARGS))
@pytest.mark.parametrize("kind", ["missing", "not-hdf5"])
def test_analysis_scripts_reject_bad_input_in_one_line(script: str, kind: str,
                                                       tmp_path: Path) -> None:
    import subprocess
    import sys

    bad, out = tmp_path / "bad.h5", tmp_path / "fig.png"
    if kind == "not-hdf5":
        bad.write_text("arch,err\n0,0.5\n")
    args = [a.format(bad=bad, out=out) for a in SCRIPT_ARGS[script]]
    path = Path(__file__).resolve().parents[1] / "analysis" / script
    run = subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and str(bad) in run.stderr
    assert run.stderr.startswith(f"{script.removesuffix('.py')}: error: ")
    assert "Traceback" not in run.stderr and not out.exists()


JPEG_TABLES = sorted(name for name, spec in SHIPPED.items() if spec[1] == "cifar10-jpeg")


@pytest.mark.parametrize("name", JPEG_TABLES)
def test_jpeg_cifar10_tables_carry_the_data_note(name: str) -> None:
    import h5py

    with h5py.File(DATA / name, "r") as f:
        assert f.attrs["dataset"] == "cifar10-jpeg"
        assert str(f.attrs["data_note"]).startswith("JPEG re-encoding of CIFAR-10")


def test_every_shipped_table_is_listed() -> None:
    on_disk = {p.name for p in DATA.glob("*.h5")}
    assert on_disk == set(SHIPPED), on_disk ^ set(SHIPPED)


#: The CPU kernels each shipped digits table was built with (measured: with other kernels the
#: first epoch already differs in the fifth digit, and the runs drift apart from there).
BUILT_WITH = {"t81-digits.h5": ("avx2", 45, 1), "t81-none-digits.h5": ("avx2", 7, 2)}


@pytest.mark.parametrize("name", sorted(BUILT_WITH))
def test_shipped_digits_runs_retrain_bit_for_bit(name: str) -> None:
    """Retrain one run of a shipped digits table under its stored protocol, with the CPU
    kernels it was built with, and compare every stored curve exactly."""
    import json
    import os
    import subprocess
    import sys

    capability, arch, seed = BUILT_WITH[name]
    code = (
        "import json, sys, numpy as np, torch\n"
        "from nasbench_tools.table import Benchmark\n"
        "from nasbench_tools.train.task import Task\n"
        "from nasbench_tools.train.trainer import train_group\n"
        f"b = Benchmark.open({str(DATA / name)!r})\n"
        f"(r,) = train_group([Task({arch}, {seed})], b.space, b.protocol)\n"
        "print(json.dumps({'cap': torch.backends.cpu.get_cpu_capability(), 'm': {m.value: "
        "np.asarray(v, dtype=np.float32).tolist() for m, v in r.metrics.items()}}))\n")
    env = {**os.environ, "ATEN_CPU_CAPABILITY": capability,
           "ONEDNN_MAX_CPU_ISA": capability.upper()}  # ATen's and oneDNN's kernels
    out = json.loads(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                    capture_output=True, text=True).stdout)
    if out["cap"].lower() != capability:
        pytest.skip(f"this CPU cannot run the {capability} kernels the table was built with")
    bench = Benchmark.open(DATA / name)
    k = bench.seeds.index(seed)
    for metric, values in out["m"].items():
        if Metric(metric).deterministic:
            stored = np.asarray(bench.data.metrics[Metric(metric)][arch, k])
            np.testing.assert_array_equal(np.asarray(values, dtype=np.float32), stored,
                                          err_msg=metric)
