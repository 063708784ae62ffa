"""`make release` and `make outputs`: keep course/ and the stored outputs of solutions/ current."""

from __future__ import annotations

from pathlib import Path

from autograder.course import AutograderError, Course, run_nbgrader


def release(course: Course, assignments: list[str] | None = None) -> list[str]:
    """Regenerate course/<assignment>/ for each assignment (all by default); return their names."""
    names = assignments or course.assignments()
    for name in names:
        course.source_dir(name)  # a clear error for an unknown name, before nbgrader runs
        # --no-db: releasing must not create a gradebook in the repository.
        result = run_nbgrader(["generate_assignment", name, "--force", "--no-db"], cwd=course.root)
        if result.returncode != 0:
            raise AutograderError(
                f"nbgrader generate_assignment {name} failed:\n{result.stdout}{result.stderr}")
        print(f"released {course.released / name}")
    return names


def refresh_outputs(course: Course, assignments: list[str] | None = None) -> list[Path]:
    """Re-execute the solution notebooks in place, so the outputs instructors read are current.

    Outputs are stored reproducibly: no per-cell timing metadata, and consecutive stream outputs
    merged (the kernel may flush one print() in pieces, differently from run to run).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    written = []
    for name in assignments or course.assignments():
        for path in sorted(course.source_dir(name).glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            # A cell may train for many minutes at full size (lesson 08's sweep on a CPU).
            client = NotebookClient(notebook, timeout=3600, kernel_name="python3",
                                    record_timing=False,
                                    resources={"metadata": {"path": str(path.parent)}})
            try:
                client.execute()
            except Exception as error:  # CellExecutionError, timeouts, a dead kernel
                raise AutograderError(f"{path} failed to execute; nothing was written:\n"
                                      f"{error}") from error
            notebook, _ = CoalesceStreamsPreprocessor().preprocess(notebook, {})
            nbformat.write(notebook, path)
            print(f"executed {path}")
            written.append(path)
    return written
