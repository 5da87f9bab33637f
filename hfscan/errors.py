"""Error classes that the CLI turns into one readable line and an exit status.

Every error a user can cause (bad arguments, a broken overrides file, a corrupt
store, a missing dependency) is raised as a subclass of :class:`HfscanError`;
``cli.main`` prints ``hfscan: error: <message>`` and exits with ``exit_code``.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class HfscanError(Exception):
    """Base class: a user-facing error with an exit status."""

    exit_code = 1


class UsageError(HfscanError):
    """Bad arguments or input: exit status 2."""

    exit_code = 2


class UnknownModelTypeError(UsageError):
    def __init__(self, model_type: str, known: list[str] | tuple[str, ...]):
        import difflib

        close = difflib.get_close_matches(model_type, list(known), n=5, cutoff=0.5)
        hint = f"; closest: {', '.join(close)}" if close else ""
        super().__init__(f"unknown model type {model_type!r}{hint}")
        self.model_type = model_type
        self.closest = close


class DataFileError(UsageError):
    """A data file (overrides, families, tiers) is invalid: ``file:line: what``."""

    def __init__(self, path: str, line: int | None, what: str):
        loc = f"{path}:{line}" if line else str(path)
        super().__init__(f"{loc}: {what}")
        self.path, self.line, self.what = path, line, what


class StoreError(HfscanError):
    """The results store cannot be opened or is corrupt."""

    exit_code = 2


class MissingDependencyError(HfscanError):
    exit_code = 2

    def __init__(self, package: str, extra: str | None = None):
        hint = f" (pip install 'hfscan[{extra}]')" if extra else f" (pip install {package})"
        super().__init__(f"missing dependency: {package}{hint}")
        self.package = package


class MergeError(HfscanError):
    """Shard runs that cannot be merged (different stacks or splits, conflicting results): nothing is written."""

    exit_code = 2
