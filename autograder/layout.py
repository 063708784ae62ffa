"""The layout of a grading run's --out folder, in one place.

    OUT/
      grades.csv  report.html  similarity.csv     what the instructor reads
      feedback/<student_id>/<notebook>.html      what goes back to each learner
      gradebook.db  autograder.log  autograder-workers.log  gradebook.lock
      unzipped/                                   a .zip of hand-ins, unpacked
      nbgrader/                                   nbgrader's course root for this run:
        nbgrader_config.py  source/ release/ submitted/ autograded/ feedback/

`python -m autograder grade` writes it, `return-feedback` reads it, and the classroom on
JupyterHub opens the formgrader in its nbgrader/ folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Marks a folder as ours, so that a re-run may replace what an earlier run wrote there.
OUTPUT_MARKER = ".gradclip-autograder-output"


@dataclass(frozen=True)
class OutputLayout:
    root: Path

    # What the instructor reads.
    @property
    def grades_csv(self) -> Path:
        return self.root / "grades.csv"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def similarity_csv(self) -> Path:
        return self.root / "similarity.csv"

    def feedback_file(self, student_id: str, notebook: str) -> Path:
        """The feedback to hand back: OUT/feedback/<student_id>/<notebook>.html."""
        return self.root / "feedback" / student_id / Path(notebook).with_suffix(".html").name

    # The run's own bookkeeping.
    @property
    def marker(self) -> Path:
        return self.root / OUTPUT_MARKER

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def log(self) -> Path:
        return self.root / "autograder.log"

    @property
    def workers_log(self) -> Path:
        return self.root / "autograder-workers.log"

    @property
    def gradebook_lock(self) -> Path:
        return self.root / "gradebook.lock"

    @property
    def unzipped(self) -> Path:
        return self.root / "unzipped"

    # nbgrader's course root for the run (its folders are nbgrader's defaults).
    @property
    def workspace(self) -> Path:
        return self.root / "nbgrader"

    @property
    def workspace_config(self) -> Path:
        return self.workspace / "nbgrader_config.py"

    def source(self, assignment: str) -> Path:
        return self.workspace / "source" / assignment

    def released(self, assignment: str, notebook: str) -> Path:
        return self.workspace / "release" / assignment / notebook

    def submitted(self, student_id: str, assignment: str) -> Path:
        return self.workspace / "submitted" / student_id / assignment

    def autograded(self, student_id: str, assignment: str) -> Path:
        return self.workspace / "autograded" / student_id / assignment

    def nbgrader_feedback(self, assignment: str) -> list[Path]:
        """nbgrader's feedback folders of `assignment`, feedback/<student_id>/<assignment>."""
        return sorted(path for path in (self.workspace / "feedback").glob(f"*/{assignment}")
                      if path.is_dir())

    def learner_files(self, student_id: str) -> list[Path]:
        """Every folder under OUT that holds one learner's notebooks or feedback."""
        return [self.workspace / folder / student_id
                for folder in ("submitted", "autograded", "feedback")] + [
                self.root / "feedback" / student_id]

    def is_grading_output(self) -> bool:
        return self.marker.is_file() and self.workspace.is_dir()
