"""Search traces: HDF5 round trip without torch, frames, gaps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasbench_tools.exceptions import TableFormatError
from nasbench_tools.search.trace import EpochRecord, SearchTrace
from nasbench_tools.spaces import get_space


def make_trace() -> SearchTrace:
    space = get_space("t81")
    records = tuple(
        EpochRecord(epoch=e, alphas=np.linspace(0, 1, 12) * e, arch=e, genotype=space.genotype(
            space.arch(e)), test_err=3.0 + e, oneshot_loss=1.0, discrete_loss=1.5 + e,
            lambda_max=float(e) if e % 2 == 0 else float("nan"),
            spectrum=np.arange(12.0) if e % 2 == 0 else None, alpha_updates=10 * e,
            events="stop" if e == 2 else "")
        for e in range(4)
    )
    return SearchTrace(method="darts", seed=0, space=space, records=records,
                       table="data/t81-digits.h5", config={"epochs": 4, "order": 1})


def test_round_trip(tmp_path: Path) -> None:
    trace = make_trace()
    trace.save(tmp_path / "t.h5")
    back = SearchTrace.load(tmp_path / "t.h5")
    assert (back.method, back.seed, back.space, dict(back.config)) == (
        "darts", 0, trace.space, {"epochs": 4, "order": 1})
    for a, b in zip(trace.records, back.records, strict=True):
        np.testing.assert_array_equal(a.alphas, b.alphas)
        assert (a.spectrum is None) == (b.spectrum is None)
        assert (a.epoch, a.arch, a.genotype, a.events, a.alpha_updates) == (
            b.epoch, b.arch, b.genotype, b.events, b.alpha_updates)
        assert np.array_equal([a.test_err, a.lambda_max], [b.test_err, b.lambda_max],
                              equal_nan=True)


def test_frame_has_gaps() -> None:
    frame = make_trace().to_frame()
    assert len(frame) == 4
    np.testing.assert_allclose(frame["gap_loss"], [0.5, 1.5, 2.5, 3.5])
    assert "alphas" not in frame.columns


def test_loading_a_table_as_a_trace_fails(tmp_path: Path) -> None:
    from conftest import synthetic_t81_data

    from nasbench_tools.table.hdf5 import write_table

    write_table(synthetic_t81_data(), tmp_path / "table.h5")
    with pytest.raises(TableFormatError, match="not a nasbench-tools search trace"):
        SearchTrace.load(tmp_path / "table.h5")


def test_loading_needs_no_torch(tmp_path: Path) -> None:
    make_trace().save(tmp_path / "t.h5")
    code = (f"import sys; from nasbench_tools.search.trace import SearchTrace; "
            f"SearchTrace.load({str(tmp_path / 't.h5')!r}); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
