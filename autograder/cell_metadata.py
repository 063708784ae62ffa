"""nbgrader's check of the cells' nbgrader metadata, with its JSON schema checked once.

nbgrader's CheckCellMetadata runs twice in every learner's autograde (after sanitizing and after
executing). For each cell it calls `jsonschema.validate`, which first validates the schema itself
against JSON Schema's meta-schema: 0.5 ms a cell, 20 ms a notebook, 93 % of the check. Here the
schema is checked once per process and each cell is validated with one validator, which raises
the error `jsonschema.validate` would (its best match). Everything else is nbgrader's own: the
schema version checks are copied from `BaseMetadataValidator.validate_cell` (nbgrader 0.9), and
the grade ids, points and cell types are checked by its `MetadataValidatorV3`.
"""

from __future__ import annotations

import traceback

import jsonschema
from nbgrader.nbgraderformat import (
    MetadataValidator,
    SchemaTooNewError,
    SchemaTooOldError,
    ValidationError,
)
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata

# One validator per nbgrader schema version, made the first time a cell of it is checked.
_VALIDATORS: dict[int, jsonschema.protocols.Validator] = {}


def _validator(version: int, schema: dict) -> jsonschema.protocols.Validator:
    if version not in _VALIDATORS:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _VALIDATORS[version] = cls(schema)
    return _VALIDATORS[version]


class _SchemaCheckedOnce(BaseMetadataValidator):
    """`BaseMetadataValidator.validate_cell` with a validator made once per schema."""

    def validate_cell(self, cell) -> None:
        if "nbgrader" not in cell.metadata:
            return
        schema = cell.metadata["nbgrader"].get("schema_version", 0)
        if schema < self.schema_version:
            raise SchemaTooOldError(
                f"Outdated schema version: {schema} (expected {self.schema_version})",
                schema, self.schema_version)
        if schema > self.schema_version:
            raise SchemaTooNewError(
                f"Schema version is too new: {schema} (expected {self.schema_version})",
                schema, self.schema_version)
        validator = _validator(self.schema_version, self.schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error


class FastMetadataValidator(MetadataValidator, _SchemaCheckedOnce):
    """nbgrader's MetadataValidator; its `super().validate_cell` lands in _SchemaCheckedOnce
    (method resolution: this class, MetadataValidatorV3, _SchemaCheckedOnce, the base)."""


class CheckCellMetadataOnce(CheckCellMetadata):
    """nbgrader's CheckCellMetadata with FastMetadataValidator: the same errors, the same log."""

    def preprocess(self, nb, resources):
        try:
            FastMetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources


# nbgrader's converters whose preprocessor lists hold CheckCellMetadata, by list.
CHECKED_LISTS = (("Autograde", "sanitize_preprocessors"), ("Autograde", "autograde_preprocessors"),
                 ("GenerateAssignment", "preprocessors"))


def check_schema_once(config) -> None:
    """In `config` (a traitlets Config, the course's merged in): CheckCellMetadataOnce in place
    of CheckCellMetadata in each of CHECKED_LISTS, nbgrader's default list or the course's."""
    from nbgrader import converters

    for converter, trait in CHECKED_LISTS:
        section = config[converter]
        current = (section[trait] if trait in section
                   else getattr(converters, converter).class_traits()[trait].default())
        section[trait] = [_once(preprocessor) for preprocessor in current]


# How a course's configuration may name nbgrader's check: by its package or by its module.
NBGRADER_CHECK_NAMES = ("nbgrader.preprocessors.CheckCellMetadata",
                        f"{CheckCellMetadata.__module__}.{CheckCellMetadata.__qualname__}")


def _once(preprocessor):
    named = preprocessor if isinstance(preprocessor, str) else (
        f"{preprocessor.__module__}.{preprocessor.__qualname__}")
    return CheckCellMetadataOnce if named in NBGRADER_CHECK_NAMES else preprocessor
