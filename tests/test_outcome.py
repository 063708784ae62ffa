"""The grader's small types: a learner's outcome, the guard's report, the --out layout."""

from __future__ import annotations

from pathlib import Path

from autograder.grade import _guard_review
from autograder.layout import OutputLayout
from autograder.outcome import Outcome, Status


def test_outcomes_read_as_grades_csv_writes_them():
    assert str(Outcome(Status.GRADED)) == "graded"
    assert str(Outcome(Status.NEEDS_MANUAL_GRADING)) == "needs manual grading"
    assert str(Outcome.error("no a.ipynb in bob/")) == "error: no a.ipynb in bob/"
    assert Outcome(Status.NEEDS_MANUAL_GRADING).has_grades
    assert not Outcome(Status.TIMEOUT).has_grades and Outcome(Status.TIMEOUT).was_run
    assert not Outcome.error("x").was_run


def test_the_guard_report_is_read_as_data_and_a_forged_one_is_named():
    assert _guard_review({"replaced": ["numpy.allclose", "builtins.all"]}) == (
        "kernel guard: the notebook replaced numpy.allclose, builtins.all")
    for forged in ({"replaced": []}, {"replaced": "numpy.allclose"}, ["x"], {"replaced": [1]}):
        assert "malformed guard report" in _guard_review(forged), forged


def test_the_output_layout_names_every_file_once():
    layout = OutputLayout(Path("/out"))
    assert layout.feedback_file("ada", "clipping.ipynb") == Path("/out/feedback/ada/clipping.html")
    assert layout.autograded("ada", "04") == Path("/out/nbgrader/autograded/ada/04")
    assert layout.released("04", "c.ipynb") == Path("/out/nbgrader/release/04/c.ipynb")
    files = [layout.grades_csv, layout.report, layout.similarity_csv, layout.gradebook,
             layout.log, layout.workers_log, layout.gradebook_lock, layout.marker]
    assert len(set(files)) == len(files) and all(path.parent == layout.root for path in files)


def test_hand_ins_with_malformed_grading_metadata_get_the_sources(tmp_path):
    """nbformat accepts any JSON as a cell's metadata.nbgrader: null, a string, a list as the
    grade_id. Such a hand-in gets the source's metadata where its cell is the source's (by id),
    loses it elsewhere, and stops no one's grading."""
    import json

    import nbformat

    from autograder.grade import _grading_metadata, _with_source_metadata

    source = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1", id="answer", metadata={"nbgrader": {
            "grade_id": "answer", "solution": True, "grade": False, "schema_version": 3}}),
        nbformat.v4.new_code_cell("assert x == 1", id="test", metadata={"nbgrader": {
            "grade_id": "test", "grade": True, "points": 1, "schema_version": 3}})])
    nbformat.write(source, tmp_path / "source.ipynb")
    hand_in = json.loads(nbformat.writes(source))
    hand_in["cells"][0]["metadata"]["nbgrader"] = None
    hand_in["cells"][1]["metadata"]["nbgrader"] = {"grade_id": ["test"], "points": 99}
    hand_in["cells"].append({**hand_in["cells"][0], "id": "mine",
                             "metadata": {"nbgrader": "a string"}})
    (tmp_path / "hand_in.ipynb").write_text(json.dumps(hand_in))
    restored = nbformat.reads(_with_source_metadata(
        tmp_path / "hand_in.ipynb", _grading_metadata(tmp_path / "source.ipynb")), as_version=4)
    assert [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in restored.cells] == [
        "answer", "test", None]
    assert restored.cells[1].metadata.nbgrader.points == 1
