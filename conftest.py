"""pytest configuration shared by tests/ and the nbval run over solutions/.

COURSE_QUICK=1 makes every notebook use its small configuration (smaller models, shorter
benchmarks), so that each executes in under a minute on 2 CPU cores. Kernels started by nbval
and by the autograder inherit it from this process's environment.
"""

import os

os.environ.setdefault("COURSE_QUICK", "1")
