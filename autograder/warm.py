"""Warm kernels: each learner's kernel is forked from a template that has already imported what
the lesson needs, instead of starting Python, ipykernel, NumPy and PyTorch again (seconds of CPU).

One template per grading worker (autograder.worker), started when the worker starts:
`python -m autograder.warm` inside a bubblewrap sandbox built as for a kernel
(autograder.sandbox), with two differences: it sees the whole folder that the kernels' working
folders lie in (`autograded/`, read-only), and it keeps capabilities in its namespaces, so that
each child can build a view of its own. It imports the modules the assignment's notebooks import
(`preload_modules`), then waits on a Unix socket in a runtime folder of its own.

For each kernel (`KernelTemplate.spawn`, called by the kernel provisioner in autograder.sandbox):

    worker ──request──> template ──fork──> setup (new mount, PID, IPC, UTS namespaces)
                                              └─fork──> kernel (PID 1 of its namespace)

The setup child, before any learner code exists: a fresh /tmp and /dev/shm, the folder of every
other learner and the template's runtime folder covered, the kernel's working folder made of what
lies beside its notebook (read-only, no notebook: autograder.sandbox._working_folder says why),
its own ZMQ socket folder. The kernel child mounts its own /proc, reports its process ID to the
worker (SO_PASSCRED: the worker gets it as seen from outside, to signal it and put it in the
kernel's pids cgroup), waits for the go, then sets the memory, file-size and process limits, drops
every capability (bounding set included) and sets no_new_privs, as bubblewrap's --cap-drop ALL
does, closes every inherited descriptor, takes the environment the kernel manager gave, reseeds
the random generators it inherited, and runs ipykernel as `python -m ipykernel_launcher` would.

What a learner's code changes is its own: its memory is a copy (sys.modules, environment, patched
functions), its files are on mounts that end with it, its processes end with its PID namespace,
its System V IPC objects with its IPC namespace. The template never holds learner data: the
request is read in the setup child.
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import importlib
import importlib.util
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

INLINE_BACKEND_MODULE = "matplotlib_inline.backend_inline"
INLINE_BACKEND = f"module://{INLINE_BACKEND_MODULE}"
# Always loaded: the kernel itself (its debugger brings debugpy, a tenth of a second that every
# kernel would pay again when it starts) and the guard's first import (autograder.kernel_guard).
BASE_MODULES = ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger",
                INLINE_BACKEND_MODULE, "numpy.testing", "autograder.kernel_guard"]
# Where a sandboxed kernel's home, matplotlib's configuration and temporary files go: its own
# /tmp, a fresh tmpfs (the grader's home is not there).
SCRATCH_ENVIRONMENT = {"HOME": "/tmp", "MPLCONFIGDIR": "/tmp", "TMPDIR": "/tmp"}
START_SECONDS = 120   # the template's imports (PyTorch: seconds; more on a loaded machine)
SPAWN_SECONDS = 60    # fork, namespaces, mounts: milliseconds; the margin is for a loaded machine


class TemplateUnavailable(Exception):
    """The template cannot give this kernel; the caller starts it cold."""


# ----------------------------------------------------------------------------------------------
# In the worker

def preload_modules(folder: str) -> list[str]:
    """The installed modules that the notebooks in `folder` import at the top of a cell's code
    (not the assignment's own files, such as two_ranks.py: they come with each learner's folder).
    """
    found: list[str] = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".ipynb"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                cells = json.load(handle).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells:
            if cell.get("cell_type") != "code":
                continue
            source = "".join(cell.get("source", ""))
            # IPython's magics and shell escapes are not Python.
            code = "\n".join(line for line in source.splitlines()
                             if not line.lstrip().startswith(("%", "!")))
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, ast.Import):
                    found += [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.append(node.module)
    return [name for name in dict.fromkeys(found) if _installed(name, folder)]


def _installed(module: str, folder: str) -> bool:
    """Whether the top-level package of `module` comes from this Python's installation."""
    try:
        spec = importlib.util.find_spec(module.partition(".")[0])
    except (ImportError, ValueError):
        return False
    origin = getattr(spec, "origin", None) or ""
    roots = (os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix))
    return (spec is not None and origin not in ("", "built-in", "frozen")
            and os.path.realpath(origin).startswith(roots)
            and not os.path.realpath(origin).startswith(os.path.realpath(folder)))


@dataclass
class Limits:
    memory_bytes: int
    file_bytes: int
    max_processes: int


class ForkedKernel:
    """What LocalProvisioner expects of a subprocess.Popen, for a kernel forked by the template:
    it is not our child, so it is watched through a pidfd and signalled by its process ID."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, exit_file: str) -> None:
        self.pid, self.exit_file = pid, exit_file
        self.pidfd = os.pidfd_open(pid)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self.pidfd], [], [], 0)[0]:
            self._ended()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self.pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            self._ended()
        return self.returncode

    def _ended(self) -> None:
        # The setup process writes the kernel's exit status once it has collected it.
        deadline = time.monotonic() + 2
        while not os.path.exists(self.exit_file) and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            with open(self.exit_file) as handle:
                self.returncode = int(handle.read().strip() or 1)
        except (OSError, ValueError):
            self.returncode = 1
        os.close(self.pidfd)

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class KernelTemplate:
    """The worker's handle on its template process."""

    def __init__(self, command: list[str], root: str, runtime_root: str) -> None:
        self.root, self.runtime_root = root, runtime_root
        self.control = os.path.join(runtime_root, "control.sock")
        self.kernels = os.path.join(runtime_root, "kernels")
        os.makedirs(self.kernels, exist_ok=True)
        read_end, write_end = os.pipe()
        self.process = subprocess.Popen([*command, str(write_end)], pass_fds=(write_end,),
                                        stdin=subprocess.DEVNULL)
        os.close(write_end)
        self.ready_pipe, self.ready, self.failure = read_end, False, ""

    def serves(self, cwd: str) -> bool:
        return is_within(cwd, self.root) and cwd != self.root and self.usable()

    def usable(self) -> bool:
        if self.failure:
            return False
        if self.process.poll() is not None:
            self.failure = f"the template process ended (exit status {self.process.returncode})"
            return False
        return True

    def _wait_ready(self) -> None:
        if self.ready:
            return
        chosen = select.select([self.ready_pipe], [], [], START_SECONDS)[0]
        line = os.read(self.ready_pipe, 4096).decode(errors="replace") if chosen else ""
        os.close(self.ready_pipe)
        if not line.startswith("ready"):
            self.failure = line.strip() or "the template did not start"
            self.close()
            raise TemplateUnavailable(self.failure)
        self.ready = True

    def new_runtime_dir(self) -> str:
        """A folder for one kernel's connection file and sockets, inside what the template sees
        (the kernel finds it at the same path)."""
        return tempfile.mkdtemp(prefix="k-", dir=self.kernels)

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str, runtime_dir: str,
              hidden: list[str], visible: list[str], limits: Limits,
              cgroup: str | None) -> ForkedKernel:
        """A kernel forked from the template, running `python -m ipykernel_launcher ARGS`."""
        if not self.usable():
            raise TemplateUnavailable(self.failure)
        self._wait_ready()
        request = {"argv": argv, "env": env, "cwd": cwd, "runtime_dir": runtime_dir,
                   "root": self.root, "runtime_root": self.runtime_root, "hidden": hidden,
                   "visible": [os.path.realpath(path) for path in visible],
                   "limits": limits.__dict__}
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            connection.settimeout(SPAWN_SECONDS)
            connection.connect(self.control)
            connection.sendall(json.dumps(request).encode() + b"\n")
            message, ancillary, _, _ = connection.recvmsg(4096, socket.CMSG_SPACE(12))
            if not message.startswith(b"ready"):
                raise TemplateUnavailable(message.decode(errors="replace").strip()
                                          or "the template closed the connection")
            pid = _sender_pid(ancillary)
            if cgroup is not None:  # before the kernel runs anything: its children stay there
                with open(os.path.join(cgroup, "cgroup.procs"), "w") as handle:
                    handle.write(str(pid))
            kernel = ForkedKernel(pid, os.path.join(runtime_dir, "exit-status"))
            connection.sendall(b"go\n")
            return kernel
        except OSError as error:
            raise TemplateUnavailable(f"the template did not answer: {error}") from error
        finally:
            connection.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self.ready_pipe)
        shutil.rmtree(self.runtime_root, ignore_errors=True)


def _sender_pid(ancillary) -> int:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            return struct.unpack("iII", data[:12])[0]
    raise TemplateUnavailable("the kernel's process ID did not come with its first message")


def is_within(path: str, folder: str) -> bool:
    path, folder = os.path.abspath(path), os.path.abspath(folder)
    return os.path.commonpath([path, folder]) == folder


def outermost(paths: list[str]) -> list[str]:
    """`paths` without those inside another of them."""
    return [path for path in paths
            if not any(is_within(path, other) and path != other for other in paths)]


_template: KernelTemplate | None = None


def start_template(command: list[str], root: str, runtime_root: str) -> KernelTemplate:
    """Start this process's template (the grading worker calls it once)."""
    global _template
    _template = KernelTemplate(command, root, runtime_root)
    return _template


def current_template() -> KernelTemplate | None:
    return _template


# ----------------------------------------------------------------------------------------------
# In the template and its children (Linux system calls through ctypes; Python 3.11 has no
# os.unshare)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID = 0x20000, 0x4000000, 0x8000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


def _call(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    def encode(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    _call(_libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags),
                      encode(data)), f"mount {target}")


def _fresh_tmpfs(target: str, mode: str = "1777") -> None:
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode}")


def _read_only(target: str) -> None:
    """Make one mount read-only, keeping the flags that may be locked to it."""
    flags = os.statvfs(target).f_flag
    kept = flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
    kept |= (MS_NOATIME if flags & 1024 else 0) | (MS_NODIRATIME if flags & 2048 else 0)
    kept |= MS_RELATIME if flags & 4096 else 0
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def _bind_from(descriptor: int, target: str) -> None:
    _mount(f"/proc/self/fd/{descriptor}", target, None, MS_BIND | MS_REC)


def _drop_capabilities() -> None:
    """No capability left, none to regain by exec (bounding and ambient sets empty)."""
    with open("/proc/sys/kernel/cap_last_cap") as handle:
        last = int(handle.read())
    for capability in range(last + 1):
        _call(_libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0), "drop a capability")
    _call(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient caps")
    header = struct.pack("Ii", LINUX_CAPABILITY_VERSION_3, 0)
    data = ctypes.create_string_buffer(24)  # effective, permitted, inheritable; twice, all zero
    _call(_libc.capset(ctypes.c_char_p(header), data), "capset")
    _call(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _preload(modules: list[str]) -> list[str]:
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)  # as ipykernel sets it, before matplotlib
    failed = []
    for module in [*BASE_MODULES, *modules]:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001  (the kernel will import it again and show the error)
            failed.append(module)
    return failed


def _serve(control: str, ready_fd: int, modules: list[str]) -> None:
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.getcwd():
        del sys.path[0]  # `python -m` put the current folder first; ipykernel adds its own
    _preload(modules)
    import threading

    with os.fdopen(ready_fd, "w") as ready:
        # fork copies one thread: a module that started a Python thread (it may hold a lock the
        # child would wait for) cannot be forked. Native pools that handle fork themselves
        # (OpenBLAS's, through pthread_atfork) are no obstacle.
        if threading.active_count() != 1:
            names = [thread.name for thread in threading.enumerate()]
            ready.write(f"not ready: the preloaded modules started threads {names}\n")
            return
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(control)
        listener.listen(8)
        ready.write("ready\n")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # setup children are reaped by the system
    while True:
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            _setup_child(connection)  # never returns
        connection.close()


def _setup_child(connection: socket.socket) -> None:
    """The setup child: read the request, build the kernel's view, fork the kernel, wait for it."""
    status = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        request = json.loads(connection.makefile("rb").readline())
        _call(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        # Opened in the new mount namespace (a bind takes its source from the caller's own).
        descriptors = _open_what_the_kernel_keeps(request)
        _build_view(request, descriptors)
        kernel = os.fork()
        if kernel == 0:
            _kernel_child(connection, request)  # never returns
        connection.close()
        for descriptor in descriptors.values():
            os.close(descriptor)
        _, wait_status = os.waitpid(kernel, 0)
        status = os.waitstatus_to_exitcode(wait_status)
        with open(os.path.join(request["runtime_dir"], "exit-status"), "w") as handle:
            handle.write(str(status))
    except BaseException as error:  # noqa: BLE001  (reported to the worker, which starts it cold)
        with contextlib.suppress(OSError):
            connection.sendall(f"error: {type(error).__name__}: {error}\n".encode())
    finally:
        os._exit(0 if status == 0 else 1)


def _open_what_the_kernel_keeps(request: dict) -> dict[str, int]:
    """Descriptors (O_PATH) for what is mounted into the kernel's view, opened while the
    template's paths still lead to it: its runtime folder and each entry of its working folder."""
    cwd = request["cwd"]
    # What the grader hides inside the working folder (the folder itself lies in a hidden one).
    hidden = [path for path in request["hidden"] if is_within(path, cwd)]
    kept = {request["runtime_dir"]: os.open(request["runtime_dir"], os.O_PATH)}
    for entry in sorted(os.listdir(cwd)):
        path = os.path.join(cwd, entry)
        # No notebook (the hidden tests are restored into it), no symbolic link (it would resolve
        # in the template's view), nothing the grader hides.
        if (entry.endswith(".ipynb") or entry == ".ipynb_checkpoints" or os.path.islink(path)
                or any(is_within(path, secret) for secret in hidden)):
            continue
        kept[path] = os.open(path, os.O_PATH | os.O_NOFOLLOW)
    return kept


def _build_view(request: dict, descriptors: dict[str, int]) -> None:
    cwd, runtime_dir = request["cwd"], request["runtime_dir"]
    covered = ["/tmp", *(folder for folder in (request["root"], request["runtime_root"])
                         if not is_within(folder, "/tmp"))]
    # What the grader hides, where a fresh mount below would otherwise show an empty, writable
    # folder at its path (a grading run under /tmp): empty and read-only, as in a cold sandbox.
    hidden = outermost([path for path in request["hidden"] if os.path.lexists(path)
                         and any(is_within(path, folder) for folder in covered)])
    hidden_folders = [path for path in hidden if os.path.isdir(path)]
    # What the kernel needs that lies under what is covered (a clone of the course under /tmp,
    # its Python there): kept, with what the template's sandbox hides inside it.
    needed = outermost([path for path in request["visible"] if os.path.isdir(path)
                         and any(is_within(path, folder) for folder in covered)])
    needed_descriptors = {path: os.open(path, os.O_PATH) for path in needed}
    for folder in covered:  # every learner's folder and the template's sockets: gone
        _fresh_tmpfs(folder, "755" if folder != "/tmp" else "1777")
    if os.path.isdir("/dev/shm"):
        _fresh_tmpfs("/dev/shm")
    for path in hidden:
        if path in hidden_folders:
            os.makedirs(path, exist_ok=True)
            _fresh_tmpfs(path, "755")
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").close()  # noqa: SIM115  (a mount point)
            _mount("/dev/null", path, None, MS_BIND)
            _read_only(path)
    for path, descriptor in needed_descriptors.items():
        os.makedirs(path, exist_ok=True)
        _bind_from(descriptor, path)
        _read_only(path)
        os.close(descriptor)
    os.makedirs(runtime_dir, exist_ok=True)
    _bind_from(descriptors[runtime_dir], runtime_dir)
    os.makedirs(cwd, exist_ok=True)
    _fresh_tmpfs(cwd, "755")
    for path, descriptor in descriptors.items():
        if path == runtime_dir:
            continue
        if os.path.isdir(f"/proc/self/fd/{descriptor}"):
            os.mkdir(path)
        else:
            open(path, "w").close()  # noqa: SIM115  (a mount point)
        _bind_from(descriptor, path)
        _read_only(path)
    # Hidden inside what lies beside the notebook (the entries themselves were left out).
    for path in outermost([path for path in request["hidden"] if is_within(path, cwd)]):
        if path in descriptors or not os.path.lexists(path):
            continue
        if os.path.isdir(path):
            _fresh_tmpfs(path, "755")
            hidden_folders.append(path)
        else:
            _mount("/dev/null", path, None, MS_BIND)
            _read_only(path)
    for folder in [cwd, *hidden_folders, *covered[1:], "/dev"]:
        _read_only(folder)


def _kernel_child(connection: socket.socket, request: dict) -> None:
    try:
        _call(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent-death signal")
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        connection.sendall(b"ready\n")  # the worker reads our process ID from it (SO_PASSCRED)
        if not connection.makefile("rb").readline().startswith(b"go"):
            os._exit(1)
        limits = request["limits"]
        import resource

        resource.setrlimit(resource.RLIMIT_DATA, (limits["memory_bytes"],) * 2)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["max_processes"],) * 2)
        _drop_capabilities()
        connection.close()
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.update(SCRATCH_ENVIRONMENT)
        os.environ.pop("JPY_PARENT_PID", None)
        os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
        os.chdir(request["cwd"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        # PID 1 of its namespace gets no signal it has no handler for: end on SIGTERM as a
        # kernel started cold would.
        signal.signal(signal.SIGTERM, lambda *_: os._exit(128 + signal.SIGTERM))
        _reseed()
    except BaseException as error:  # noqa: BLE001
        with contextlib.suppress(OSError):
            connection.sendall(f"error: {type(error).__name__}: {error}\n".encode())
        os._exit(1)
    # The inline backend connects itself to IPython's shell when it is imported (it registers
    # the hook that shows each figure as an image). Imported in the template, before any shell,
    # it connected nothing: each kernel imports it again (milliseconds, matplotlib stays loaded)
    # when matplotlib first asks for its backend, as a cold kernel does.
    sys.modules.pop(INLINE_BACKEND_MODULE, None)
    sys.argv = ["ipykernel_launcher", *request["argv"]]
    sys.path.insert(0, request["cwd"])  # as `python -m` puts it: the notebook's own modules
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
    sys.exit(0)


def _reseed() -> None:
    """Every fork would otherwise draw the same 'random' numbers (Python's own random module
    reseeds itself after a fork; NumPy's and PyTorch's global generators do not)."""
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    if "torch" in sys.modules:
        sys.modules["torch"].seed()


def main() -> None:
    control, modules, ready_fd = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
    _serve(control, ready_fd, modules)


if __name__ == "__main__":
    main()
