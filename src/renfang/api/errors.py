"""Moved to ``renfang.core.api.errors``; kept for ``linkage/api.py`` until it imports from
there (ADR 0029). Nothing else should import this module."""

from renfang.core.api.errors import (
    ApiError,
    ErrorCode,
    error_responses,
    not_found,
    validation_error,
)

__all__ = ["ApiError", "ErrorCode", "error_responses", "not_found", "validation_error"]
