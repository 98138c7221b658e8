"""Table files: schema, HDF5 I/O and the `Benchmark` query API (numpy + h5py, never torch)."""

from nasbench_tools.table.benchmark import Benchmark
from nasbench_tools.table.data import TableData, content_sha256
from nasbench_tools.table.schema import SCHEMA_VERSION, STORED_METRICS, Metric, Status

__all__ = [
    "SCHEMA_VERSION",
    "STORED_METRICS",
    "Benchmark",
    "Metric",
    "Status",
    "TableData",
    "content_sha256",
]
