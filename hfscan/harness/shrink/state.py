"""What the passes of one :func:`~hfscan.harness.shrink.tiny_config` share, and the one setter they write through.

:class:`State` holds the tree being shrunk, the original tree, the facts passes hand on to later ones (the
smallest cut vocabulary, the special-token ids moved, the widths rounded ...) and the record of every change.
:meth:`State.set` is the only way a pass changes a config value: it leaves alone values every config holds
(that the config class does not declare) and enforces ``[keep]``.  The :class:`ShrinkReport` is made from the
record at the end, as output only: no pass reads it.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hfscan.harness.configtree import depth_attrs, vocab_attrs, width_attrs
from hfscan.harness.shrink import ruleset
from hfscan.harness.shrink.ruleset import Level


@dataclass
class ShrinkReport:
    """What :func:`tiny_config` changed (``shrunk``) and which variant values it kept."""

    level: str = "tiny"
    shrunk: list[tuple[str, Any, Any]] = field(default_factory=list)  # (path, old, new)
    kept: list[tuple[str, Any]] = field(default_factory=list)  # (path, value)
    overridden: list[tuple[str, Any]] = field(default_factory=list)
    filled: list[tuple[str, Any]] = field(default_factory=list)  # values only a checkpoint sets (configvals)

    def summary(self) -> dict:
        return {
            "level": self.level,
            "shrunk": {p: [_jsonable(o), _jsonable(n)] for p, o, n in self.shrunk},
            "kept": {p: _jsonable(v) for p, v in self.kept},
            "overridden": {p: _jsonable(v) for p, v in self.overridden},
            **({"filled": {p: _jsonable(v) for p, v in self.filled}} if self.filled else {}),
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v][:16]
    return str(v)[:80]


@lru_cache(maxsize=1)
def _common_attrs() -> frozenset[str]:
    """The attributes the base config class sets on every config (in transformers 4.x, generation settings such as
    ``top_k``, which a size rule of the same name, a mixture's experts per token, must not cut)."""
    from transformers import PretrainedConfig

    return frozenset(vars(PretrainedConfig()))


def _init_fields(cls: type) -> dict[str, Any]:
    """The values a config class's constructor takes, each with its default (``...`` where it has none): the
    init fields of a dataclass config, else the named parameters of ``__init__`` (configs before dataclasses)."""
    if dataclasses.is_dataclass(cls):
        return {f.name: f.default if f.default is not dataclasses.MISSING else ... for f in dataclasses.fields(cls)
                if f.init}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # less self
    return {p.name: p.default if p.default is not inspect.Parameter.empty else ... for p in params if p.kind in kinds}


def _unset(value: Any) -> bool:
    return value is None or (isinstance(value, (list, tuple, dict, str)) and not value)


class State:
    """The state the passes of one shrink share; every change goes through :meth:`set`."""

    def __init__(self, level: Level):
        data = ruleset.rules()
        keep = data.get("keep", {})
        self.level = level
        self.rules = data["rule"]
        self.keep = tuple(dict.fromkeys((*keep.get("attrs", ()), *keep.get("capped", ()))))  # reported as kept
        self.capped = frozenset(keep.get("capped", ()))  # kept values the size rules still cap
        self.stage_indices = set(ruleset.rule_attrs("stage_indices"))
        self.layer_indices = set(ruleset.rule_attrs("layer_indices")) | self.stage_indices
        self.related = {a for r in self.rules_of("sum") for a in r["values"]}  # values kept as sums of others
        self.widths = width_attrs()
        self.depths = frozenset(depth_attrs())
        self.stage_widths = frozenset(ruleset.rule_attrs("stage_widths"))
        self.vocabs = frozenset(vocab_attrs())
        # facts a pass hands on to later ones
        self.vocab: int | None = None  # the smallest shrunk vocabulary of the tree
        self.remap: dict[int, int] = {}  # special-token ids moved inside it: old -> new
        self.per_layer: dict[int, dict] = {}  # id(config) -> its shrunk per-layer values (heterogeneous configs)
        self.growth: dict[int, int] = {}  # old -> new width of the stage widths that keep their growth
        self.rounded: dict[int, tuple[int, int]] = {}  # id(config) -> (capped, rounded) hidden width
        self.grid_text: set[int] = set()  # id() of the text configs beside a vision tower that merges patch grids
        # the trees and the inputs of tiny_config
        self.cfg: Any = None  # the tree being shrunk (the rebuilt one after the rebuild)
        self.original: Any = None  # the tree before any pass
        self.source: Any = None  # the config class or instance given
        self.from_class = False  # built from its class (not a given config instance)
        self.overrides: dict | None = None
        self.fill: dict | None = None
        self.extra: dict[int, dict] = {}  # id(config) -> constructor arguments the rebuild passes as they are
        # the record (the report is made from it)
        self.shrunk: list[tuple[str, Any, Any]] = []
        self.kept: list[tuple[str, Any]] = []
        self.overridden: list[tuple[str, Any]] = []
        self.filled: list[tuple[str, Any]] = []
        self.refused: list[tuple[str, Any, Any]] = []  # changes to kept values the setter did not make

    def rules_of(self, kind: str) -> list[dict]:
        """The ``[[rule]]`` entries of one kind, in the rules' order."""
        return [r for r in self.rules if r["kind"] == kind]

    def set(self, cfg: Any, path: str, attr: str, new: Any, *, reshape: bool = False) -> bool:
        """Set ``attr`` of ``cfg`` (the config at ``path`` in the tree) to ``new``, recorded where it changes.

        Left alone: a value every config holds that the config class does not declare (4.x: generation's
        ``top_k``), and a ``[keep]`` value that is set, unless it is ``capped`` or the pass ``reshape``s it
        with the whole stack or grid (a per-layer pattern cut keeping every kind; tiles halved with the images):
        such a change is refused and recorded in ``refused``.  False where nothing changed."""
        if attr in _common_attrs() and attr not in _init_fields(type(cfg)):
            return False  # a value every config holds, not the model's own
        old = vars(cfg).get(attr)
        if old == new:
            return False
        if attr in self.keep and attr not in self.capped and not reshape and not _unset(old):
            self.refused.append((f"{path}{attr}", old, new))
            return False
        setattr(cfg, attr, new)
        self.shrunk.append((f"{path}{attr}", old, new))
        return True

    def record(self, path: str, old: Any, new: Any) -> None:
        """Record a change a pass made inside a value (a rotary section inside the rotary parameters), or while
        building the config (a value its validator names)."""
        self.shrunk.append((path, old, new))

    def report(self) -> ShrinkReport:
        """The report of what changed: the record as it stands."""
        return ShrinkReport(level=self.level.name, shrunk=list(self.shrunk), kept=list(self.kept),
                            overridden=list(self.overridden), filled=list(self.filled))
