"""Errors that reach the user as one line (exit code 2) instead of a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input or environment: says what is wrong and how to fix it.

    The CLI prints the message as a single line and exits with code 2. Library code raises it
    (or a subclass) for bad names, missing or corrupt files and unreachable mirrors.
    """
