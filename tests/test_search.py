"""The search engine on a tiny digits configuration (a few seconds per run on one core)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import synthetic_t81_data

from nasbench_tools.exceptions import BuildMismatchError
from nasbench_tools.search.batches import BatchStream
from nasbench_tools.search.config import get_search_config
from nasbench_tools.search.engine import SupernetRunner, run_search
from nasbench_tools.search.strategies import make_strategy
from nasbench_tools.search.trace import EpochRecord, SearchTrace
from nasbench_tools.table import Benchmark
from nasbench_tools.train import get_protocol

#: 3 epochs of 4 steps on a 3-cell, 4-channel supernet
TINY = {"epochs": 3, "steps_per_epoch": 4, "batch_size": 32, "layers": 3, "channels": 4,
        "bn_recalibration": 2}
TIMES = ("wall_time", "analysis_time")


def digits_bench(attrs: dict[str, str] | None = None) -> Benchmark:
    """The synthetic t81 table, presented as a digits table (its protocol drives the data)."""
    data = synthetic_t81_data()
    protocol = get_protocol("digits", "quick").to_dict()
    return Benchmark(dataclasses.replace(data, dataset="digits", protocol_record=protocol,
                                         attrs=attrs or {}))


@pytest.fixture(scope="module")
def bench() -> Benchmark:
    return digits_bench()


@pytest.fixture(scope="module")
def trace(bench: Benchmark) -> SearchTrace:
    return run_search("darts", bench, seed=0, device="cpu", overrides=TINY)


def _same(a: EpochRecord, b: EpochRecord) -> bool:
    for f in dataclasses.fields(EpochRecord):
        if f.name in TIMES:
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not np.array_equal(x, y):
                return False
        elif x != y and not (isinstance(x, float) and math.isnan(x) and math.isnan(y)):
            return False
    return True


FAIR_ONLY = ("threshold_test_err", "threshold_regret", "sigma_normal", "sigma_reduce", "d01")


def test_every_field_is_recorded_every_epoch(trace: SearchTrace, bench: Benchmark) -> None:
    assert [r.epoch for r in trace.records] == [0, 1, 2]
    for r in trace.records:
        for f in dataclasses.fields(EpochRecord):
            value = getattr(r, f.name)
            if f.name in ("lambda_ci_low", "lambda_ci_high", "events") or f.name in FAIR_ONLY:
                continue  # one Hessian batch: no interval; plain DARTS logs no events and
                # has no sigmoid readings (tests/test_fairdarts.py checks those)
            if isinstance(value, float):
                assert math.isfinite(value), f.name
        assert r.spectrum is not None and r.spectrum.shape == (12,)
        assert r.lambda_max == pytest.approx(r.spectrum[-1])
        assert r.arch == bench.space.resolve(r.genotype)
        assert r.test_err == pytest.approx(bench.query(r.arch, "test_err"))
        assert r.test_regret == pytest.approx(bench.regret(r.arch)) and r.test_regret >= 0
        assert r.alpha_updates == 4 and r.alphas.shape == (12,)
    assert trace.config["search"]["steps_per_epoch"] == 4


def test_softmax_null_space_shows_in_the_spectrum(trace: SearchTrace) -> None:
    """Shifting all logits of an edge changes nothing: >= 4 eigenvalues equal lambda_alpha."""
    spectrum = trace.records[-1].spectrum
    assert spectrum is not None
    assert int(np.sum(np.abs(spectrum - 1e-3) < 1e-6)) >= 4


def test_same_seed_same_trace(trace: SearchTrace, bench: Benchmark) -> None:
    again = run_search("darts", bench, seed=0, device="cpu", overrides=TINY)
    assert all(_same(a, b) for a, b in zip(trace.records, again.records, strict=True))
    other = run_search("darts", bench, seed=1, device="cpu", overrides=TINY)
    assert not np.array_equal(trace.records[-1].alphas, other.records[-1].alphas)


def test_the_hessian_does_not_change_the_search(trace: SearchTrace, bench: Benchmark) -> None:
    plain = run_search("darts", bench, seed=0, device="cpu",
                       overrides={**TINY, "hessian_every": 0})
    for a, b in zip(trace.records, plain.records, strict=True):
        assert np.array_equal(a.alphas, b.alphas) and a.oneshot_loss == b.oneshot_loss
        assert math.isnan(b.lambda_max)


def test_second_order_runs_and_differs(trace: SearchTrace, bench: Benchmark) -> None:
    second = run_search("darts", bench, seed=0, device="cpu",
                        overrides={**TINY, "epochs": 1, "order": 2})
    assert second.config["search"]["order"] == 2
    assert not np.array_equal(second.records[0].alphas, trace.records[0].alphas)
    assert np.isfinite(second.records[0].alphas).all()


def test_trace_round_trip(trace: SearchTrace, tmp_path: Path) -> None:
    trace.save(tmp_path / "t.h5")
    loaded = SearchTrace.load(tmp_path / "t.h5")
    assert all(_same(a, b) for a, b in zip(trace.records, loaded.records, strict=True))
    assert loaded.result_epoch == trace.result_epoch == 2 and loaded.config == trace.config


def test_restoring_a_snapshot_replays_the_same_epoch(bench: Benchmark) -> None:
    """What a DARTS-ADA rollback relies on: state at the end of epoch j is fully restored."""
    config = get_search_config("digits", TINY)
    strategy = make_strategy("darts", config)
    runner = SupernetRunner(bench, config, strategy, seed=0, device="cpu")
    runner.train_epoch(0, strategy.settings(0))
    runner.snapshot(0)
    runner.train_epoch(1, strategy.settings(1))
    first = [a.detach().clone() for a in runner.alphas]
    runner.restore(0)
    runner.train_epoch(1, strategy.settings(1))
    assert all(np.array_equal(a.detach(), b) for a, b in zip(runner.alphas, first, strict=True))


def test_drop_path_and_averaged_hessian(bench: Benchmark) -> None:
    trace = run_search("rdarts-dp", bench, seed=0, device="cpu", params={"drop_path": 0.4},
                       overrides={**TINY, "epochs": 2, "hessian_batches": 3})
    last = trace.records[-1]
    assert last.drop_path == pytest.approx(0.4)
    assert last.lambda_ci_low <= last.lambda_ci_high and math.isfinite(last.lambda_max)


def test_a_table_from_other_files_is_refused() -> None:
    with pytest.raises(BuildMismatchError, match="split"):
        run_search("darts", digits_bench({"split_sha256": "0" * 64}), device="cpu",
                   overrides=TINY)


def test_batch_stream_covers_each_pass_once() -> None:
    import torch

    gen = torch.Generator().manual_seed(0)
    stream = BatchStream(10, 4, gen)
    first_pass = torch.cat([stream.next(), stream.next()])
    assert len(set(first_pass.tolist())) == 8  # no repeats within a pass; remainder dropped
    state, gen_state = stream.state(), gen.get_state()  # the runner saves both
    nxt = stream.next()
    stream.set_state(state)
    gen.set_state(gen_state)
    assert torch.equal(stream.next(), nxt)


def test_recalibrated_bn_matches_batch_statistics() -> None:
    """After recalibration on one batch, eval mode on it equals train mode (up to the n/(n-1)
    of the unbiased running variance)."""
    import torch

    from nasbench_tools.nn.supernet import Supernet
    from nasbench_tools.search.supernet_eval import recalibrate_bn
    from nasbench_tools.spaces import get_space

    torch.manual_seed(0)
    net = Supernet(get_space("t81"), in_channels=1, n_classes=10, layers=3, channels=4)
    x = torch.randn(256, 1, 8, 8)
    with torch.no_grad():
        train_out = net.train()(x)[0]
        recalibrate_bn(net, [x])
        eval_out = net.eval()(x)[0]
    assert torch.allclose(train_out, eval_out, rtol=0.02, atol=0.02)


def test_hessian_with_running_statistics(trace: SearchTrace, bench: Benchmark) -> None:
    evald = run_search("darts", bench, seed=0, device="cpu",
                       overrides={**TINY, "epochs": 1, "hessian_bn": "eval"})
    first = evald.records[0]
    assert np.array_equal(first.alphas, trace.records[0].alphas)  # the search is unchanged
    assert math.isfinite(first.lambda_max) and first.lambda_max != trace.records[0].lambda_max
    assert evald.config["hessian_eval"]["bn"] == "eval"
    assert trace.config["hessian_eval"] == {"bn": "train", "batches": 1, "split": "B",
                                            "first_batch": "the epoch's last"}


def test_plot_trace_draws_three_panels(trace: SearchTrace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from nasbench_tools.plots import plot_trace

    axes = plot_trace(trace)
    assert len(axes) == 3 and len(axes[0].lines) >= 2
    assert "returns epoch 2" in axes[0].get_title()


def test_channels_last_computes_the_same_search(trace: SearchTrace, bench: Benchmark) -> None:
    """The layout changes float rounding only: same architectures, alphas to float32 noise,
    the same Hessian; the same seed twice gives the identical trace, and the trace says so."""
    fast = run_search("darts", bench, seed=0, device="cpu",
                      overrides={**TINY, "memory_format": "channels_last"})
    again = run_search("darts", bench, seed=0, device="cpu",
                       overrides={**TINY, "memory_format": "channels_last"})
    assert all(_same(a, b) for a, b in zip(fast.records, again.records, strict=True))
    assert fast.config["search"]["memory_format"] == "channels_last"
    for a, b in zip(trace.records, fast.records, strict=True):
        assert a.arch == b.arch
        np.testing.assert_allclose(b.alphas, a.alphas, rtol=0, atol=1e-5)
        assert b.oneshot_loss == pytest.approx(a.oneshot_loss, rel=1e-4)
        assert b.discrete_loss == pytest.approx(a.discrete_loss, rel=1e-4)
        assert b.lambda_max == pytest.approx(a.lambda_max, rel=1e-3)


def test_hessian_of_a_channels_last_net_leaves_it_channels_last(bench: Benchmark) -> None:
    from nasbench_tools.search.supernet_eval import alpha_hessian

    config = get_search_config("digits", {**TINY, "memory_format": "channels_last"})
    strategy = make_strategy("darts", config)
    runner = SupernetRunner(bench, config, strategy, seed=0, device="cpu")
    runner.train_epoch(0, strategy.settings(0))
    params = list(runner.net.parameters())
    before = [(p.detach().clone(), p.stride()) for p in params]
    assert any(p.dim() == 4 and p.stride() != torch.empty(p.shape).stride() for p in params)
    kwargs = {"shift": 0.0, "method": "exact", "drop_prob": 0.0, "generator": runner.analysis_gen}
    cl = alpha_hessian(runner.net, runner._hessian_batches(), **kwargs, batched=False)
    assert all(p is q and torch.equal(p, v) and p.stride() == st
               for p, q, (v, st) in zip(runner.net.parameters(), params, before, strict=True))
    runner.net.to(memory_format=torch.contiguous_format)
    std = alpha_hessian(runner.net, runner._hessian_batches(), **kwargs)
    assert cl.spectrum is not None and std.spectrum is not None
    np.testing.assert_allclose(cl.spectrum, std.spectrum, rtol=1e-3, atol=1e-5)


def test_eval_subset_evaluates_the_first_images_of_the_fixed_order(bench: Benchmark) -> None:
    config = get_search_config("digits", {**TINY, "eval_subset": 50})
    runner = SupernetRunner(bench, config, make_strategy("darts", config), seed=0, device="cpu")
    full = get_search_config("digits", TINY)
    whole = SupernetRunner(bench, full, make_strategy("darts", full), seed=0, device="cpu")
    assert len(runner.yb_eval) == 50 and len(whole.yb_eval) == len(whole.yb)
    assert torch.equal(runner.xb_eval, whole.xb_eval[:50])
    small = run_search("darts", bench, seed=0, device="cpu",
                       overrides={**TINY, "epochs": 1, "eval_subset": 50})
    assert small.config["oneshot_eval"]["images"] == small.config["discrete_eval"]["images"] == 50


@pytest.mark.parametrize("bad, allowed", [({"memory_format": "nhwc"}, "channels_last"),
                                          ({"eval_subset": 0}, ">= 1")])
def test_bad_layout_and_subset_are_refused(bad: dict[str, object], allowed: str) -> None:
    from nasbench_tools.exceptions import ConfigError

    with pytest.raises(ConfigError, match=allowed):
        get_search_config("digits", bad)


def test_rgb_presets_search_channels_last() -> None:
    assert get_search_config("cifar10-jpeg").memory_format == "channels_last"
    assert get_search_config("digits").memory_format == "contiguous"


def test_rdarts_l2_at_the_darts_weight_decay_is_darts(bench: Benchmark,
                                                     trace: SearchTrace) -> None:
    # the study relies on it: R-DARTS(L2) at 3e-4 repeats DARTS's search record for record
    l2 = run_search("rdarts-l2", bench, seed=0, device="cpu", overrides=TINY,
                    params={"weight_decay": get_search_config("digits").weight_decay})
    assert l2.method == "rdarts-l2" and len(l2.records) == len(trace.records)
    assert all(_same(a, b) for a, b in zip(l2.records, trace.records, strict=True))
