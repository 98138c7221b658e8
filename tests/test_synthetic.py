"""Test functions and the global-optimisation benchmark: known optima, Adam stuck in the worse
basin and DSCD leaving it, exact budgets, determinism across workers, files and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from nasbench_tools.cli import main
from nasbench_tools.exceptions import ConfigError, UnknownNameError
from nasbench_tools.stats.convergence import (
    RESULT_COLUMNS,
    convergence_curves,
    evaluation_grid,
    method_summary,
    results_frame,
)
from nasbench_tools.synthetic import (
    get_function,
    get_method,
    list_methods,
    run_global_benchmark,
    run_method,
    start_point,
    wrong_basin_cost,
)

FUNCTIONS = ("styblinski-tang", "schwefel")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_values_at_the_known_optimum(name: str) -> None:
    f = get_function(name)
    for dim in (1, 5):
        value = f.minimum(dim)
        if name == "styblinski-tang":
            assert abs(value - (-39.16616570377142 * dim)) < 1e-6 * dim
            assert abs(f.optimum(dim)[0] - (-2.903534)) < 1e-6
        else:
            assert abs(value) < 1e-4 * dim and abs(f.optimum(dim)[0] - 420.9687) < 1e-4
    # numpy and torch agree, one point or a batch
    points = np.random.default_rng(0).uniform(-f.half_width, f.half_width, size=(7, 3))
    np.testing.assert_allclose(f(torch.from_numpy(points)).numpy(), f(points), rtol=1e-12)
    assert f(points).shape == (7,) and float(f(points[0])) == pytest.approx(f(points)[0])


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_optimum_is_a_local_minimum(name: str) -> None:
    f = get_function(name)
    x = torch.tensor(f.optimum(3), requires_grad=True)
    f(x).backward()
    assert x.grad is not None and float(x.grad.abs().max()) < 1e-8
    step = 1e-3 * f.half_width
    around = f.optimum(3) + step * np.concatenate([np.eye(3), -np.eye(3)])
    assert np.all(f(around) > f.minimum(3))


def test_wrong_basins_cost_more_than_the_tolerance() -> None:
    assert wrong_basin_cost(get_function("styblinski-tang")) == pytest.approx(14.137, abs=1e-2)
    assert wrong_basin_cost(get_function("schwefel")) > 100


def test_registries_reject_unknown_names() -> None:
    with pytest.raises(UnknownNameError, match="allowed: schwefel, styblinski-tang"):
        get_function("rastrigin")
    with pytest.raises(UnknownNameError, match=r"adam-r0\.1"):
        get_method("adam")
    assert {"adam-r0.1", "adam-cos-r1+dscd", "random", "cma-es"} <= set(list_methods())


def test_adam_stays_in_the_worse_basin_and_dscd_leaves_it() -> None:
    """1-d Styblinski-Tang from x0 = +2.7 (the basin of +2.75, 14.1 above the global one):
    Adam alone ends there in 10 of 10 seeds; with DSCD 10 of 10 reach the global basin."""
    x0 = np.array([2.7])
    alone = [run_method("styblinski-tang", 1, "adam-r0.1", 200, s, x0=x0) for s in range(10)]
    dscd = [run_method("styblinski-tang", 1, "adam-r0.1+dscd", 200, s, x0=x0)
            for s in range(10)]
    assert sum(r.best_point[0] < 0 for r in alone) == 0
    assert all(abs(r.final_value - (-25.0294)) < 1e-3 for r in alone)
    reached = sum(r.best_point[0] < 0 and r.best_value - r.optimum_value < 1.0 for r in dscd)
    assert reached >= 8, reached
    assert all(r.accepted >= 1 and r.local_steps + r.global_steps == 200 for r in dscd)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_method_spends_exactly_the_budget(name: str) -> None:
    f = get_function(name)
    for method in list_methods():
        run = run_method(name, 2, method, 37, seed=3)
        assert run.evals == 37 and run.best_so_far.shape == (37,), method
        assert np.all(np.diff(run.best_so_far) <= 0), method
        assert run.best_so_far[-1] == run.best_value <= run.final_value, method
        assert float(f(run.best_point)) == pytest.approx(run.best_value, rel=1e-12, abs=1e-9)
        assert np.all(np.abs(run.best_point) <= f.half_width), method
        if method.endswith("+dscd"):
            assert run.local_steps + run.global_steps == 37 and run.accepted <= run.global_steps


def test_paired_starts_and_same_seed_same_run() -> None:
    f = get_function("schwefel")
    np.testing.assert_array_equal(start_point(f, 4, 1), start_point(f, 4, 1))
    assert not np.array_equal(start_point(f, 4, 1), start_point(f, 4, 2))
    a, b = (run_method(f, 4, "adam-cos-r1+dscd", 300, seed=5) for _ in range(2))
    np.testing.assert_array_equal(a.best_so_far, b.best_so_far)
    assert (a.best_value, a.final_value, a.accepted) == (b.best_value, b.final_value, b.accepted)
    c = run_method(f, 4, "adam-r1", 1, seed=5)  # the first evaluation is at the shared start
    assert c.best_so_far[0] == pytest.approx(float(f(start_point(f, 4, 5))))
    assert a.best_so_far[0] == c.best_so_far[0]


def test_budget_and_input_checks() -> None:
    with pytest.raises(ConfigError, match="first generation"):
        run_method("schwefel", 5, "cma-es", 7, seed=0)
    with pytest.raises(ConfigError, match="dimension 0"):
        run_method("schwefel", 0, "random", 10, seed=0)
    with pytest.raises(ConfigError, match="tolerance"):
        results_frame([run_method("schwefel", 1, "random", 5, seed=0)], tolerance=0)


def test_stats_frames() -> None:
    runs = [run_method("styblinski-tang", 2, m, 500, s) for m in ("adam-r0.1", "random")
            for s in range(3)]
    results = results_frame(runs, tolerance=1.0)
    assert list(results.columns) == list(RESULT_COLUMNS) and len(results) == 6
    assert list(results["method"]) == ["adam-r0.1"] * 3 + ["random"] * 3
    assert (results["success"] == (results["regret"] < 1.0)).all()
    summary = method_summary(results)
    assert list(summary["method"]) == ["adam-r0.1", "random"]
    assert summary["success_rate"].between(0, 1).all()
    curves = convergence_curves(runs)
    assert curves.methods == ("adam-r0.1", "random") and curves.frame["evals"].max() == 500
    assert (curves.frame["q25"] <= curves.frame["median"]).all()
    assert len(evaluation_grid(5000)) <= 200 and evaluation_grid(5000)[[0, -1]].tolist() == [
        1, 5000]


def test_plot_convergence_draws_solid_and_dashed() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from nasbench_tools.plots import plot_convergence

    runs = [run_method("styblinski-tang", 1, m, 50, s)
            for m in ("adam-r0.1", "adam-r0.1+dscd") for s in range(2)]
    ax = plot_convergence(convergence_curves(runs))
    lines = ax.get_lines()
    assert [line.get_linestyle() for line in lines] == ["-", "--"]
    assert lines[0].get_color() == lines[1].get_color() and ax.get_yscale() == "log"
    assert "floor" in ax.get_ylabel()


SMALL = ["adam-r0.1", "adam-r1+dscd", "random", "cma-es"]


def test_benchmark_is_the_same_whatever_jobs(tmp_path: Path) -> None:
    one = run_global_benchmark("schwefel", 2, 40, 3, tmp_path / "one", methods=SMALL)
    two = run_global_benchmark("schwefel", 2, 40, 3, tmp_path / "two", methods=SMALL, jobs=2)
    for name in ("results.csv", "summary.csv", "curves.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert one.results.equals(two.results)
    results = pd.read_csv(tmp_path / "one" / "results.csv")
    assert {"function", "dim", "method", "seed", "best_value", "final_value",
            "distance_to_optimum", "success", "evals", "local_steps", "global_steps",
            "accepted"} <= set(results.columns)
    assert list(results["method"]) == sorted(results["method"]) and (results["evals"] == 40).all()
    with pytest.raises(ConfigError, match="not empty"):
        run_global_benchmark("schwefel", 2, 40, 3, tmp_path / "one", methods=SMALL)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_writes_the_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_dir = tmp_path / "st"
    code, out, err = _run(capsys, "bench-global", "--function", "styblinski-tang", "--dim", "2",
                          "--budget", "30", "--seeds", "2", "--out", str(out_dir),
                          "--methods", "adam-r0.1,adam-r0.1+dscd,cma-es")
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "convergence.pdf", "convergence.png", "curves.csv", "results.csv", "summary.csv"]
    assert "adam-r0.1+dscd" in out and "success" in out and "/2" in out
    assert "6/6" in err
    code, _, err = _run(capsys, "bench-global", "--function", "styblinski-tang", "--dim", "2",
                        "--budget", "30", "--seeds", "0,3", "--out", str(out_dir),
                        "--methods", "random", "--overwrite")
    assert code == 0, err
    assert sorted(pd.read_csv(out_dir / "results.csv")["seed"]) == [0, 3]


@pytest.mark.parametrize(("args", "needle"), [
    (["--function", "rastrigin"], "unknown function 'rastrigin'"),
    (["--methods", "adam-r0.1,sgd"], "unknown method 'sgd'"),
    (["--dim", "0"], "dimension 0"),
    (["--budget", "3"], "first generation"),
    (["--seeds", "0"], "seeds"),
])
def test_cli_rejects_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                               args: list[str], needle: str) -> None:
    base = {"--function": "schwefel", "--dim": "2", "--budget": "20", "--seeds": "2",
            "--out": str(tmp_path / "out")}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    code, out, err = _run(capsys, "bench-global", *[x for kv in base.items() for x in kv])
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


def test_cli_refuses_an_existing_folder(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    out_dir = tmp_path / "taken"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("mine")
    code, _, err = _run(capsys, "bench-global", "--function", "schwefel", "--dim", "2",
                        "--budget", "20", "--seeds", "1", "--out", str(out_dir))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--overwrite" in err
    assert [p.name for p in out_dir.iterdir()] == ["keep.txt"]
