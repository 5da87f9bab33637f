"""Which model types a sweep runs: priority tiers (data), model types named, families.

The tiers live in ``hfscan/data/priorities.toml``; every model type not listed
there is ``low``.  A listed name that the installed transformers lacks is kept
in the selection's ``missing`` list and reported as "not in transformers X.Y".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Mapping

from hfscan.classifiers.datafile import toml_error
from hfscan.errors import DataFileError, UsageError
from hfscan.scanner.records import Inventory

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

TIERS = ("high", "medium", "low")
PRIORITIES = (*TIERS, "all")


def _load(text: str, path: str) -> dict[str, tuple[str, ...]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, what = toml_error(exc)
        raise DataFileError(path, line, what) from None
    tiers = data.get("tiers")
    if not isinstance(tiers, dict):
        raise DataFileError(path, None, "missing [tiers] table")
    out: dict[str, tuple[str, ...]] = {}
    for name, members in tiers.items():
        if name not in TIERS or name == "low":
            raise DataFileError(path, None, f"unknown tier {name!r} (tiers: high, medium; low is everything else)")
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise DataFileError(path, None, f"tier {name!r} must be a list of model type names")
        out[name] = tuple(members)
    return out


def load_tiers(path: str | Path | None = None) -> dict[str, tuple[str, ...]]:
    """{tier: listed model types} from the shipped priorities file or ``path``."""
    if path is None:
        return _shipped_tiers()
    from hfscan.fileio import read_text

    return _load(read_text(path), str(path))


@functools.lru_cache(maxsize=1)
def _shipped_tiers() -> dict[str, tuple[str, ...]]:
    res = resources.files("hfscan") / "data" / "priorities.toml"
    return _load(res.read_text(), str(res))


def tier_of(model_type: str, tiers: Mapping[str, tuple[str, ...]] | None = None) -> str:
    """The priority tier of a model type: ``high``, ``medium`` or ``low``."""
    for tier, members in (tiers or load_tiers()).items():
        if model_type in members:
            return tier
    return "low"


@dataclass(frozen=True)
class Selection:
    """The model types a sweep runs, plus tier entries the installed transformers lacks."""

    model_types: tuple[str, ...]
    missing: tuple[tuple[str, str], ...]  # (listed name, tier)
    transformers_version: str

    def missing_lines(self) -> list[str]:
        return [f"{name} ({tier}): not in transformers {self.transformers_version}" for name, tier in self.missing]


def select(
    inventory: Inventory,
    model_types: tuple[str, ...] | list[str] = (),
    priority: str = "all",
    family: str | None = None,
    families: Mapping[str, tuple[str, ...]] | None = None,
    tiers: Mapping[str, tuple[str, ...]] | None = None,
    missing_ok: bool = False,
) -> Selection:
    """Model types named (unknown ones raise with the closest names) or those of a tier.

    ``families`` maps a model type to the family names on its classification path;
    ``family`` keeps those whose path holds it.  With ``missing_ok``, a named type the inventory lacks is
    listed as missing (tier "named") instead of raising: `hfscan matrix` names the same types on every version.
    """
    if priority not in PRIORITIES:
        raise UsageError(f"unknown priority {priority!r}; choose from {', '.join(PRIORITIES)}")
    tiers = tiers if tiers is not None else load_tiers()
    missing: list[tuple[str, str]] = []
    if model_types:
        named = list(dict.fromkeys(model_types))
        if missing_ok:
            missing = [(mt, "named") for mt in named if mt not in inventory]
            named = [mt for mt in named if mt in inventory]
        chosen = [inventory.get(mt).model_type for mt in named]
    elif priority == "all":
        chosen = list(inventory.model_types)
        missing = [(mt, tier) for tier, members in tiers.items() for mt in members if mt not in inventory]
    elif priority == "low":
        listed = {m for members in tiers.values() for m in members}
        chosen = [mt for mt in inventory.model_types if mt not in listed]
    else:
        members = tiers.get(priority, ())
        chosen = [mt for mt in members if mt in inventory]
        missing = [(mt, priority) for mt in members if mt not in inventory]
    if family is not None:
        paths = families or {}
        known = {f for path in paths.values() for f in path}
        if family not in known:
            raise UsageError(f"unknown family {family!r}" + (f"; known: {', '.join(sorted(known))}" if known else ""))
        chosen = [mt for mt in chosen if family in paths.get(mt, ())]
    return Selection(tuple(chosen), tuple(missing), inventory.transformers_version)
