"""CheckCellMetadataOnce: nbgrader's metadata check, the JSON schema checked once per process.

It must accept what nbgrader's CheckCellMetadata accepts and reject what it rejects, with the
same error, on every lesson's source notebook and on each way a hand-in's metadata can be broken.
"""

from __future__ import annotations

import copy

import pytest
from helpers import COURSE, grade_id, source_notebook
from nbgrader.nbgraderformat import MetadataValidator
from traitlets.config import Config

from autograder.cell_metadata import (
    CHECKED_LISTS,
    CheckCellMetadataOnce,
    FastMetadataValidator,
    check_schema_once,
)

BREAKAGES = {
    "points_not_a_number": lambda meta: meta.update(points="two"),
    "negative_points": lambda meta: meta.update(points=-1),
    "no_grade_id": lambda meta: meta.pop("grade_id"),
    "empty_grade_id": lambda meta: meta.update(grade_id=""),
    "grade_not_a_boolean": lambda meta: meta.update(grade="yes"),
    "no_locked": lambda meta: meta.pop("locked"),
    "old_schema": lambda meta: meta.update(schema_version=2),
    "new_schema": lambda meta: meta.update(schema_version=4),
    "grade_id_not_a_string": lambda meta: meta.update(grade_id=7),
    "extra_key": lambda meta: meta.update(surprise=True),
}


def outcome(validator, notebook) -> str:
    try:
        validator().validate_nb(notebook)
    except Exception as error:  # noqa: BLE001  (any error: nbgrader's and ours must be the same)
        return f"{type(error).__name__}: {error}"
    return "valid"


@pytest.mark.parametrize("assignment", COURSE.assignments())
def test_every_lesson_validates_as_with_nbgrader(assignment):
    notebook = source_notebook(assignment)
    assert outcome(FastMetadataValidator, notebook) == outcome(MetadataValidator, notebook) \
        == "valid"


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_broken_metadata_gives_nbgraders_error(breakage):
    notebook = copy.deepcopy(source_notebook("04_clipping_numpy"))
    graded = next(cell for cell in notebook.cells
                  if grade_id(cell) and cell.metadata.nbgrader.get("grade"))
    BREAKAGES[breakage](graded.metadata.nbgrader)
    theirs = outcome(MetadataValidator, notebook)
    assert outcome(FastMetadataValidator, notebook) == theirs
    assert theirs != "valid", f"nbgrader accepts {breakage}: the case tests nothing"


def test_duplicate_grade_ids_are_an_error():
    notebook = copy.deepcopy(source_notebook("04_clipping_numpy"))
    first, second = [cell for cell in notebook.cells if grade_id(cell)][:2]
    second.metadata.nbgrader.grade_id = first.metadata.nbgrader.grade_id
    assert outcome(FastMetadataValidator, notebook) == outcome(MetadataValidator, notebook) \
        != "valid"


def test_every_nbgrader_list_gets_the_check_and_a_course_list_is_kept():
    config = Config()
    config.Autograde.sanitize_preprocessors = ["nbgrader.preprocessors.ClearOutput",
                                               "nbgrader.preprocessors.CheckCellMetadata"]
    check_schema_once(config)
    assert config.Autograde.sanitize_preprocessors == ["nbgrader.preprocessors.ClearOutput",
                                                       CheckCellMetadataOnce]
    for converter, trait in CHECKED_LISTS:
        names = [getattr(step, "__name__", step) for step in config[converter][trait]]
        assert "CheckCellMetadata" not in names and "CheckCellMetadataOnce" in names, names
