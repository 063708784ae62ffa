"""`python -m autograder return-feedback`: hand the feedback of a grading run back to the learners
through nbgrader's exchange (on JupyterHub: the learners' "Fetch Feedback" button).

`python -m autograder grade` keeps the receipts nbgrader's exchange wrote with each hand-in
(`nbgrader collect` copies them into the course's submitted/ folder). nbgrader's
`release_feedback` names every learner's feedback file after the secret in that receipt, so only
hand-ins that came through the exchange can go back through it; the others (a .zip from a
learning management system) are listed for returning by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import AutograderError, run_nbgrader
from autograder.layout import OutputLayout

SECRET = "submission_secret.txt"


@dataclass
class Returned:
    released: list[str] = field(default_factory=list)  # student ids
    by_hand: list[str] = field(default_factory=list)   # not handed in through the exchange


def return_feedback(assignment: str, out: Path) -> Returned:
    out = out.resolve()
    layout = OutputLayout(out)
    if not layout.is_grading_output():
        raise AutograderError(f"--out {out} is not a folder written by `python -m autograder "
                              "grade`; grade the assignment into it first")
    folders = layout.nbgrader_feedback(assignment)
    if not folders:
        raise AutograderError(f"no feedback for {assignment} in {out}: grade it first "
                              f"(python -m autograder grade {assignment} SUBMISSIONS --out {out})")
    returned = Returned()
    for folder in folders:
        student_id = folder.parent.name
        if (folder / SECRET).is_file() and any(folder.glob("*.html")):
            returned.released.append(student_id)
        else:
            returned.by_hand.append(student_id)
    if returned.released:
        log = layout.log
        excluded = ",".join(returned.by_hand)
        args = ["release_feedback", assignment,
                *([f"--CourseDirectory.student_id_exclude={excluded}"] if excluded else [])]
        result = run_nbgrader(args, cwd=layout.workspace, log=log)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise AutograderError(f"nbgrader release_feedback failed: {' '.join(last)} "
                                  f"(its whole output is in {log}). Is nbgrader's exchange "
                                  "configured (Exchange.root in nbgrader_config.py)?")
    return returned
