"""Run a clipping function on two CPU processes that form a torch.distributed (gloo) group.

Lesson 07 uses this to check `distributed_clip_grad_norm_` on parameters sharded across two
ranks. The function's source travels to the worker processes as text (a notebook's functions
cannot be imported by a fresh process); the ranks meet through a file (torch.distributed's
FileStore), and a rank that hangs (for instance because it skipped a collective) is killed after
a timeout.
"""

from __future__ import annotations

import datetime
import inspect
import multiprocessing
import os
import queue
import shutil
import tempfile
import textwrap
import traceback

import torch
import torch.distributed as dist

WORLD_SIZE = 2
PRELUDE = "import math\nimport torch\nimport torch.distributed as dist\n"


def case_parameters(case: dict) -> list[torch.nn.Parameter]:
    """The full (unsharded) parameter list of a test case, the same in every process."""
    generator = torch.Generator().manual_seed(case["seed"])
    parameters = []
    for i, shape in enumerate(case["shapes"]):
        parameter = torch.nn.Parameter(torch.zeros(shape))
        if i not in case.get("without_grad", ()):
            parameter.grad = torch.randn(shape, generator=generator) * case.get("scale", 1.0)
        parameters.append(parameter)
    for index, value in case.get("special", {}).items():  # inf / NaN entries
        parameters[index].grad.view(-1)[0] = value
    return parameters


def shard(case: dict, rank: int) -> list[int]:
    """Indices of the parameters that `rank` owns: given by case["owners"], else round-robin."""
    owners = case.get("owners") or [i % WORLD_SIZE for i in range(len(case["shapes"]))]
    return [i for i, owner in enumerate(owners) if owner == rank]


def _worker(rank, store, source, name, cases, results):
    try:
        torch.set_num_threads(1)
        # A file, not a TCP store: c10d's TCP store warns on stderr where the reverse lookup of
        # a client's address fails (a machine without DNS), and nbgrader fails a graded cell
        # that writes to stderr.
        dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank,
                                world_size=WORLD_SIZE, timeout=datetime.timedelta(seconds=30))
        namespace: dict = {}
        exec(PRELUDE + source, namespace)  # noqa: S102 - the learner's own function
        clip = namespace[name]
        outcomes = []
        for case in cases:
            parameters = case_parameters(case)
            mine = [parameters[i] for i in shard(case, rank)]
            norm = clip(mine, case["max_norm"], case["norm_type"])
            # NumPy copies travel by value; torch tensors would travel as shared-memory handles
            # that the parent must fetch from this process, which may have exited by then.
            outcomes.append((float(norm), {i: parameters[i].grad.numpy().copy()
                                           for i in shard(case, rank)
                                           if parameters[i].grad is not None}))
        results.put((rank, "ok", outcomes))
    except BaseException:  # report anything, so the parent never waits for a dead rank
        results.put((rank, "error", traceback.format_exc()))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def run_sharded(function, cases: list[dict], timeout: float = 60.0):
    """Run `function(local_parameters, max_norm, norm_type)` on 2 ranks for every case.

    Returns, per case, (the norm each rank returned, {parameter index: clipped grad}).
    Raises RuntimeError with the rank's traceback if a rank failed, TimeoutError if it hung.
    """
    source = textwrap.dedent(inspect.getsource(function))
    # A fork server: a clean process, started once, that has imported torch and forks every rank
    # from there. Spawning would import torch (seconds of CPU) in every rank of every call; forking
    # the notebook's own process would copy its threads' state (PyTorch warns against that).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "torch.distributed"])
    results = context.Queue()
    folder = tempfile.mkdtemp(prefix="two-ranks-")
    store = os.path.join(folder, "store")
    workers = [context.Process(target=_worker, daemon=True,
                               args=(rank, store, source, function.__name__, cases, results))
               for rank in range(WORLD_SIZE)]
    for worker in workers:
        worker.start()
    reports = {}
    try:
        for _ in range(WORLD_SIZE):
            rank, status, payload = results.get(timeout=timeout)
            if status != "ok":
                raise RuntimeError(f"rank {rank} failed:\n{payload}")
            reports[rank] = payload
    except queue.Empty:
        raise TimeoutError(
            f"a rank did not finish within {timeout:.0f} s: does every rank take part in every "
            "collective (all_reduce), even a rank without gradients?") from None
    finally:
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
        shutil.rmtree(folder, ignore_errors=True)
    outcomes = []
    for index in range(len(cases)):
        norms = [reports[rank][index][0] for rank in range(WORLD_SIZE)]
        grads = {}
        for rank in range(WORLD_SIZE):
            grads.update({i: torch.from_numpy(grad) for i, grad in reports[rank][index][1].items()})
        outcomes.append((norms, grads))
    return outcomes
