"""``python -m nasbench_tools ...``: the ``nasbench-tools`` command without an installed script."""

import sys

from nasbench_tools.cli import main

sys.exit(main())
