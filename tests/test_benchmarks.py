"""The benchmarks in benchmarks/ run, and the fast clipping they time gives the right results.

Speed is reported by `make bench`, not tested here (timings on a shared CI machine mean little);
what is tested is that every contender computes what it should on the GPT-2-shaped gradients.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from clip_grad_norm import exact_norm, load_lesson  # noqa: E402


@pytest.fixture(scope="module")
def lesson04():
    return load_lesson()


def _float64_clip(parameters, max_norm):
    """clip_grad_norm_'s formula in float64: (norm, clipped gradients)."""
    norm = exact_norm(parameters)
    coefficient = min(1.0, max_norm / (norm + 1e-6))
    return norm, [(p.grad.double() * coefficient).float() for p in parameters]


@pytest.mark.parametrize("factor", [2.0, 0.5], ids=["nothing-to-clip", "clipping"])
def test_fast_and_plain_clipping_agree_with_float64_on_gpt2_shapes(lesson04, factor):
    parameters = lesson04["gpt2_like_parameters"](lesson04["GPT2_TINY"], seed=3)
    norm64 = exact_norm(parameters)
    max_norm = factor * norm64
    _, expected = _float64_clip(parameters, max_norm)
    for name in ("fast_clip_grad_norm_", "clip_grad_norm_"):
        clipped = lesson04["clone_parameters"](parameters)
        norm = float(lesson04[name](clipped, max_norm))
        # The plain version's norm is PyTorch's float32 kernel's, and its coefficient with it.
        tolerance = 1e-6 if name.startswith("fast") else 1e-4
        assert abs(norm - norm64) / norm64 < tolerance, (name, norm, norm64)
        for got, want in zip((p.grad for p in clipped), expected, strict=True):
            torch.testing.assert_close(got, want, rtol=10 * tolerance, atol=1e-12)


def test_fast_norm_is_more_accurate_than_torch_on_a_large_tensor(lesson04):
    """The reason for the fast version's norm: 2**24 float32 values of one sign."""
    grad = torch.rand(2**24, generator=torch.Generator().manual_seed(0))
    exact = float(torch.linalg.vector_norm(grad, dtype=torch.float64))
    fast_error = abs(math.sqrt(lesson04["sum_of_squares"]([grad])) - exact) / exact
    torch_error = abs(float(torch.linalg.vector_norm(grad)) - exact) / exact
    assert fast_error < 1e-7 < torch_error, (fast_error, torch_error)


def test_clip_benchmark_prints_its_table_at_quick_size():
    result = subprocess.run(
        [sys.executable, "benchmarks/clip_grad_norm.py", "--quick", "--min-run-time", "0.05"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for row in ("torch.sum over the gradients", "torch clip_grad_norm_ foreach=True",
                "torch clip_grad_norm_ foreach=False", "lesson 04 clip_grad_norm_ (plain)",
                "lesson 04 fast_clip_grad_norm_"):
        assert row in result.stdout, f"no row {row!r} in:\n{result.stdout}"
    fast_row = next(line for line in result.stdout.splitlines()
                    if line.startswith("lesson 04 fast_clip_grad_norm_"))
    assert float(fast_row.rsplit("|", 1)[1]) < 1e-6, fast_row


@pytest.mark.slow
def test_grading_benchmark_grades_a_small_class_three_ways():
    result = subprocess.run(
        [sys.executable, "benchmarks/grading.py", "--submissions", "4", "--jobs", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    for row in ("plain nbgrader autograde (sequential)", "autograder --jobs 2 --no-sandbox",
                "autograder --jobs 2 (sandboxed)", "+ nbgrader generate_feedback",
                "speed-up of the sandboxed autograder",
                "sandbox overhead per submission"):
        assert row in result.stdout, f"no line {row!r} in:\n{result.stdout}"
