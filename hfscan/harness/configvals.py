"""Config values only a checkpoint sets: found where the failing code read them, filled generically.

A model's code may read a config attribute that its config class does not declare (a composite parent's
constructor or a released checkpoint's config.json sets it) or declares but leaves unset (None, an empty
list).  :func:`unset_reads` finds which ones the failing code read: the object and attribute an
AttributeError names; else, in the source of the traceback's frames (innermost first), the failing
statement, the condition of a ``raise``, and the assignments that bound the names the statement uses (in its
function, and ``self`` attributes in its class); else the empty lists the failing modules read.
:func:`candidates` orders values for each: ``[checkpoint_values]`` keyed by names many model types share,
the default of the parameter the value is passed to, a ``same`` relation, the same name elsewhere in the
config tree, a free special-token id, the width the name qualifies by a prefix, then values of the
attribute's annotated (or documented) type.  :class:`Fills` tries the next one while the code still fails.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import linecache
import re
from functools import lru_cache
from typing import Any, Iterator

from hfscan.harness.inputs import free_token_id
from hfscan.harness.configtree import TOKEN_ID_SUFFIXES, config_tree, is_config
from hfscan.harness.shrink.ruleset import rules

#: How often one attempt may fill values and try again.
MAX_FILL_ROUNDS = 8
#: A documented per-class value: a list with one item per label.
_PER_LABEL = re.compile(r"\b(class|classes|label|labels|category|categories)\b", re.IGNORECASE)
#: A name with attribute reads (``self.config.x``), and a getattr of one with a literal name.
_CHAIN = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_GETATTR = re.compile(r"getattr\(\s*([A-Za-z_][\w.]*)\s*,\s*[\"'](\w+)[\"']")


def _unset(cfg: Any, attr: str) -> bool:
    """The attribute is missing, None or an empty container on ``cfg``."""
    if attr.startswith("__") or isinstance(getattr(type(cfg), attr, None), property):
        return False
    try:
        value = getattr(cfg, attr)
    except AttributeError:
        return True
    return value is None or (isinstance(value, (list, tuple, dict)) and not value)


@lru_cache(maxsize=64)
def _module_ast(filename: str) -> ast.Module | None:
    try:
        return ast.parse("".join(linecache.getlines(filename)))
    except (SyntaxError, ValueError):
        return None


def _segment(filename: str, node: ast.AST) -> str:
    lines = linecache.getlines(filename)[node.lineno - 1:node.end_lineno]
    return "".join(lines)


def _innermost(tree: ast.AST, lineno: int) -> list[ast.AST]:
    """The chain of nodes from the module down to the innermost statement spanning ``lineno``."""
    chain: list[ast.AST] = []
    node: ast.AST | None = tree
    while node is not None:
        chain.append(node)
        node = next((c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt)
                     and c.lineno <= lineno <= (c.end_lineno or c.lineno)), None)
    return chain


def _frame_sources(filename: str, lineno: int) -> tuple[ast.AST | None, str, str]:
    """The failing statement, its source (with the condition of an ``if`` that only raises) and the source of
    the assignments that may have bound the names it uses: those before it in its function, and those of
    ``self`` attributes anywhere in its class, as (statement, source, assignments)."""
    tree = _module_ast(filename)
    if tree is None:
        return None, linecache.getline(filename, lineno), ""
    chain = _innermost(tree, lineno)
    stmt = chain[-1]
    if stmt is tree:
        return None, linecache.getline(filename, lineno), ""
    text = _segment(filename, stmt)
    if isinstance(stmt, ast.Raise) and isinstance(chain[-2], ast.If):
        text += _segment(filename, chain[-2].test)
    func = next((n for n in reversed(chain) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    owner = next((n for n in reversed(chain) if isinstance(n, ast.ClassDef)), None)
    assigns = [n for n in ast.walk(func) if isinstance(n, (ast.Assign, ast.AnnAssign)) and n.lineno < lineno] \
        if func is not None else []
    assigns += [n for n in ast.walk(owner) if isinstance(n, ast.Assign) and n not in assigns
                and any(map(_self_attribute, n.targets))] if owner is not None else []
    return stmt, text, "".join(_segment(filename, n) for n in assigns)


def _self_attribute(target: ast.expr) -> bool:
    """Whether an assignment target is written ``self.<...>`` (``self.x``, ``self.x.y``, ``self.x[0]``), as
    ``ast.unparse(target).startswith("self.")`` says, without unparsing every target of a class."""
    node, above = target, None
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node, above = node.func if isinstance(node, ast.Call) else node.value, node
    return isinstance(node, ast.Name) and node.id == "self" and isinstance(above, ast.Attribute)


def _call_defaults(stmt: ast.AST | None, scope: dict) -> dict[str, Any]:
    """{attribute: default} for the config attributes (``<config>.attr``) that a call in ``stmt`` passes to a
    parameter with a default other than None: the callee's own default for what the config leaves unset."""
    out: dict[str, Any] = {}
    for call in ast.walk(stmt) if stmt is not None else ():
        if not isinstance(call, ast.Call):
            continue
        try:
            params = inspect.signature(_resolve(ast.unparse(call.func).split("."), scope)).parameters
        except Exception:  # noqa: BLE001 - a callee that is no dotted name, or has no signature
            continue
        positional = [p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        pairs = list(zip(positional, call.args)) + [(params.get(k.arg or ""), k.value) for k in call.keywords]
        for param, arg in pairs:
            if param is not None and isinstance(arg, ast.Attribute) and param.default not in (param.empty, None):
                out[arg.attr] = param.default
    return out


def _resolve(chain: list[str], scope: dict) -> Any:
    if chain[0] not in scope:
        raise LookupError(chain[0])
    value = scope[chain[0]]
    for part in chain[1:]:
        value = getattr(value, part)
    return value


def _reads(text: str, scope: dict) -> Iterator[tuple[Any, str]]:
    """(config, attribute) for every ``<config>.attr`` and ``getattr(<config>, "attr")`` in ``text`` whose
    object, evaluated in ``scope``, is a config."""
    for m in _GETATTR.finditer(text):
        try:
            obj = _resolve(m.group(1).split("."), scope)
        except Exception:  # noqa: BLE001 - a name the frame does not hold
            continue
        if is_config(obj):
            yield obj, m.group(2)
    for m in _CHAIN.finditer(text):
        parts = m.group(0).split(".")
        for i in range(1, len(parts)):
            try:
                obj = _resolve(parts[:i], scope)
            except Exception:  # noqa: BLE001
                break
            if is_config(obj):
                yield obj, parts[i]


def _names(text: str) -> set[str]:
    """Names and attribute chains (``self.x``) in ``text``."""
    return set(re.findall(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", text))


def _bound_from(assigns: str, names: set[str]) -> str:
    """The right-hand sides of the assignments in ``assigns`` that bind one of ``names``."""
    out = []
    for name in names:
        for m in re.finditer(rf"^\s*{re.escape(name)}\s*(?::[^=]+)?=(?!=)(.+)$", assigns, re.MULTILINE):
            out.append(m.group(1))
    return "\n".join(out)


def unset_reads(exc: BaseException, root: Any, filled: frozenset = frozenset()) -> list[tuple[str, str, list]]:
    """(config path, attribute, hints) of the config values the failing code read unset (or as ``filled``
    gave them): the object an AttributeError names, else those of the innermost traceback frame that read
    any (its statement, then the assignments of the names it uses); hints are the defaults of the parameters
    the statement passes them to. Paths are those of :func:`config_tree`."""
    tree = config_tree(root)
    paths = {id(c): p for p, c in tree}
    # sub-configs by the attribute that holds them, for code that reads one through a name of another
    # frame (``self.x = attn_config.x`` in __init__, read in forward)
    held = {p.rstrip(".").rsplit(".", 1)[-1]: c for p, c in tree if p}

    def located(reads: Iterator[tuple[Any, str]], hints: dict) -> list[tuple[str, str, list]]:
        out = {}
        for obj, attr in reads:
            nodes = [(paths[id(obj)], obj)] if id(obj) in paths else [(p, c) for p, c in tree if type(c) is type(obj)]
            for p, c in nodes:
                if _unset(c, attr) or (p, attr) in filled:
                    out[(p, attr)] = [hints[attr]] if attr in hints else []
        return [(p, attr, h) for (p, attr), h in out.items()]

    frames, tb = [], exc.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    obj = getattr(exc, "obj", None) if isinstance(exc, AttributeError) else None
    named = exc.name if obj is not None and is_config(obj) else None
    for frame, lineno in reversed(frames):
        scope = {**held, **frame.f_globals, **frame.f_locals}
        stmt, statement, assigns = _frame_sources(frame.f_code.co_filename, lineno)
        if named:  # the hints of the statement that read it
            if re.search(rf"\.{named}\b|[\"']{named}[\"']", statement):
                return located(iter([(obj, named)]), _call_defaults(stmt, scope))
            continue
        found = located(_reads(statement, scope), _call_defaults(stmt, scope)) \
            or located(_reads(_bound_from(assigns, _names(statement)), scope), {})
        if found:
            return found
    if named:
        return located(iter([(obj, named)]), {})
    return _empty_reads(frames, tree, filled)


def _empty_reads(frames: list, tree: list[tuple[str, Any]], filled: frozenset) -> list[tuple[str, str, list]]:
    """The last resort where no frame read an unset value: the empty lists (and dicts) of the tree that the
    failing frames' modules read somewhere (``.attr`` in their source): a sequence only a checkpoint fills,
    which the code iterated over without failing until the empty result was used."""
    sources = {"".join(linecache.getlines(f.f_code.co_filename)) for f, _ in frames
               if "/transformers/models/" in f.f_code.co_filename}
    out = []
    for path, cfg in tree:
        for attr, value in vars(cfg).items():
            if ((path, attr) in filled or (isinstance(value, (list, tuple, dict)) and not value)) \
                    and any(re.search(rf"\.{attr}\b", s) for s in sources):
                out.append((path, attr, []))
    return out


def _annotation(cfg: Any, attr: str) -> str:
    """The attribute's type as the config class annotates it, else as its docstring documents it ("" if neither)."""
    if dataclasses.is_dataclass(cfg):
        for f in dataclasses.fields(cfg):
            if f.name == attr:
                return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    m = re.search(rf"^\s*{attr} \(`([^`]+)`", _doc(type(cfg)), re.MULTILINE)
    return m.group(1) if m else ""


@lru_cache(maxsize=None)
def _doc(cls: type) -> str:
    """The docstrings of the class and its bases, where its attributes are documented."""
    return "".join(c.__doc__ or "" for c in cls.__mro__)


def _description(cfg: Any, attr: str) -> str:
    m = re.search(rf"^(\s*){attr} \(`[^\n]*\n((?:\1\s+\S[^\n]*\n?)*)", _doc(type(cfg)), re.MULTILINE)
    return m.group(2) if m else ""


def _suffix_value(cfg: Any, attr: str) -> Any:
    """The value of the config's own attribute that ``attr`` qualifies by a prefix (``shared_expert_`` +
    ``intermediate_size``, ``projection_`` + ``hidden_size``, ``indexer_`` + ``head_dim``): the longest such."""
    parts = attr.split("_")
    for i in range(1, len(parts)):
        value = getattr(cfg, "_".join(parts[i:]), None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def candidates(cfg: Any, attr: str, root: Any = None, model: Any = None, hints: list | None = None) -> list[Any]:
    """Values to try for ``attr`` of ``cfg`` (in the tree of ``root``), best first: a ``[checkpoint_values]``
    value keyed by the attribute's name, ``hints`` (the default of the parameter the code passes it to), the
    attribute it follows by a ``same`` rule, the value another config of the tree holds under its name, a free
    token id (for a special token), the config's attribute it qualifies by a prefix, then values of its
    annotated type."""
    data = rules().get("checkpoint_values", {})
    out: list[Any] = []
    if attr in data.get("values", {}):
        out.append(data["values"][attr])
    out.extend(hints or ())
    for rule in rules()["rule"]:
        follows = rule.get("values", {}).get(attr) if rule["kind"] == "same" else None
        if follows and getattr(cfg, follows, None) is not None:
            out.append(getattr(cfg, follows))
    out.extend(getattr(c, attr) for _, c in config_tree(root if root is not None else cfg)
               if c is not cfg and not _unset(c, attr))
    if attr.endswith(TOKEN_ID_SUFFIXES) and model is not None:  # one special token: a free id
        out.append(free_token_id(model, cfg))
    kind = _kind(_annotation(cfg, attr))
    width = _suffix_value(cfg, attr) if not kind or kind.startswith(("int", "float")) else None
    if width is not None:
        out.append(width)
    out.extend(_typed(cfg, attr, kind, data))
    return [v for i, v in enumerate(out) if not any(type(w) is type(v) and w == v for w in out[:i])]


def _kind(annotation: str) -> str:
    """The first type an annotation allows besides None ("int | float | None" -> "int")."""
    annotation = re.sub(r"^Optional\[(.*)\]$", r"\1", annotation.strip())
    depth, parts, start = 0, [], 0
    for i, ch in enumerate(annotation + "|"):
        depth += (ch == "[") - (ch == "]")
        if ch == "|" and depth == 0:
            parts.append(annotation[start:i].strip())
            start = i + 1
    return next((p for p in parts if p and p != "None"), "")


def _typed(cfg: Any, attr: str, kind: str, data: dict) -> list[Any]:
    """Values of the type ``kind`` names: numbers and switches from ``[checkpoint_values]``; a list of one
    item per label where the docstring says it is per class, then one of one tiny width (one stage); a list the
    docstring says holds ``[a, b]`` items: one such item of zeros (an index valid in any stack); a string:
    the quoted examples of the docstring (e.g. `"1/4"`)."""
    description = _description(cfg, attr)
    m = re.match(r"(?:list|tuple)\[(int|float)", kind)
    if m:
        labels = getattr(cfg, "num_labels", 0) if _PER_LABEL.search(description) else 0
        if m.group(1) == "int":
            return [list(range(labels))] * bool(labels) + [[data["width"]]]
        return [[v] * labels for v in data["float"]] * bool(labels) + [[v] for v in data["float"]]
    if kind.startswith(("list", "tuple")):
        items = re.search(r"`\[(\w+(?:,\s*\w+)+)\]`", description)
        return [[[0] * len(items.group(1).split(","))]] if items else []
    if kind == "str":
        return re.findall(r"`[\"']([^\"'`]+)[\"']`", description)
    return list(data[kind]) if kind in ("bool", "int", "float") else []


@dataclasses.dataclass
class Fills:
    """The values filled so far for one attempt, by config path, and the candidates left for each."""

    values: dict[tuple[str, str], Any] = dataclasses.field(default_factory=dict)
    left: dict[tuple[str, str], list[Any]] = dataclasses.field(default_factory=dict)
    rounds: int = 0

    def learn(self, exc: BaseException, config: Any, model: Any = None) -> bool:
        """Fill (or try the next candidate for) every value the failing code read unset; False when none."""
        if config is None or self.rounds >= MAX_FILL_ROUNDS:
            return False
        nodes = dict(config_tree(config))
        changed = False
        for path, attr, hints in unset_reads(exc, config, frozenset(self.values)):
            key = (path, attr)
            if key not in self.left:
                self.left[key] = candidates(nodes[path], attr, config, model, hints)
            if self.left[key]:
                self.values[key] = self.left[key].pop(0)
                changed = True
        self.rounds += changed
        return changed

    def as_config(self) -> dict:
        """The filled values as nested config values (a table per sub-config), as an override gives them."""
        out: dict = {}
        for (path, attr), value in self.values.items():
            node = out
            for part in filter(None, path.split(".")):
                node = node.setdefault(part, {})
            node[attr] = value
        return out
