"""pytest configuration shared by tests/ and the nbval run over solutions/.

COURSE_QUICK=1 makes every notebook use its small configuration (smaller models, shorter
benchmarks), so that each executes in under a minute on 2 CPU cores. Kernels started by nbval
and by the autograder inherit it from this process's environment.
"""

import os

os.environ.setdefault("COURSE_QUICK", "1")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two pytest-xdist workers side by side (`-n 2 --dist loadfile`): one thread
    # per library in each of their processes, or PyTorch and NumPy spin against each other.
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
