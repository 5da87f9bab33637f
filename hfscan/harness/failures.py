"""Failures hfscan recognises itself, raised as types: their ``kind`` and ``subject`` go into the result's details
(``failure_kind``, ``failure_subject``), and ``hfscan gaps`` groups on them instead of on the message's text.

The exception that caused one (transformers' own error) is its ``__cause__``; the result keeps that error's type
and message, so the kind adds to what a result says and changes none of it.
"""

from __future__ import annotations


class HarnessFailure(Exception):
    """A failure whose kind hfscan knows; ``subject`` names what it is about (a package, arguments...)."""

    kind = "harness"

    def __init__(self, message: str, subject: str = "", stage: str | None = None):
        super().__init__(message)
        self.subject = subject
        if stage is not None:
            self.stage = stage

    def details(self) -> dict:
        return {"failure_kind": self.kind, "failure_subject": self.subject}


class MissingPackage(HarnessFailure, ImportError):
    """An optional package the model needs is not installed (the check is skipped with its install hint)."""

    kind = "missing-package"


class NoInputBuilder(HarnessFailure, TypeError):
    """forward() requires arguments that no input builder of hfscan makes."""

    kind = "no-input-builder"


class ConfigRejected(HarnessFailure, ValueError):
    """The config class (or the shrinker feeding it) rejected the tiny config."""

    kind = "config-rejected"


class FailedAfterRepair(HarnessFailure):
    """forward() still failed after hfscan repaired its inputs from what an earlier error said."""

    kind = "failed-after-repair"


def cause_of(exc: BaseException) -> BaseException:
    """The error a harness failure stands for (itself when it has no cause)."""
    if isinstance(exc, HarnessFailure) and exc.__cause__ is not None:
        return exc.__cause__
    return exc
