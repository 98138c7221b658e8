"""Test functions of global optimisation and a benchmark of optimisers on them: Adam with and
without DSCD global steps, CMA-ES and random sampling at equal budgets of evaluations.

    from nasbench_tools.synthetic import get_function, run_global_benchmark, run_method
    run = run_method("styblinski-tang", 5, "adam-r0.1+dscd", budget=2000, seed=0)
    run_global_benchmark("schwefel", 5, 5000, 10, "figures/bench-global/schwefel-d5", jobs=2)

Torch (for Adam's gradients), ``cma`` and matplotlib are imported only when a run or a figure
needs them.
"""

from nasbench_tools.synthetic.bench import GlobalBenchmark, run_global_benchmark
from nasbench_tools.synthetic.functions import (
    FUNCTIONS,
    SyntheticFunction,
    get_function,
    list_functions,
    wrong_basin_cost,
)
from nasbench_tools.synthetic.optimisers import (
    METHODS,
    MethodSpec,
    OptimiserRun,
    get_method,
    list_methods,
    run_method,
    start_point,
)

__all__ = ["FUNCTIONS", "METHODS", "GlobalBenchmark", "MethodSpec", "OptimiserRun",
           "SyntheticFunction", "get_function", "get_method", "list_functions", "list_methods",
           "run_global_benchmark", "run_method", "start_point", "wrong_basin_cost"]
