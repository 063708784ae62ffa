"""Instructor tooling for the gradclip course: release the learner notebooks, grade a class."""

__version__ = "0.1.0"
