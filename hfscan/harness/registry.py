"""The check registry: every check a job can run, as data (``hfscan/data/checks.toml``), read by small generic code.

A check is a :class:`CheckSpec`: its name, what a pass proves, the function the
worker calls (``module:function``, imported only when the check runs), the
checks it needs, when it applies (conditions on the job: no result when they do
not hold) and what it requires of the built model (a ``skipped: not
applicable`` result when that is missing), and its tolerances per dtype.
``--checks`` takes check names and presets (``smoke``, ``consistency``,
``capture``, ``all``), resolved by :func:`resolve`.

Nothing here imports torch or transformers, so the CLI can validate ``--checks``
cheaply.
"""

from __future__ import annotations

import difflib
import importlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from hfscan.classifiers.datafile import DATA_DIR, line_of, read_toml
from hfscan.errors import DataFileError, UsageError

CHECKS_FILE = DATA_DIR / "checks.toml"

#: Conditions on the job alone (``applies``) and on the built model (``requires``), with their value types.
APPLIES = {"generative": bool, "tasks": list, "dtypes": list, "devices": list}
REQUIRES = {"methods": list, "entry": str, "forward_takes": list, "class_flags": list}
#: Job options a check reads (``options``): each is part of that check's rerun key (:mod:`hfscan.harness.keys`), so
#: a result stored under another value is never reused.
OPTIONS = ("compile_backend", "export_strict")
_KEYS = {"summary", "run", "stage", "needs", "applies", "requires", "tolerance", "options"}
BUILTIN = "builtin"


class NotApplicable(Exception):
    """Raised by a check's function when the model lacks what the check needs: a ``skipped`` result."""


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float
    rounding: float = 0.0  # dtype: also within this many times the error that rounding weights and inputs alone gives


@dataclass(frozen=True)
class CheckSpec:
    name: str
    summary: str
    run: str  # "module:function", or "builtin" for build and forward
    stage: str
    needs: tuple[str, ...] = ()
    applies: tuple[tuple[str, Any], ...] = ()
    requires: tuple[tuple[str, Any], ...] = ()
    tolerances: tuple[tuple[str, Tolerance], ...] = ()
    options: tuple[str, ...] = ()  # the job options (OPTIONS) the check reads: part of its key

    def function(self) -> Callable[..., Any]:
        module, _, name = self.run.partition(":")
        return getattr(importlib.import_module(module), name)

    def tolerance(self, dtype: str) -> Tolerance:
        """The tolerance for ``dtype``, else float32's, else exact."""
        table = dict(self.tolerances)
        return table.get(dtype) or table.get("float32") or Tolerance(0.0, 0.0)

    def rule_text(self) -> str:
        """The applicability rule in words, for ``hfscan explain`` and the README."""
        parts = [f"{k} = {_words(v, k)}" for k, v in self.applies] + \
            [f"model {k} = {_words(v, k)}" for k, v in self.requires]
        needs = f"needs {', '.join(self.needs)}" if self.needs else "needs nothing"
        return f"{needs}; " + ("; ".join(parts) if parts else "applies to every job")


#: Rule keys whose list means "every one of these" (the others: "one of these").
_ALL_OF = {"methods", "class_flags"}


def _words(value: Any, key: str = "") -> str:
    """A rule's value as a reader writes it: a list "a, b and c" (every one, for methods and class flags) or
    "a, b or c" (one of them), a flag "yes"/"no", never Python's ``('a', 'b')``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        names = [_words(v) for v in value]
        if len(names) <= 1:
            return names[0] if names else "(none)"
        return f"{', '.join(names[:-1])} {'and' if key in _ALL_OF else 'or'} {names[-1]}"
    return str(value)


@dataclass(frozen=True)
class CheckContext:
    """What a check's function is given: the job, the attempt that built and ran the tiny model (its config,
    model, inputs and forward output), the check's spec and the override that applies (or None)."""

    job: Any
    attempt: Any
    spec: CheckSpec
    override: Any = None

    @property
    def tolerance(self) -> Tolerance:
        return self.spec.tolerance(self.job.dtype)


@dataclass(frozen=True)
class Registry:
    checks: dict[str, CheckSpec]
    presets: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.checks)

    def resolve(self, text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
        """Check and preset names (comma-separated text or a sequence) -> check names in run order."""
        words = [w.strip() for w in (text.split(",") if isinstance(text, str) else text) if w.strip()]
        if not words:
            raise UsageError(f"no check given; choose from {', '.join(self.choices())}")
        chosen: set[str] = set()
        for word in words:
            if word in self.checks:
                chosen.add(word)
            elif word in self.presets:
                chosen.update(self.presets[word])
            else:
                close = difflib.get_close_matches(word, self.choices(), n=3, cutoff=0.5)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise UsageError(f"unknown check {word!r}{hint}; choose from {', '.join(self.choices())}")
        return tuple(n for n in self.checks if n in chosen)

    def choices(self) -> list[str]:
        return [*self.checks, *self.presets]


def _table(path: Path, line: int | None, name: str, key: str, raw: Any, kinds: dict[str, type]) -> tuple:
    if not isinstance(raw, dict):
        raise DataFileError(str(path), line, f"check {name!r}: {key} must be a table")
    out = []
    for cond, value in raw.items():
        want = kinds.get(cond)
        if want is None:
            raise DataFileError(str(path), line, f"check {name!r}: unknown {key} condition {cond!r} "
                                                 f"(known: {', '.join(kinds)})")
        if not isinstance(value, want) or (want is list and not all(isinstance(v, str) for v in value)):
            raise DataFileError(str(path), line, f"check {name!r}: {key}.{cond} must be "
                                                 f"{'a list of names' if want is list else want.__name__}")
        out.append((cond, tuple(value) if isinstance(value, list) else value))
    return tuple(out)


def _tolerances(path: Path, line: int | None, name: str, raw: Any) -> tuple[tuple[str, Tolerance], ...]:
    if not isinstance(raw, dict):
        raise DataFileError(str(path), line, f"check {name!r}: tolerance must be a table of dtypes")
    out = []
    for dtype, tol in raw.items():
        if not isinstance(tol, dict) or not {"atol", "rtol"} <= set(tol) <= {"atol", "rtol", "rounding"} or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in tol.values()):
            raise DataFileError(str(path), line, f"check {name!r}: tolerance.{dtype} must be "
                                                 "{atol = number >= 0, rtol = number >= 0[, rounding = number >= 0]}")
        out.append((dtype, Tolerance(float(tol["atol"]), float(tol["rtol"]), float(tol.get("rounding", 0.0)))))
    return tuple(out)


def _spec(path: Path, text: str, name: str, raw: Any) -> CheckSpec:
    line = line_of(text, "check", name)
    if not isinstance(raw, dict):
        raise DataFileError(str(path), line, f"check {name!r} must be a table")
    unknown = set(raw) - _KEYS
    if unknown:
        raise DataFileError(str(path), line, f"check {name!r}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("summary", "run", "stage"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise DataFileError(str(path), line, f"check {name!r} needs {key} (a string)")
    if raw["run"] != BUILTIN and raw["run"].count(":") != 1:
        raise DataFileError(str(path), line, f"check {name!r}: run must be 'module:function' or 'builtin'")
    needs = raw.get("needs", [])
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        raise DataFileError(str(path), line, f"check {name!r}: needs must be a list of check names")
    options = raw.get("options", [])
    if not isinstance(options, list) or not all(o in OPTIONS for o in options):
        raise DataFileError(str(path), line, f"check {name!r}: options must be a list of {', '.join(OPTIONS)}")
    return CheckSpec(
        name=name, summary=raw["summary"], run=raw["run"], stage=raw["stage"], needs=tuple(needs),
        applies=_table(path, line, name, "applies", raw.get("applies", {}), APPLIES),
        requires=_table(path, line, name, "requires", raw.get("requires", {}), REQUIRES),
        tolerances=_tolerances(path, line, name, raw.get("tolerance", {})), options=tuple(options),
    )


def load_registry(path: Path = CHECKS_FILE) -> Registry:
    """The checks and presets of ``path``, validated; errors name the file and line."""
    data, text = read_toml(path)
    unknown = set(data) - {"check", "preset"}
    if unknown:
        raise DataFileError(str(path), None, f"unknown table(s) {', '.join(sorted(unknown))}")
    table = data.get("check")
    if not isinstance(table, dict) or not table:
        raise DataFileError(str(path), None, "no [check.NAME] tables")
    checks = {name: _spec(path, text, name, raw) for name, raw in table.items()}
    for spec in checks.values():
        for need in spec.needs:
            if need not in checks or list(checks).index(need) >= list(checks).index(spec.name):
                raise DataFileError(str(path), line_of(text, "check", spec.name),
                                    f"check {spec.name!r}: needs {need!r}, which is not a check listed before it")
    presets = _presets(path, text, data.get("preset", {}), checks)
    return Registry(checks, presets)


def _presets(path: Path, text: str, raw: Any, checks: dict[str, CheckSpec]) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise DataFileError(str(path), None, "[preset] must be a table of lists")
    presets: dict[str, tuple[str, ...]] = {}
    for name, members in raw.items():  # a preset may name presets defined above it
        line = _preset_line(text, name)
        if name in checks:
            raise DataFileError(str(path), line, f"preset {name!r} has the name of a check")
        if not isinstance(members, list) or not members:
            raise DataFileError(str(path), line, f"preset {name!r} must be a non-empty list of names")
        expanded: list[str] = []
        for m in members:
            if m in checks:
                expanded.append(m)
            elif m in presets:
                expanded.extend(presets[m])
            else:
                raise DataFileError(str(path), line, f"preset {name!r}: {m!r} is no check nor a preset above it")
        presets[name] = tuple(dict.fromkeys(expanded))
    return presets


def _preset_line(text: str, name: str) -> int | None:
    """The line of ``name = [...]`` inside the ``[preset]`` table."""
    inside = False
    for i, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped == "[preset]"
        elif inside and re.match(rf'"?{re.escape(name)}"?\s*=', stripped):
            return i
    return None


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The shipped registry (loaded once per process)."""
    return load_registry()


# -- applicability ------------------------------------------------------------------------------------------------

def not_applicable(spec: CheckSpec, job: Any, generative: bool) -> str | None:
    """Why ``spec`` does not apply to ``job`` (its ``applies`` conditions), or None when it applies."""
    for cond, value in spec.applies:
        if cond == "generative" and generative != value:
            return f"the class's task {job.task!r} is {'not ' if value else ''}generative"
        if cond == "tasks" and job.task not in value:
            return f"the class's task {job.task!r} is not one of {', '.join(value)}"
        if cond == "dtypes" and job.dtype not in value:
            return f"dtype {job.dtype} is not one of {', '.join(value)}"
        if cond == "devices" and job.device.split(":")[0] not in value:
            return f"device {job.device} is not one of {', '.join(value)}"
    return None


def unmet_requirement(spec: CheckSpec, model: Any, entry: str, forward_args: set[str]) -> str | None:
    """What the built ``model`` lacks of ``spec``'s ``requires`` conditions, or None."""
    cls = type(model).__name__
    for cond, value in spec.requires:
        if cond == "methods":
            missing = [m for m in value if not callable(getattr(model, m, None))]
            if missing:
                return f"{cls} has no {', '.join(f'{m}()' for m in missing)}"
        elif cond == "entry" and entry != value:
            return f"{cls} runs through {entry}(), not {value}()"
        elif cond == "forward_takes" and not forward_args & set(value):
            return f"{cls}.forward() takes none of {', '.join(value)}"
        elif cond == "class_flags":
            unset = [f for f in value if not getattr(type(model), f, False)]
            if unset:
                return f"{cls} does not declare {', '.join(unset)}"
    return None
