"""Overrides as validated data: one TOML table per model type, each with a mandatory reason.

hfscan ships ``hfscan/data/overrides.toml``; a user file (``--overrides FILE``)
is merged over it, key by key.  Every file is validated on load: an unknown key,
an unknown model type or a value of the wrong type raises
:class:`hfscan.errors.DataFileError` as ``file:line: what is wrong``.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from hfscan.classifiers.datafile import toml_error
from hfscan.errors import DataFileError
from hfscan.harness.registry import registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Keys an override entry may set, with the type each must have.
SCHEMA: dict[str, type | tuple[type, ...]] = {
    "reason": str,  # mandatory: why this model type needs the entry
    "config": dict,  # config values set on the tiny config (nested tables reach sub-configs)
    "inputs": dict,  # input values: {forward() argument: value}
    "model_class": str,  # the class to test instead of the representative one
    "xfail": str,  # an expected failure, with its upstream cause
    "xfail_check": str,  # the check that failure is expected in (default "forward"); a failure elsewhere is real
    "transformers": str,  # the transformers versions the entry applies to (a PEP 440 specifier such as ">=5.24")
}

PACKAGE_FILE = "overrides.toml"
#: The check an expected failure is expected in when the entry names none.
DEFAULT_XFAIL_CHECK = "forward"


def load_toml(name: str) -> dict:
    """A data file shipped in ``hfscan/data``."""
    text = resources.files("hfscan").joinpath("data", name).read_text(encoding="utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True)
class Override:
    """One validated override entry."""

    model_type: str
    reason: str
    config: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    model_class: str | None = None
    xfail: str | None = None
    xfail_check: str | None = None  # None: DEFAULT_XFAIL_CHECK
    transformers: str | None = None  # None: every version

    def applies_to(self, version: str) -> bool:
        """Whether the entry applies to this transformers version (its specifier admits it, or it has none)."""
        from packaging.specifiers import SpecifierSet

        return self.transformers is None or SpecifierSet(self.transformers).contains(version, prereleases=True)

    def expects_failure(self, check: str) -> bool:
        """Whether a failure of ``check`` is the expected one (only in the check the entry names)."""
        return bool(self.xfail) and check == (self.xfail_check or DEFAULT_XFAIL_CHECK)

    def to_json(self) -> str:
        body = {k: v for k, v in self.__dict__.items() if v not in (None, {})}
        return json.dumps(body, sort_keys=True)

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    @classmethod
    def from_json(cls, text: str) -> "Override":
        return cls(**json.loads(text))


def _line_of(lines: list[str], table: str, key: str | None = None) -> int | None:
    """The 1-based line of ``[table]`` (or of ``key =`` inside it)."""
    header = re.compile(r"^\s*\[\s*\"?" + re.escape(table) + r"\"?\s*\]")
    start = next((i for i, ln in enumerate(lines) if header.match(ln)), None)
    if start is None or key is None:
        return None if start is None else start + 1
    key_re = re.compile(r"^\s*\"?" + re.escape(key) + r"\"?\s*=")
    for i in range(start + 1, len(lines)):
        if lines[i].lstrip().startswith("["):
            break
        if key_re.match(lines[i]):
            return i + 1
    return start + 1


def parse(text: str, source: str, known_types: Iterable[str] | None = None) -> dict[str, Override]:
    """Validate the text of an overrides file; ``{model type: Override}``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(source, toml_error(exc)[0], f"not valid TOML: {exc}") from None
    lines = text.splitlines()
    known = set(known_types) if known_types is not None else None
    out: dict[str, Override] = {}
    for model_type, entry in data.items():
        if not isinstance(entry, dict):
            raise DataFileError(source, _line_of(lines, model_type) or _key_line(lines, model_type),
                                f"{model_type!r} must be a table [{model_type}]")
        line = _line_of(lines, model_type)
        if known is not None and model_type not in known:
            import difflib

            close = difflib.get_close_matches(model_type, sorted(known), n=3)
            hint = f" (closest: {', '.join(close)})" if close else ""
            raise DataFileError(source, line, f"unknown model type {model_type!r}{hint}")
        for key, value in entry.items():
            if key not in SCHEMA:
                raise DataFileError(source, _line_of(lines, model_type, key),
                                    f"unknown key {key!r} in [{model_type}] (allowed: {', '.join(SCHEMA)})")
            want = SCHEMA[key]
            if not isinstance(value, want):
                name = want.__name__ if isinstance(want, type) else "/".join(t.__name__ for t in want)
                got = "table" if isinstance(value, dict) else type(value).__name__
                raise DataFileError(source, _line_of(lines, model_type, key),
                                    f"[{model_type}] {key} must be a {'table' if want is dict else name}, not {got}")
        if entry.get("xfail_check", DEFAULT_XFAIL_CHECK) not in registry().names:
            raise DataFileError(source, _line_of(lines, model_type, "xfail_check"),
                                f"[{model_type}] xfail_check must be one of {', '.join(registry().names)}")
        if "transformers" in entry and not _valid_specifier(entry["transformers"]):
            raise DataFileError(source, _line_of(lines, model_type, "transformers"),
                                f"[{model_type}] transformers must be a version specifier such as \">=5.24\", "
                                f"not {entry['transformers']!r}")
        if not str(entry.get("reason", "")).strip():
            raise DataFileError(source, line, f"[{model_type}] needs a non-empty 'reason'")
        out[model_type] = Override(model_type=model_type, **entry)
    return out


def _valid_specifier(text: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return False
    return bool(text.strip())


def _key_line(lines: list[str], key: str) -> int | None:
    key_re = re.compile(r"^\s*\"?" + re.escape(key) + r"\"?\s*=")
    return next((i + 1 for i, ln in enumerate(lines) if key_re.match(ln)), None)


def load_file(path: str | Path, known_types: Iterable[str] | None = None) -> dict[str, Override]:
    from hfscan.fileio import read_text

    return parse(read_text(path), str(path), known_types)


def load_overrides(user_file: str | Path | None = None, known_types: Iterable[str] | None = None,
                   version: str | None = None) -> dict[str, Override]:
    """Our overrides merged with the user's (user keys win, entry by entry).

    Ours are written against one transformers version: an entry for a model type the installed version does not
    have does not apply and is left out (a user's file naming an unknown model type is an error). An entry of
    either file whose ``transformers`` specifier excludes ``version`` (default: the installed one) is left out."""
    text = resources.files("hfscan").joinpath("data", PACKAGE_FILE).read_text(encoding="utf-8")
    known = set(known_types) if known_types is not None else None
    merged = parse(text, f"hfscan/data/{PACKAGE_FILE}")
    if known is not None:
        merged = {model_type: o for model_type, o in merged.items() if model_type in known}
    if user_file is not None:
        for model_type, entry in load_file(user_file, known).items():
            base = merged.get(model_type)
            if base is None:
                merged[model_type] = entry
                continue
            fields = {k: v for k, v in base.__dict__.items()}
            fields.update({k: v for k, v in entry.__dict__.items() if v not in (None, {})})
            fields["config"] = {**base.config, **entry.config}
            fields["inputs"] = {**base.inputs, **entry.inputs}
            merged[model_type] = Override(**fields)
    if version is None:
        from importlib.metadata import version as installed

        version = installed("transformers")
    return {model_type: o for model_type, o in merged.items() if o.applies_to(version)}


def shipped_override_reasons() -> dict[str, str]:
    """{override hash: reason} of the overrides hfscan ships (reports name the reason of each that applied)."""
    return {o.hash: o.reason for o in load_overrides().values()}
