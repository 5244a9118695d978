"""The project's exceptions. Their type says whether retrying can help."""

from __future__ import annotations


class CourseControllerError(Exception):
    """Root of every error this project raises on purpose."""


class TemporaryError(CourseControllerError):
    """Worth retrying: the database or the API server may answer next time."""


class PermanentError(CourseControllerError):
    """Retrying the same thing will fail the same way; an operator must act."""


class SchemaOutOfDate(PermanentError):
    """The database schema is not the one this version of the controller needs."""
