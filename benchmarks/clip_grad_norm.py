"""Benchmark: gradient norm clipping on GPT-2-small-shaped gradients (124 M float32 values).

Compares PyTorch's `clip_grad_norm_` (foreach on and off) with lesson 05's plain and lesson 07's
fast solutions, in two cases: nothing to clip (max_norm far above the norm) and clipping on every
call.
For each: milliseconds, gigabytes of gradients read per second, that bandwidth as a fraction of a
plain `torch.sum` over the same tensors (one read pass), and the norm's relative error against
float64. The measurements are taken in interleaved rounds (every contender once per round) and
each figure is the median over the rounds, so that a change in the machine's load while the
benchmark runs (a neighbour on a shared host using the memory) falls on every contender alike.

    make bench    # or: python benchmarks/clip_grad_norm.py [--quick] [--device cuda] [--threads N]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics

import torch
from lesson_code import load_cells
from torch.utils.benchmark import Timer

# The cells of the solution notebooks that define what is measured, in order: lesson 05's plain
# clip_grad_norm_, and lesson 07's fast one with its helpers and GPT-2's shapes.
PLAIN_CELLS = ["imports", "get_total_norm", "clip_grads_with_norm_", "clip_grad_norm_"]
FAST_CELLS = ["imports", "gpt2-shapes", "row-size", "rows_sum_of_squares", "parallel-runs",
              "fast_clip_grad_norm_"]


def load_lesson() -> dict:
    """Lesson 07's solution code (fast clipping, its helpers, GPT-2 shapes), run from its notebook,
    with lesson 05's plain solution as `plain_clip_grad_norm_` (lesson 07's fast version hands
    what it does not handle to PyTorch's)."""
    fast = load_cells("07_fast_exact_clipping", FAST_CELLS)
    # The namespace itself, not a copy: tests change its MIN_RUN, which its functions read.
    plain = load_cells("05_clipping_pytorch", PLAIN_CELLS)
    fast["plain_clip_grad_norm_"] = plain["clip_grad_norm_"]
    return fast


def milliseconds(function, min_run_time: float) -> float:
    timer = Timer("function()", globals={"function": function})
    return timer.blocked_autorange(min_run_time=min_run_time).median * 1e3


def interleaved_milliseconds(functions: dict, rounds: int, min_run_time: float) -> dict:
    """name -> the median over `rounds` rounds of the milliseconds per call of functions[name];
    each round times every function once, for min_run_time / rounds seconds."""
    times = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            times[name].append(milliseconds(function, min_run_time / rounds))
    return {name: statistics.median(samples) for name, samples in times.items()}


def on_device(parameters, device: str) -> list:
    """The same gradients, on `device` (a parameter's .grad must live where the parameter does)."""
    if device == "cpu":
        return parameters
    moved = []
    for parameter in parameters:
        twin = torch.nn.Parameter(torch.empty(parameter.shape, device=device))
        twin.grad = parameter.grad.to(device)
        moved.append(twin)
    return moved


def synchronizes(clip, parameters) -> bool:
    """Whether one call of `clip` (nothing to clip) makes the CPU wait for the GPU."""
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        clip(parameters, 1e9)
    except RuntimeError as error:
        if "synchroniz" not in str(error):
            raise
        return True
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return False


def exact_norm(parameters) -> float:
    return math.sqrt(math.fsum(float(torch.sum(p.grad.double() ** 2)) for p in parameters))


def clipping_every_call(clip, parameters, state: dict):
    """A call of `clip` that clips to 0.01% below the norm the previous call returned, whichever
    contender made it (`state` is shared, as the gradients are): every call really clips."""
    def call():
        state["max_norm"] = 0.9999 * float(clip(parameters, state["max_norm"]))

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small GPT-2 shape (a smoke test)")
    parser.add_argument("--min-run-time", type=float, default=2.0,
                        help="seconds each measurement repeats for, over all rounds (default 2)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds; each figure is their median (default 5)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="where the gradients live (default cpu)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's)")
    args = parser.parse_args()
    os.environ["COURSE_QUICK"] = "1" if args.quick else "0"
    if args.threads:
        torch.set_num_threads(args.threads)
    lesson = load_lesson()
    config = lesson["GPT2_TINY"] if args.quick else lesson["GPT2_SMALL"]
    parameters = on_device(lesson["gpt2_like_parameters"](config), args.device)
    grads = [p.grad for p in parameters]
    gigabytes = sum(g.numel() * g.element_size() for g in grads) / 1e9
    where = (torch.cuda.get_device_name() if args.device == "cuda"
             else f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{where}, torch {torch.__version__} with {torch.get_num_threads()} threads; "
          f"{len(grads)} float32 gradients on {args.device}, "
          f"{sum(g.numel() for g in grads) / 1e6:.1f} M values ({gigabytes:.3f} GB)")

    def torch_clip(foreach):
        def clip(params, max_norm):
            return torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=foreach)
        return clip

    contenders = {
        "torch clip_grad_norm_ foreach=True": torch_clip(True),
        "torch clip_grad_norm_ foreach=False": torch_clip(False),
        "lesson 05 clip_grad_norm_ (plain)": lesson["plain_clip_grad_norm_"],
        "lesson 07 fast_clip_grad_norm_": lesson["fast_clip_grad_norm_"],
    }
    errors = {}
    for name, clip in contenders.items():
        exact = exact_norm(parameters)
        errors[name] = abs(float(clip(parameters, 2 * exact)) - exact) / exact  # clips nothing
    timed = {"sum": lambda: [torch.sum(g) for g in grads],
             # What any clipping must do once it clips: read every value (the norm), then read and
             # write every value (the multiplication). Its time bounds the clipping column.
             "two passes": lambda: ([torch.sum(g) for g in grads], torch._foreach_mul_(grads, 1.0))}
    last_norm = {"max_norm": 0.5 * exact_norm(parameters)}
    for name, clip in contenders.items():
        timed[name, "no clip"] = lambda clip=clip: clip(parameters, 1e9)
        timed[name, "clip"] = clipping_every_call(clip, parameters, last_norm)
    ms = interleaved_milliseconds(timed, args.rounds, args.min_run_time)
    sum_ms, two_passes_ms = ms["sum"], ms["two passes"]
    results = {name: (ms[name, "no clip"], ms[name, "clip"], errors[name]) for name in contenders}

    header = (f"{'':38s} | {'nothing to clip':^27s} | {'clipping':^27s} | norm error")
    print(f"\n{header}\n{'':38s} | {'ms':>7s} {'GB/s':>6s} {'of sum':>6s} {'speed':>5s} "
          f"| {'ms':>7s} {'GB/s':>6s} {'of sum':>6s} {'speed':>5s} | vs float64")
    print(f"{'torch.sum over the gradients (1 read)':38s} | {sum_ms:7.2f} "
          f"{gigabytes / sum_ms * 1e3:6.1f} {1:6.2f} {'':5s} |")
    base_no_clip, base_clip, _ = results["torch clip_grad_norm_ foreach=True"]
    print(f"{'torch.sum + torch._foreach_mul_':38s} | {'':27s} | {two_passes_ms:7.2f} "
          f"{gigabytes / two_passes_ms * 1e3:6.1f} {sum_ms / two_passes_ms:6.2f} "
          f"{base_clip / two_passes_ms:4.2f}x |")
    for name, (no_clip_ms, clip_ms, error) in results.items():
        cells = []
        for ms, base in ((no_clip_ms, base_no_clip), (clip_ms, base_clip)):
            cells.append(f"{ms:7.2f} {gigabytes / ms * 1e3:6.1f} {sum_ms / ms:6.2f} "
                         f"{base / ms:4.2f}x")
        print(f"{name:38s} | {cells[0]} | {cells[1]} | {error:.1e}")
    print("\nGB/s: gigabytes of gradients per second of the whole call; 'of sum': that as a "
          "fraction of torch.sum's; speed: relative to torch foreach=True; each figure the median "
          f"of {args.rounds} interleaved rounds. 'torch.sum + torch._foreach_mul_': the two passes "
          "over memory (a read, then a read and a write) that any clipping makes once it clips.")
    if args.device == "cuda":
        print("makes the CPU wait for the GPU when nothing needs clipping: " + "; ".join(
            f"{name}: {'yes' if synchronizes(clip, parameters) else 'no'}"
            for name, clip in contenders.items()))


if __name__ == "__main__":
    main()
