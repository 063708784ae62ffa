"""Run only the learner's kernel in a bubblewrap sandbox; nbgrader and the gradebook stay outside.

nbgrader starts one kernel per notebook through a jupyter_client kernel manager. The grading
workers (autograder.worker) configure `SandboxedKernelManager` as that class
(`Execute.kernel_manager_class`), and it wraps
the kernel's command line in `bwrap` (https://github.com/containers/bubblewrap):

- a file system that holds only what the kernel needs, read-only: the system's software
  (SYSTEM_FOLDERS: /usr, /etc, ...), the kernel's Python and this package, and its working folder:
  what lies beside the notebook in its folder, but not the notebook itself (nbgrader has restored
  the hidden tests into it). Nothing else of the machine is there: not the course's solutions,
  another copy of the course, the gradebook, other learners' hand-ins, nbgrader's exchange or
  anyone's home. `/tmp` is a private tmpfs (the kernel's scratch space, its home and
  MPLCONFIGDIR), with matplotlib's font list in it read-only (font_cache); the paths the grader
  names as hidden (policy.hidden) are empty where they lie inside what is there;
- no network (a fresh network namespace holds only loopback), its own process tree (all of it
  ends with the kernel), no capabilities;
- resource limits through `prlimit`: memory (RLIMIT_DATA: what malloc and mmap can take) and the
  size of a file it writes; the number of processes (a fork bomb stops there) through RLIMIT_NPROC,
  or, when the grader runs as root (which RLIMIT_NPROC does not bind), a pids cgroup per kernel;
- the kernel talks to nbgrader over ZMQ on Unix sockets (`transport="ipc"`) in a directory of its
  own, bound into the sandbox together with the connection file: TCP ports would not cross the
  network namespace. JPY_PARENT_PID is unset: in its own PID namespace the kernel would otherwise
  see its parent as gone and exit.

The policy travels from the grader to nbgrader's process in the GRADCLIP_SANDBOX environment
variable (JSON), because nbgrader instantiates the manager itself.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from queue import Empty

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager, KernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Type, default

from autograder import warm
from autograder.warm import SCRATCH_ENVIRONMENT, is_within, outermost

POLICY_VARIABLE = "GRADCLIP_SANDBOX"
# The system's software, read-only in every sandbox (a symbolic link, as /bin -> usr/bin on a
# merged /usr, stays one). /sys: the CPU count and caches that NumPy and PyTorch read.
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
GUARD_EXTENSION = "autograder.kernel_guard"
# bwrap's first mounts for every sandbox: an empty root with a /dev and a /proc of its own.
NEW_ROOT = ("--tmpfs", "/", "--dev", "/dev", "--proc", "/proc")


def kernel_needs() -> list[str]:
    """The folders a kernel started by this Python needs: its environment, its base installation,
    the folder of its executable, and this package (the kernel loads the guard from it)."""
    folders = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable)),
               os.path.dirname(os.path.abspath(__file__))}
    return sorted(os.path.realpath(folder) for folder in folders)


@dataclass
class SandboxPolicy:
    bwrap: str | None                # None: no sandbox (--no-sandbox), only the guard and limits
    hidden: list[str] = field(default_factory=list)  # paths the kernel must not see
    memory_bytes: int = 4 * 2**30
    file_bytes: int = 2**30
    max_processes: int = 4096        # RLIMIT_NPROC, for a grader that is not root
    pids_cgroups: str | None = None  # as root: a writable pids cgroup hierarchy to cap it in
    kernel_processes: int = 512      # the cap per kernel there
    warm_kernels: bool = False       # fork kernels from a template (autograder.warm)
    tmp_files: list[str] = field(default_factory=list)  # each kernel sees them, read-only, in /tmp
    # What the kernel must see even where it lies under /tmp, which the sandbox replaces:
    # this Python's installation and the guard's package.
    visible: list[str] = field(default_factory=kernel_needs)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> SandboxPolicy | None:
        text = os.environ.get(POLICY_VARIABLE)
        return cls(**json.loads(text)) if text else None


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


def process_limit() -> int:
    """RLIMIT_NPROC counts every process and thread of the user, not only the sandbox's: allow
    what the user runs now plus a margin, so that a fork bomb is stopped and nothing else is."""
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue  # the process ended while we counted
    return count + 1024


def find_pids_cgroups() -> str | None:
    """A pids cgroup hierarchy this process may create groups in (cgroup v1 or v2), or None."""
    for root in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
        probe = os.path.join(root, f"gradclip-probe-{os.getpid()}")
        try:
            os.mkdir(probe)
        except OSError:
            continue
        try:
            if os.path.exists(os.path.join(probe, "pids.max")):
                return root
        finally:
            os.rmdir(probe)
    return None


def create_pids_cgroup(root: str, limit: int) -> str:
    """A new cgroup under `root` that holds at most `limit` processes; returns its folder."""
    folder = tempfile.mkdtemp(prefix="gradclip-kernel-", dir=root)
    with open(os.path.join(folder, "pids.max"), "w") as handle:
        handle.write(str(limit))
    return folder


def remove_pids_cgroup(folder: str) -> None:
    """Remove a kernel's cgroup once its last process has gone (that takes a few milliseconds
    after a sandboxed kernel is killed: bwrap's own processes end after it); one still busy
    after two seconds is left for the system to clean up."""
    deadline = time.monotonic() + 2.0
    while True:
        try:
            os.rmdir(folder)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(CGROUP_POLL_SECONDS)


# How often an emptying cgroup is checked: each learner's grading waits for it.
CGROUP_POLL_SECONDS = 0.005
# The font cache matplotlib builds where MPLCONFIGDIR points, on its first import there.
FONT_CACHE_PATTERN = "fontlist-*.json"


def font_cache(policy: SandboxPolicy, cache_root: str | None = None) -> list[str]:
    """matplotlib's list of the fonts a sandboxed kernel sees, built once per matplotlib version
    in a sandbox of the same view, and kept in the grader's cache folder (or `cache_root`).

    Each kernel's MPLCONFIGDIR, its /tmp, starts empty: matplotlib would scan the system's fonts
    again (fontconfig's fc-list included) in every kernel, 0.2 s of each learner's grading. The
    files returned go read-only into each kernel's /tmp (SandboxPolicy.tmp_files), where
    matplotlib finds them. No files without bwrap, where matplotlib is not installed or where
    the build fails: each kernel then builds its own, as before."""
    if policy.bwrap is None:  # no sandbox: kernels use the grader's own matplotlib cache
        return []
    try:
        version = importlib.metadata.version("matplotlib")
    except importlib.metadata.PackageNotFoundError:
        return []
    root = cache_root or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gradclip")
    folder = os.path.join(root, f"matplotlib-{version}-{_python_key()}")
    if not os.path.isdir(folder):
        try:
            _build_font_cache(policy, root, folder)
        except (OSError, subprocess.SubprocessError):
            return []
    return sorted(glob.glob(os.path.join(glob.escape(folder), FONT_CACHE_PATTERN)))


def _python_key() -> str:
    """Which Python (and so which matplotlib) a cache belongs to: a short digest of its path."""
    return hashlib.sha256(os.path.realpath(sys.prefix).encode()).hexdigest()[:12]


def _build_font_cache(policy: SandboxPolicy, root: str, folder: str) -> None:
    """Import matplotlib.font_manager once in a kernel's view of the system, with a new folder
    as its /tmp, which then becomes `folder` (renamed whole: a grading run beside this one sees
    it complete or not at all)."""
    os.makedirs(root, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="building-", dir=root)
    links, bound = _system_view(policy)
    command = [policy.bwrap, *NEW_ROOT, "--bind", scratch, "/tmp", *links,
               *(argument for path in bound for argument in ("--ro-bind", path, path)),
               "--unshare-all", "--die-with-parent", "--cap-drop", "ALL",
               *_scratch_environment(), "--chdir", "/tmp", "--",
               sys.executable, "-c", "import matplotlib.font_manager"]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        if glob.glob(os.path.join(glob.escape(scratch), FONT_CACHE_PATTERN)):
            os.rename(scratch, folder)
    except OSError:
        if not os.path.isdir(folder):  # a run beside this one may have built it first
            raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def sandbox_command(kernel_cmd: list[str], cwd: str, runtime_dir: str,
                    policy: SandboxPolicy, cgroup: str | None = None) -> list[str]:
    """The kernel command, limited by prlimit and, with a policy's bwrap, inside the sandbox;
    with `cgroup`, it first moves itself into that cgroup (its children stay there)."""
    limits, enter = _limits(policy), _enter(cgroup)
    if policy.bwrap is None:
        return [*enter, *limits, *kernel_cmd]
    command = _bwrap(policy, cwd, runtime_dir, template=False)
    return [*enter, *command, "--chdir", cwd, "--", *limits, *kernel_cmd]


def template_command(policy: SandboxPolicy, root: str, runtime_root: str,
                     modules: list[str]) -> list[str]:
    """The warm-kernel template (autograder.warm) in a sandbox built as a kernel's, except that
    it sees all of `root` (the folder of every kernel's working folder) and keeps capabilities
    in its own namespaces: each kernel it forks builds its own view from it, then drops them."""
    assert policy.bwrap is not None, "warm kernels need the sandbox"
    command = _bwrap(policy, root, runtime_root, template=True)
    return [*_enter(None), *command, "--chdir", "/", "--",
            *_limits(policy), sys.executable, "-m", "autograder.warm",
            os.path.join(runtime_root, "control.sock"), json.dumps(modules)]


def _enter(cgroup: str | None) -> list[str]:
    """The shell that starts bwrap (with `cgroup`, after moving itself into it). nbgrader
    interrupts a cell that runs too long with SIGINT to the process group, which bwrap leads:
    bwrap must ignore it (or it would die, and the kernel with it). The kernel inherits the
    ignore, but ipykernel installs its own SIGINT handler around each cell."""
    join_cgroup = "" if cgroup is None else f'echo $$ > "{cgroup}/cgroup.procs" && '
    return ["sh", "-c", f'trap "" INT && {join_cgroup}exec "$@"', "sandbox"]


def _limits(policy: SandboxPolicy) -> list[str]:
    return ["prlimit", f"--data={policy.memory_bytes}", f"--fsize={policy.file_bytes}",
            f"--nproc={policy.max_processes}", "--"]


def _bwrap(policy: SandboxPolicy, cwd: str, runtime_dir: str, template: bool) -> list[str]:
    """bwrap and its arguments, up to the command. Only what a kernel needs is there: the
    system's software (SYSTEM_FOLDERS), the kernel's Python and the guard's package
    (policy.visible), its working folder (the template: the folder of all of them), a private
    /tmp. Not the rest of the machine: another copy of the course, another instructor's course,
    a home."""
    command = [policy.bwrap, *NEW_ROOT, "--tmpfs", "/tmp"]
    for path in policy.tmp_files:
        command += ["--ro-bind", path, os.path.join("/tmp", os.path.basename(path))]
    links, bound = _system_view(policy)
    command += links
    # The paths the grader hides, where the sandbox has them: in the scratch space (a grading run
    # under /tmp), inside what is bound (an exchange under /usr/local, solutions beside a venv).
    # They are empty and read-only, so that a write there fails instead of landing in a
    # throwaway folder. Mounts apply in order: first those that hold a bound folder (a home
    # under /tmp holding the course's venv), then the binds, then those inside the binds.
    hidden = [path for path in policy.hidden if os.path.lexists(path)
              and any(is_within(path, folder) for folder in [*bound, cwd, "/tmp"])]
    late = [path for path in hidden
            if any(is_within(path, folder) for folder in [*bound, cwd])]
    early = outermost([path for path in hidden if path not in late])
    late = outermost(late)
    in_cwd = [path for path in late if is_within(path, cwd)]
    command += _hide(early)
    for folder in bound:
        command += ["--ro-bind", folder, folder]
    command += _hide([path for path in late if path not in in_cwd])
    if template:
        command += ["--ro-bind", cwd, cwd, *_hide(in_cwd)]
    else:
        command += _working_folder(cwd, in_cwd)
    command += [argument for path in [*early, *late] if os.path.isdir(path)
                for argument in ("--remount-ro", path)]
    return [*command, "--bind", runtime_dir, runtime_dir,
            # No --new-session: nbgrader interrupts a cell that runs too long by signalling
            # the kernel's process group. The kernel has no terminal to inject into anyway
            # (jupyter_client starts it in a session of its own).
            "--unshare-all", "--die-with-parent",
            # The template keeps its capabilities (in its namespaces) for the views it builds;
            # each kernel drops them all before any learner code runs (autograder.warm).
            *(["--cap-add", "ALL"] if template else ["--cap-drop", "ALL"]),
            "--unsetenv", "JPY_PARENT_PID", *_scratch_environment(), "--remount-ro", "/"]


def _system_view(policy: SandboxPolicy) -> tuple[list[str], list[str]]:
    """bwrap arguments for the symbolic links among SYSTEM_FOLDERS (/bin -> usr/bin stays one),
    and the folders to bind read-only: the other system folders and policy.visible, outermost."""
    system = [folder for folder in SYSTEM_FOLDERS if os.path.lexists(folder)]
    links = [argument for link in system if os.path.islink(link)
             for argument in ("--symlink", os.readlink(link), link)]
    bound = outermost([*(folder for folder in system if not os.path.islink(folder)),
                       *(os.path.realpath(folder) for folder in policy.visible)])
    return links, bound


def _scratch_environment() -> list[str]:
    return [argument for name, value in SCRATCH_ENVIRONMENT.items()
            for argument in ("--setenv", name, value)]


def _working_folder(cwd: str, hidden_inside: list[str]) -> list[str]:
    """bwrap arguments for the kernel's working folder: what lies beside the notebook (modules,
    data), read-only, but no notebook. The notebook being graded holds every hidden test (nbgrader
    restores them into it before it runs), and so may another notebook of the assignment.

    Symbolic links stay out: bwrap would resolve them outside the sandbox, where they may point
    at what it hides (the gradebook). Links inside a folder resolve inside, where that is hidden.
    """
    arguments = ["--tmpfs", cwd]
    for entry in sorted(os.listdir(cwd)):
        path = os.path.join(cwd, entry)
        if entry.endswith(".ipynb") or entry == ".ipynb_checkpoints" or os.path.islink(path):
            continue
        arguments += ["--ro-bind", path, path]
    return [*arguments, *_hide(hidden_inside), "--remount-ro", cwd]


def _hide(paths: list[str]) -> list[str]:
    """bwrap arguments that make folders look empty and files look like /dev/null."""
    arguments = []
    for path in paths:
        if os.path.isdir(path):
            arguments += ["--tmpfs", path]
        elif os.path.exists(path):
            arguments += ["--ro-bind", "/dev/null", path]
    return arguments


class WarmProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, except that the kernel is forked from the worker's
    template (autograder.warm) instead of started from scratch; cold when the template cannot."""

    template: warm.KernelTemplate
    policy: SandboxPolicy
    cgroup: str | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs):
        km = self.parent
        cwd = os.path.abspath(kwargs.get("cwd") or os.getcwd())
        launcher = cmd.index("ipykernel_launcher") if "ipykernel_launcher" in cmd else -1
        if launcher >= 2 and cmd[launcher - 1] == "-m" and cmd[0] == sys.executable:
            limits = warm.Limits(self.policy.memory_bytes, self.policy.file_bytes,
                                 self.policy.max_processes)
            try:
                self.process = self.template.spawn(
                    cmd[launcher + 1:], dict(kwargs.get("env") or os.environ),
                    cwd, km._runtime_dir,
                    self.policy.hidden, self.policy.visible, limits, self.cgroup)
            except warm.TemplateUnavailable as error:
                self.log.warning("Starting the kernel cold: %s", error)
            else:
                self.pid, self.pgid, self.cwd = self.process.pid, None, kwargs.get("cwd")
                return self.connection_info
        return await super().launch_kernel(
            sandbox_command(cmd, cwd, km._runtime_dir, self.policy, self.cgroup), **kwargs)


# Waiting for a new kernel: how long its shell channel may take to answer kernel_info before it
# is asked again (jupyter_client's own wait), and how long IOPub may take to show the answer's
# "idle" status before it is asked again (it did not see the answer: it connected too late).
SHELL_ANSWER_SECONDS = 1.0
IOPUB_ANSWER_SECONDS = 0.05
# How often a kernel that was told to end is checked (jupyter_client checks every 0.1 s; a
# forked kernel ends in milliseconds, and each learner would wait out the rest).
EXIT_POLL_SECONDS = 0.005
# The client's sockets connect before the kernel has bound its own, and ZMQ tries again every
# 100 ms: a forked kernel, ready in tens of milliseconds, would wait out the rest. Here: after 5 ms,
# then twice as long each time, up to 100 ms (a cold kernel takes a second or more).
RECONNECT_MILLISECONDS = (5, 100)


class SandboxedKernelClient(AsyncKernelClient):
    """jupyter_client's client, but a new kernel is ready as soon as both channels have shown an
    answer to kernel_info. jupyter_client then waits for 0.2 s of silence on IOPub (and for 0.2 s
    more whenever IOPub connected too late to see the first answer); here IOPub's wait ends with
    the "idle" status of a kernel_info request, and a request that IOPub missed is repeated after
    0.05 s (jupyter_server's nudge repeats it every 0.5 s until IOPub shows something, for the
    same reason: a subscription is not there until it is connected). Each learner's kernel would
    otherwise cost 0.2 to 0.4 s of waiting. What else comes on IOPub or the shell channel belongs
    to kernel_info requests, which nbclient, matching replies to its own requests, leaves alone."""

    @default("context")
    def _context_default(self):
        context = super()._context_default()
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MILLISECONDS[0])
        context.setsockopt(zmq.RECONNECT_IVL_MAX, RECONNECT_MILLISECONDS[1])
        return context

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        if not isinstance(self.parent, KernelManager):  # jupyter_client's heartbeat wait first
            return await super().wait_for_ready(timeout=timeout)
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        asked: set[str] = set()
        reply = None
        while reply is None:
            asked.add(self.kernel_info())
            reply = await self._first(self.shell_channel, asked, SHELL_ANSWER_SECONDS, deadline,
                                      lambda message: message["msg_type"] == "kernel_info_reply")
            if reply is None:
                await self._check_ready(deadline, timeout)
        while await self._first(self.iopub_channel, asked, IOPUB_ANSWER_SECONDS, deadline,
                                _idle) is None:
            await self._check_ready(deadline, timeout)
            asked.add(self.kernel_info())
        self._handle_kernel_info_reply(reply)

    async def _check_ready(self, deadline: float, timeout: float | None) -> None:
        if not await self._async_is_alive():
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    @staticmethod
    async def _first(channel, requests: set[str], seconds: float, deadline: float,
                     wanted) -> dict | None:
        """The first message on `channel` that answers one of `requests` and is `wanted`, or
        None when none comes within `seconds` of the one before, or by `deadline`."""
        while True:
            try:
                message = await channel.get_msg(
                    timeout=max(0.0, min(seconds, deadline - time.monotonic())))
            except Empty:
                return None
            if message["parent_header"].get("msg_id") in requests and wanted(message):
                return message
            if time.monotonic() > deadline:
                return None


def _idle(message: dict) -> bool:
    return message["msg_type"] == "status" and message["content"].get("execution_state") == "idle"


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run under the policy in GRADCLIP_SANDBOX: forked from the
    worker's warm template where it has one (autograder.warm), started cold otherwise."""

    client_factory = Type(SandboxedKernelClient, klass=AsyncKernelClient, config=True)

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        await super()._async_wait(pollinterval=min(pollinterval, EXIT_POLL_SECONDS))

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    async def _async_pre_start_kernel(self, **kw):
        policy = SandboxPolicy.from_env() or SandboxPolicy(bwrap=find_bwrap())
        cwd = os.path.abspath(kw.get("cwd") or os.getcwd())
        template = warm.current_template()
        if template is not None and not template.serves(cwd):  # it exists only with bwrap
            template = None
        # One private directory for the connection file and the ZMQ sockets, bound into the
        # sandbox (its /tmp is a fresh tmpfs, so the default locations would not be seen).
        self._runtime_dir = (template.new_runtime_dir() if template is not None
                             else tempfile.mkdtemp(prefix="gradclip-kernel-"))
        self.connection_file = os.path.join(self._runtime_dir, "kernel.json")
        self.ip = os.path.join(self._runtime_dir, "zmq")
        self._cgroup = (create_pids_cgroup(policy.pids_cgroups, policy.kernel_processes)
                        if policy.pids_cgroups else None)
        if self.provisioner is None and template is not None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
            self.provisioner = WarmProvisioner(kernel_id=self.kernel_id,
                                               kernel_spec=self.kernel_spec, parent=self)
            self.provisioner.template = template
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        kernel_cmd = [*kernel_cmd, f"--IPKernelApp.extensions={GUARD_EXTENSION}"]
        if isinstance(self.provisioner, WarmProvisioner):
            self.provisioner.policy, self.provisioner.cgroup = policy, self._cgroup
            return kernel_cmd, kw
        return sandbox_command(kernel_cmd, cwd, self._runtime_dir, policy, self._cgroup), kw

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        runtime_dir = getattr(self, "_runtime_dir", None)
        if runtime_dir and not restart:
            shutil.rmtree(runtime_dir, ignore_errors=True)
        cgroup = getattr(self, "_cgroup", None)
        if cgroup and not restart:
            remove_pids_cgroup(cgroup)

    cleanup_resources = _async_cleanup_resources
