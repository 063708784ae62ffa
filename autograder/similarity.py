"""Hand-ins that are unusually alike: OUT/similarity.csv and a section of the class report.

Each learner's answer cells (the code cells nbgrader marks as solutions) are tokenized and
fingerprinted as MOSS does, with copydetect (a maintained implementation of winnowing, Schleimer,
Wilkerson and Aiken, SIGMOD 2003): Pygments' tokens with every variable, function and class name
replaced by one letter, comments, whitespace and strings' contents left out, so renaming and
reformatting change little; brackets and commas are dropped too, since a formatter adds and
removes them (parentheses around a tuple, a trailing comma). Fingerprints of the released stub
(what every learner was given) are removed first. Two learners' similarity is the share of the
smaller fingerprint set that the other one also has: 1.0 when one's answers are contained in the
other's.

It only flags: grades are never changed. Measured on this course (tests/test_similarity.py):
independent correct solutions of a lesson (the instructor's and tests/implementations/*/
alternative*.py) share at most 17 % of their fingerprints; one of them copied with every variable
renamed, re-laid-out by ast.unparse and commented shares 68 % to 100 %. FLAG_FROM lies between.
"""

from __future__ import annotations

import csv
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

# copydetect's defaults: fingerprints of 25 filtered characters, one kept from every 6 windows
# (any shared run of 30 characters or more is guaranteed to be found).
NOISE_THRESHOLD = 25
GUARANTEE_THRESHOLD = 30
# Pairs sharing this share of their fingerprints are flagged; those below REPORTED_FROM are not
# written (a class of n learners has n(n-1)/2 pairs, nearly all of them unrelated).
FLAG_FROM = 0.5
REPORTED_FROM = 0.25
# Too little code to tell copying from the obvious way of writing it (a one-line answer).
MIN_FINGERPRINTS = 10
# What a code formatter changes at will, left out of the filtered tokens.
LAYOUT_TOKENS = re.compile(r"[(),]")
CSV_COLUMNS = ["notebook", "student_a", "student_b", "similarity", "shared_fingerprints",
               "flagged"]


@dataclass(frozen=True)
class SimilarPair:
    notebook: str
    student_a: str
    student_b: str
    similarity: float   # shared fingerprints / the smaller set's size
    shared: int         # fingerprints both have
    flagged: bool


def answer_code(notebook) -> str:
    """The source of a notebook's answer cells (code cells marked as solutions), joined."""
    return "\n".join(cell.source for cell in notebook.cells
                     if cell.cell_type == "code"
                     and cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def fingerprints(code: str) -> set[int]:
    """Winnowed fingerprints of Python code, names, comments and layout filtered out."""
    from copydetect.utils import filter_code, get_document_fingerprints

    filtered, _ = filter_code(code, "answers.py", language="python")
    filtered = LAYOUT_TOKENS.sub("", filtered)
    if len(filtered) < NOISE_THRESHOLD:
        return set()
    hashes, _ = get_document_fingerprints(filtered, NOISE_THRESHOLD,
                                          GUARANTEE_THRESHOLD - NOISE_THRESHOLD + 1)
    return set(hashes)


def similar_pairs(answers: dict[str, str], stub: str, notebook: str) -> list[SimilarPair]:
    """Pairs of learners ({student_id: answer code}) at least REPORTED_FROM alike, most alike
    first. Code also in `stub` (the released notebook's answer cells) does not count."""
    given = fingerprints(stub)
    prints = {student: fingerprints(code) - given for student, code in answers.items()}
    prints = {student: found for student, found in prints.items()
              if len(found) >= MIN_FINGERPRINTS}
    pairs = []
    for first, second in itertools.combinations(sorted(prints), 2):
        shared = len(prints[first] & prints[second])
        similarity = shared / min(len(prints[first]), len(prints[second]))
        if similarity >= REPORTED_FROM:
            pairs.append(SimilarPair(notebook, first, second, round(similarity, 3), shared,
                                     similarity >= FLAG_FROM))
    return sorted(pairs, key=lambda pair: (-pair.similarity, -pair.shared, pair.student_a))


def class_similarity(handed_in: dict[str, dict[str, Path]],
                     released: dict[str, Path]) -> list[SimilarPair]:
    """Similar pairs in each notebook: `handed_in` {student_id: {notebook: the file graded}},
    `released` {notebook: the released notebook (its stubs are every learner's)}."""
    pairs = []
    for notebook, release_path in released.items():
        stub = answer_code(nbformat.read(release_path, as_version=4))
        answers = {student: answer_code(nbformat.read(files[notebook], as_version=4))
                   for student, files in handed_in.items() if notebook in files}
        pairs += similar_pairs(answers, stub, notebook)
    return sorted(pairs, key=lambda pair: (-pair.similarity, -pair.shared, pair.notebook))


def write_similarity_csv(pairs: list[SimilarPair], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for pair in pairs:
            writer.writerow([pair.notebook, pair.student_a, pair.student_b,
                             f"{pair.similarity:.3f}", pair.shared,
                             "yes" if pair.flagged else "no"])
