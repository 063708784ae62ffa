"""The benchmarks in benchmarks/ run, and the fast clipping they time gives the right results.

Speed is reported by `make bench`, not tested here (timings on a shared CI machine mean little);
what is tested is that every contender computes what it should on the GPT-2-shaped gradients, and
that lesson 07's helpers for the fast version (runs of values split between threads) read and
write every value exactly once, in place, on any number of threads.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from clip_grad_norm import exact_norm, load_lesson  # noqa: E402


@pytest.fixture(scope="module")
def lessons():
    return load_lesson()


def _float64_clip(parameters, max_norm):
    """clip_grad_norm_'s formula in float64: (norm, clipped gradients)."""
    norm = exact_norm(parameters)
    coefficient = min(1.0, max_norm / (norm + 1e-6))
    return norm, [(p.grad.double() * coefficient).float() for p in parameters]


@pytest.mark.parametrize("factor", [2.0, 0.5], ids=["nothing-to-clip", "clipping"])
def test_fast_and_plain_clipping_agree_with_float64_on_gpt2_shapes(lessons, factor):
    parameters = lessons["gpt2_like_parameters"](lessons["GPT2_TINY"], seed=3)
    norm64 = exact_norm(parameters)
    max_norm = factor * norm64
    _, expected = _float64_clip(parameters, max_norm)
    for name in ("fast_clip_grad_norm_", "plain_clip_grad_norm_"):
        clipped = lessons["clone_parameters"](parameters)
        norm = float(lessons[name](clipped, max_norm))
        # The plain version's norm is PyTorch's float32 kernel's, and its coefficient with it.
        tolerance = 1e-6 if name.startswith("fast") else 1e-4
        assert abs(norm - norm64) / norm64 < tolerance, (name, norm, norm64)
        for got, want in zip((p.grad for p in clipped), expected, strict=True):
            torch.testing.assert_close(got, want, rtol=10 * tolerance, atol=1e-12)


def test_fast_norm_is_more_accurate_than_torch_on_a_large_tensor(lessons):
    """The reason for the fast version's norm: 2**24 float32 values of one sign."""
    grad = torch.rand(2**24, generator=torch.Generator().manual_seed(0))
    exact = float(torch.linalg.vector_norm(grad, dtype=torch.float64))
    fast_error = abs(math.sqrt(lessons["sum_of_squares"]([grad])) - exact) / exact
    torch_error = abs(float(torch.linalg.vector_norm(grad)) - exact) / exact
    assert fast_error < 1e-7 < torch_error, (fast_error, torch_error)


@pytest.fixture
def short_runs(lessons):
    """Lesson 07's helpers with runs of at least 1000 values instead of 2**21, so that small
    tensors are cut between several threads, across tensor boundaries."""
    saved = lessons["MIN_RUN"]
    lessons["MIN_RUN"] = 1000
    yield lessons
    lessons["MIN_RUN"] = saved


def _awkward_gradients(seed: int) -> list[torch.Tensor]:
    """Gradients of the kinds a run may meet: float32 and float64, a transposed (non-contiguous)
    one, one that requires grad, an empty one, sizes that are no multiple of a row (1024)."""
    generator = torch.Generator().manual_seed(seed)
    transposed = torch.randn(70, 90, generator=generator).t()
    requires_grad = torch.randn(3000, generator=generator).requires_grad_()
    return [torch.randn(2500, generator=generator), transposed,
            torch.randn(40, 33, generator=generator, dtype=torch.float64), torch.empty(0),
            requires_grad, torch.rand(5000, generator=generator) * 1e3,
            torch.randn(7, generator=generator)]


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_split_evenly_cuts_every_value_once_in_order_without_copies(short_runs, count):
    arrays = [np.arange(n, dtype=np.float32) + 1000 * i for i, n in enumerate([5, 0, 17, 1, 9])]
    runs = short_runs["split_evenly"](arrays, count)
    pieces = [piece for run in runs for piece in run]
    np.testing.assert_array_equal(np.concatenate(pieces), np.concatenate(arrays))
    assert all(any(np.shares_memory(piece, array) for array in arrays) for piece in pieces)
    lengths = [sum(piece.size for piece in run) for run in runs]
    assert len(runs) == count and max(lengths) - min(lengths) <= count, lengths


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_sum_of_squares_is_accurate_on_any_number_of_threads(short_runs, threads):
    grads = _awkward_gradients(seed=threads)
    exact = math.fsum(float(torch.sum(g.detach().double() ** 2)) for g in grads)
    assert short_runs["run_count"](grads, threads) == threads
    got = short_runs["sum_of_squares"](grads, threads=threads)
    assert abs(got - exact) / exact < 1e-7, (got, exact)  # one float32 rounding per row, at most


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_scale_multiplies_in_place_exactly_as_mul_does(short_runs, threads):
    grads = _awkward_gradients(seed=10 + threads)
    expected = [g.detach().clone().mul_(0.37) for g in grads]
    addresses, versions = [g.data_ptr() for g in grads], [g._version for g in grads]
    short_runs["scale_"](grads, 0.37, threads=threads)
    for grad, want, address, version in zip(grads, expected, addresses, versions, strict=True):
        assert torch.equal(grad.detach(), want)  # bit for bit: the same float32 rounding as mul_
        assert grad.data_ptr() == address  # in place
        assert grad._version > version  # and autograd knows it changed


def test_helpers_keep_pytorch_semantics_for_inf_and_nan_without_warnings(short_runs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's overflow/invalid warnings would reach learners
        for bad, expected_sum in ((math.inf, math.inf), (math.nan, math.nan)):
            grads = _awkward_gradients(seed=20)
            grads[0][7] = bad
            got = short_runs["sum_of_squares"](grads, threads=3)
            assert got == expected_sum or (math.isnan(got) and math.isnan(expected_sum)), got
            short_runs["scale_"](grads, 0.0, threads=3)  # inf * 0 is NaN in PyTorch
            assert math.isnan(float(grads[0][7])) and float(grads[0][8]) == 0.0


def test_clip_benchmark_prints_its_table_at_quick_size():
    result = subprocess.run(
        [sys.executable, "benchmarks/clip_grad_norm.py", "--quick", "--min-run-time", "0.05"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for row in ("torch.sum over the gradients", "torch.sum + torch._foreach_mul_",
                "torch clip_grad_norm_ foreach=True",
                "torch clip_grad_norm_ foreach=False", "lesson 05 clip_grad_norm_ (plain)",
                "lesson 07 fast_clip_grad_norm_"):
        assert row in result.stdout, f"no row {row!r} in:\n{result.stdout}"
    fast_row = next(line for line in result.stdout.splitlines()
                    if line.startswith("lesson 07 fast_clip_grad_norm_"))
    assert float(fast_row.rsplit("|", 1)[1]) < 1e-6, fast_row


@pytest.mark.slow
def test_grading_benchmark_grades_one_hand_in_with_nbgrader_and_the_autograder():
    """`make bench`'s grading benchmark, end to end, on the smallest class: one learner of lesson
    04 graded by plain nbgrader and the autograder with --jobs 1 and 2 (each grading run costs
    seconds whatever the class; --cold-kernels and --no-sandbox have tests of their own)."""
    result = subprocess.run(
        [sys.executable, "benchmarks/grading.py", "--submissions", "1", "--lessons",
         "04_clipping_numpy", "--contenders", "nbgrader", "jobs1", "jobs2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    for row in ("nbgrader autograde (sequential)", "nbgrader autograde + generate_feedback",
                "autograder --jobs 1", "autograder --jobs 2",
                "speed-up, --jobs 1 (goal 2.0x)", "speed-up, --jobs 2 (goal 3.5x)"):
        assert any(line.startswith(row) and float(line[len(row):].split()[0].rstrip("x")) > 0
                   for line in result.stdout.splitlines()), f"no row {row!r} in:\n{result.stdout}"
    assert "sandbox overhead" not in result.stdout  # its rows were not measured


def test_grading_benchmark_table_has_every_row_and_ratio():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from grading import AUTOGRADER, PLAIN, WITH_FEEDBACK, table

    times = {PLAIN: 30.0, WITH_FEEDBACK: 40.0, "autograder --jobs 1": 16.0,
             "autograder --jobs 2": 8.0, "autograder --jobs 2 --cold-kernels": 22.0,
             "autograder --jobs 2 --no-sandbox": 20.0}
    assert set(times) == {PLAIN, WITH_FEEDBACK, *AUTOGRADER}
    lines = table({"03_the_cliff": times, "04_clipping_numpy": dict(times)}, submissions=4)
    cells = [re.split(r"\s{2,}", line.strip()) for line in lines]
    rows = {name: values for name, *values in cells if values}
    assert rows["nbgrader autograde + generate_feedback"] == ["10.00", "10.00"]  # 40 s / 4
    assert rows["autograder --jobs 2"] == ["2.00", "2.00"]
    assert rows["speed-up, --jobs 1 (goal 2.0x)"] == ["2.50x", "2.50x"]
    assert rows["speed-up, --jobs 2 (goal 3.5x)"] == ["5.00x", "5.00x"]
    assert rows["sandbox overhead, cold kernels (goal < 10 %)"] == ["+10.0%", "+10.0%"]
    assert rows["warm kernels over cold, --jobs 2"] == ["2.75x", "2.75x"]
