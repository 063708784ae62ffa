"""`make release`: regenerate course/ from solutions/ with nbgrader generate_assignment."""

from __future__ import annotations

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
