"""`python -m autograder.worker REPLY_FD ASSIGNMENT TIMEOUT`: a long-lived nbgrader process.

It reads requests from stdin, one JSON object per line — {"action": "autograde", "import" or
"feedback", "student": ID}, or {"action": "generate_assignment", "student": ""} once per run —
runs them through nbgrader's own Python API (`NbGraderAPI.autograde`, then
`generate_feedback`, as the formgrader does; `generate_assignment`; "import" scores a notebook a
cluster worker executed, without running it again) in the grading workspace (the current
folder), and answers each with one JSON line {"success", "log", "error"} on the file
descriptor REPLY_FD (not stdout: kernels share that). Starting Python and importing nbgrader
takes longer than grading a small notebook, so each worker grades many learners; the grader
keeps one per job.

Several of these grade different learners at the same time. nbgrader opens the gradebook briefly
at several points of `autograde` (to register the student, restore the locked cells, save the
scores), and two processes writing one SQLite file at once fail with "database is locked". Each
Gradebook here holds an exclusive lock on a file beside it (GRADCLIP_GRADEBOOK_LOCK) from when it
is opened until it is closed; the long part, executing the notebook, runs without the lock, in
parallel. The lock also serializes the writers of a server database (--db), which nbgrader's
autograde does not expect to race either.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import sys

LOCK_VARIABLE = "GRADCLIP_GRADEBOOK_LOCK"
# Where `grade --cluster` puts the notebooks its Dask workers executed, for the "import" action
# (beside nbgrader's submitted/, which keeps what the learners handed in).
EXECUTED_FOLDER = "executed"
# Set to "1" (grade --feedback-shows-hidden-tests): feedback as nbgrader writes it, hidden tests
# included. Otherwise autograder.feedback.HideHiddenTests takes them out.
SHOW_HIDDEN_TESTS_VARIABLE = "GRADCLIP_FEEDBACK_SHOWS_HIDDEN_TESTS"
# What one output may keep in the graded notebook and the feedback. nbgrader's LimitOutput counts
# lines only, so a single 100 MB line would be kept whole.
MAX_TEXT_CHARACTERS = 100_000
MAX_DATA_CHARACTERS = 5_000_000  # an image is base64 text; a plot takes ~100 k


class GradebookLock:
    """A process-wide, re-entrant exclusive lock on a file."""

    def __init__(self, path: str) -> None:
        self.path, self.depth, self.handle = path, 0, None

    def acquire(self) -> None:
        if self.depth == 0:
            self.handle = open(self.path, "a")  # noqa: SIM115 - held across calls
            fcntl.flock(self.handle, fcntl.LOCK_EX)
        self.depth += 1

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0 and self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def install_lock(path: str) -> None:
    from nbgrader import api

    lock = GradebookLock(path)
    original_init, original_close = api.Gradebook.__init__, api.Gradebook.close

    def init(self, *args, **kwargs):
        lock.acquire()
        self._gradclip_locked = True
        try:
            original_init(self, *args, **kwargs)
        except BaseException:
            self._gradclip_locked = False
            lock.release()
            raise

    def close(self):
        try:
            original_close(self)
        finally:
            if getattr(self, "_gradclip_locked", False):
                self._gradclip_locked = False
                lock.release()

    api.Gradebook.__init__, api.Gradebook.close = init, close


def read_schema_version_in_process() -> None:
    """nbgrader stamps a new gradebook with the version of its schema, which it gets by running
    `alembic heads` in a subprocess: a second Python that imports alembic and SQLAlchemy, 1.1 to
    1.5 s of CPU before the first learner can be graded. Read the same head from nbgrader's
    migration scripts here, in 0.08 s (alembic raises if they ever have two heads, where nbgrader
    would take the first it prints)."""
    from alembic.script import ScriptDirectory
    from nbgrader import api, dbutil

    def get_alembic_version() -> str:
        return ScriptDirectory(dbutil.ALEMBIC_DIR).get_current_head()

    api.get_alembic_version = get_alembic_version


def reuse_engines() -> None:
    """nbgrader opens a Gradebook about ten times for each learner, and each makes a new
    SQLAlchemy engine, whose cache of compiled statements starts empty: the same hundred queries
    are compiled again for every learner (0.1 s of its 0.2 s in the gradebook). Give each
    Gradebook of one SQLite database the engine the last one had, without a pool (NullPool, as
    SQLAlchemy before 2.0 made them for SQLite files): each connection is closed as soon as its
    session lets it go, so none outlives a Gradebook, even one whose opening failed or one opened
    inside another, and a gradebook file replaced between two opens is opened anew. Opening a
    SQLite connection takes microseconds; a server database (--db) keeps nbgrader's own engine
    per Gradebook, whose connections cost a round trip each."""
    from nbgrader import api
    from sqlalchemy.pool import NullPool

    engines: dict[tuple, object] = {}
    original = api.create_engine

    def create_engine(url, *args, **kwargs):
        if not str(url).startswith("sqlite:") or "poolclass" in kwargs:
            return original(url, *args, **kwargs)
        key = (str(url), args, tuple(sorted(kwargs.items())))
        if key not in engines:
            engines[key] = original(url, *args, poolclass=NullPool, **kwargs)
        return engines[key]

    api.create_engine = create_engine


def limit_output_size() -> None:
    """Make nbgrader's LimitOutput also cut outputs that are too long in characters."""
    from nbgrader.preprocessors.limitoutput import LimitOutput

    original = LimitOutput.preprocess_cell

    def preprocess_cell(self, cell, resources, index):
        cell, resources = original(self, cell, resources, index)
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), str) and len(output.text) > MAX_TEXT_CHARACTERS:
                cut = len(output.text) - MAX_TEXT_CHARACTERS
                output.text = (output.text[:MAX_TEXT_CHARACTERS]
                               + f"\n... Output truncated: {cut} more characters ...\n")
            data = output.get("data", {})
            for mime, value in list(data.items()):
                if isinstance(value, str) and len(value) > MAX_DATA_CHARACTERS:
                    data.pop(mime)
                    data.setdefault("text/plain", f"[{mime} output of {len(value)} characters "
                                                  "removed: too large]")
        return cell, resources

    LimitOutput.preprocess_cell = preprocess_cell


def serve(reply_fd: int, assignment: str, timeout: int) -> None:
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    from autograder.cell_metadata import check_schema_once

    config = PyFileConfigLoader("nbgrader_config.py", path=os.getcwd()).load_config()
    overrides = Config()
    overrides.Execute.timeout = timeout
    # After a cell's reply, nbclient waits for the rest of its output, 4 s by default, and nbgrader
    # then fails the whole notebook: a learner's 100 MB print, still streaming on a busy machine,
    # would cost every point. Let the output take as long as a cell may.
    overrides.Execute.iopub_timeout = timeout
    overrides.Execute.kernel_manager_class = "autograder.sandbox.SandboxedKernelManager"
    # Once the last cell has answered, everything is in the notebook: the kernel is killed, not
    # asked to end (a kernel started cold takes 0.3 s to end, and a learner's atexit handler as
    # long as it likes, up to jupyter_client's 5 s).
    overrides.Execute.shutdown_kernel = "immediate"
    overrides.GenerateFeedback.exporter_class = "autograder.feedback.FeedbackExporter"
    if os.environ.get(SHOW_HIDDEN_TESTS_VARIABLE) != "1":
        from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
        from nbgrader.preprocessors import GetGrades

        from autograder.feedback import HideHiddenTests

        # nbgrader's own list, with the hidden tests taken out after the scores are read.
        overrides.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests,
                                                    CSSHTMLHeaderPreprocessor]
    config.merge(overrides)
    check_schema_once(config)
    template = _start_template(assignment)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    importer_config = copy.deepcopy(config)
    importer_config.merge(_import_overrides())
    check_schema_once(importer_config)
    importer = NbGraderAPI(coursedir=CourseDirectory(config=importer_config),
                           config=importer_config)
    try:
        _answer(api, importer, assignment, reply_fd)
    finally:
        if template is not None:
            template.close()


def _start_template(assignment: str):
    """The warm-kernel template for this worker's kernels (autograder.warm), started now so
    that it imports the lesson's modules while nbgrader gets ready; None without the sandbox."""
    import tempfile

    from autograder import warm
    from autograder.sandbox import SandboxPolicy, template_command

    policy = SandboxPolicy.from_env()
    if policy is None or policy.bwrap is None or not policy.warm_kernels:
        return None
    root = os.path.join(os.getcwd(), "autograded")  # where nbgrader runs each learner's notebook
    os.makedirs(root, exist_ok=True)
    modules = warm.preload_modules(os.path.join(os.getcwd(), "source", assignment))
    runtime_root = tempfile.mkdtemp(prefix="gradclip-warm-")
    return warm.start_template(template_command(policy, root, runtime_root, modules), root,
                               runtime_root)


def _import_overrides():
    """nbgrader's autograde without executing: for a notebook a cluster worker has run
    (`grade --cluster`), placed in EXECUTED_FOLDER. Its outputs are kept (no ClearOutput) and
    scored, saved to the gradebook with late penalties, and written to autograded/, exactly
    as nbgrader's own pipeline does after its Execute step."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
        OverwriteKernelspec,
        SaveAutoGrades,
    )
    from traitlets.config import Config

    overrides = Config()
    overrides.CourseDirectory.submitted_directory = EXECUTED_FOLDER
    overrides.Autograde.sanitize_preprocessors = [DeduplicateIds, OverwriteKernelspec,
                                                  CheckCellMetadata]
    overrides.Autograde.autograde_preprocessors = [IgnorePattern, ClearMetadataPreprocessor,
                                                   LimitOutput, SaveAutoGrades,
                                                   AssignLatePenalties, CheckCellMetadata]
    return overrides


def _answer(api, importer, assignment: str, reply_fd: int) -> None:
    with os.fdopen(reply_fd, "w", encoding="utf-8") as replies:
        for line in sys.stdin:
            request = json.loads(line)
            student = request["student"]
            if request["action"] == "generate_assignment":
                # The release version and the gradebook's record of the assignment, in this
                # already started process (a `nbgrader generate_assignment` of its own would
                # import nbgrader once more, for seconds, at every grading run).
                result = api.generate_assignment(assignment, force=True, create=True)
            elif request["action"] in ("autograde", "import"):
                grader = api if request["action"] == "autograde" else importer
                result = grader.autograde(assignment, student)
                if result["success"]:
                    feedback = api.generate_feedback(assignment, student)
                    result = {**feedback, "log": result.get("log", "") + feedback.get("log", "")}
            else:
                result = api.generate_feedback(assignment, student)
            replies.write(json.dumps({"success": bool(result["success"]),
                                      "log": result.get("log", ""),
                                      "error": result.get("error", "")}) + "\n")
            replies.flush()


def main() -> None:
    if os.environ.get(LOCK_VARIABLE):
        install_lock(os.environ[LOCK_VARIABLE])
    read_schema_version_in_process()
    reuse_engines()
    limit_output_size()
    reply_fd, assignment, timeout = sys.argv[1:4]
    serve(int(reply_fd), assignment, int(timeout))


if __name__ == "__main__":
    main()
