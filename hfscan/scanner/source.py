"""Reading transformers' own source files instead of importing them.

Importing the auto modules and 800+ configuration modules pulls in torch and the processing stack (seconds).  The
facts discovery needs are written in the source: mapping tables (partly completed by import-time code, which
:func:`_evaluate` runs on its own) and class attributes of config classes (read by ``discover._source_config``).
Whatever the source does not settle raises :class:`_Unresolved`, and the caller imports instead;
``discover.scan(from_source=False)`` imports everything and is the reference the tests compare against.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import importlib.util
import os
from dataclasses import dataclass
from typing import Any, Iterable


class _Unresolved(Exception):
    """The source does not settle a fact; the caller imports the module instead."""


@functools.lru_cache(maxsize=None)
def _source_path(module: str) -> str | None:
    """The file of a transformers module (``__init__.py`` for a package), found without importing it."""
    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.origin or not module.startswith("transformers"):
        return None
    base = os.path.join(os.path.dirname(spec.origin), *module.split(".")[1:])
    for path in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(path):
            return path
    return None


def _parse(module: str) -> ast.Module:
    path = _source_path(module)
    if path is None:
        raise _Unresolved(module)
    try:
        with open(path, encoding="utf-8") as f:
            return ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError) as exc:
        raise _Unresolved(module) from exc


def source_tree(module: str) -> ast.Module | None:
    """The syntax tree of a transformers module's source, read without importing it (None when unreadable)."""
    try:
        return _parse(module)
    except _Unresolved:
        return None


def _package_of(module: str) -> str:
    path = _source_path(module) or ""
    return module if path.endswith("__init__.py") else module.rpartition(".")[0]


def _import_source(module: str, node: ast.ImportFrom) -> str:
    """The absolute module name an ``import from`` statement of ``module`` reads."""
    if not node.level:
        return node.module or ""
    return importlib.util.resolve_name("." * node.level + (node.module or ""), _package_of(module))


def _bound_names(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement binds (not counting names local to its functions and classes)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    out: set[str] = set()
    todo: list[ast.AST] = [stmt]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= _bound_names(node)
        # ``X.update(...)``, ``X[k] = v`` and ``X.a = v`` change the object bound to X
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            out.add(node.func.value.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.value, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                out.add(node.value.id)
        todo.extend(ast.iter_child_nodes(node))
    return out


def _loaded_names(stmt: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


@functools.lru_cache(maxsize=None)
def _module_tree(module: str) -> tuple[tuple[ast.stmt, frozenset[str]], ...]:
    """The top-level statements of a module, each with the names it binds."""
    return tuple((stmt, frozenset(_bound_names(stmt))) for stmt in _parse(module).body)


def _top_level_names(module: str) -> set[str]:
    return set().union(*(bound for _, bound in _module_tree(module)))


def _evaluate(module: str, names: Iterable[str], _stack: tuple[str, ...] = ()) -> dict[str, Any]:
    """The values of the top-level ``names`` of a transformers module, without importing it.

    Runs, in module order, only the statements that bind or change the names
    (their assignments and the import-time code that completes them:
    ``X.update(...)``, loops that add keys), then, to a fixed point, those
    that bind what these read (definitions, imports).  A module of the same
    package is evaluated the same way; any other import is a real import.  A
    name the module never binds is left out.  Raises _Unresolved, or whatever
    the sliced code raises.
    """
    if module in _stack:
        raise _Unresolved(f"import cycle through {module}")
    names = list(names)
    tree = _module_tree(module)
    needed = set(names)
    chosen: set[int] = set()
    grown = True
    while grown:  # to a fixed point: a function reads the globals bound after its definition too
        grown = False
        for i in reversed(range(len(tree))):
            stmt, bound = tree[i]
            if i not in chosen and bound & needed:
                chosen.add(i)
                needed |= _loaded_names(stmt)
                grown = True
    path = _source_path(module) or module
    ns: dict[str, Any] = {"__name__": module, "__package__": _package_of(module), "__file__": path}
    for stmt in (tree[i][0] for i in sorted(chosen)):
        if isinstance(stmt, ast.ImportFrom) and stmt.names[0].name != "*":
            source = _import_source(module, stmt)
            wanted = {a.name: a.asname or a.name for a in stmt.names if (a.asname or a.name) in needed}
            if source.rpartition(".")[0] == _package_of(module) and source.startswith("transformers."):
                values = _evaluate(source, wanted, (*_stack, module))
            else:
                imported = importlib.import_module(source)
                values = {n: getattr(imported, n) for n in wanted}
            for name, local in wanted.items():
                if name not in values:
                    raise _Unresolved(f"{source} has no {name}")
                ns[local] = values[name]
        else:
            exec(compile(ast.Module(body=[stmt], type_ignores=[]), path, "exec"), ns)  # noqa: S102 - transformers' own code
    return {n: ns[n] for n in names if n in ns}


def _module_values(module: str, names: Iterable[str], from_source: bool) -> dict[str, Any]:
    """Top-level values of a transformers module: read from source when it can be, else imported."""
    names = list(names)
    if from_source:
        try:
            return _evaluate(module, names)
        except Exception:  # noqa: BLE001 - any failure means: import it as transformers does
            pass
    try:
        imported = importlib.import_module(module)
    except ImportError:
        return {}
    return {n: getattr(imported, n) for n in names if hasattr(imported, n)}


# Class attributes of config classes that discovery reads.
_CLASS_ATTRS = frozenset({"model_type", "sub_configs", "sub_configs_defaults"})


@dataclass(frozen=True, eq=False)
class _ClassInfo:
    """What a ``class`` statement says: its bases and the attributes in _CLASS_ATTRS."""

    module: str
    name: str
    bases: tuple[ast.expr, ...]
    attrs: dict[str, ast.AST]


@dataclass(frozen=True)
class _ModuleInfo:
    classes: dict[str, _ClassInfo]
    aliases: dict[str, tuple[str, str]]  # local name -> (module, name): imports and ``A = B``
    opaque: frozenset[str]  # names bound in a way the source does not settle
    missing_dependency: bool  # imports a package that is not installed


@functools.lru_cache(maxsize=None)
def _installed(module: str) -> bool:
    """Whether the package an import names is installed (transformers' own modules are)."""
    top = module.split(".")[0]
    return top == "transformers" or importlib.util.find_spec(top) is not None


def _class_info(module: str, node: ast.ClassDef) -> _ClassInfo:
    attrs: dict[str, ast.AST] = {}
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            attrs[item.name] = item
        elif isinstance(item, ast.Assign):
            attrs.update((t.id, item.value) for t in item.targets if isinstance(t, ast.Name))
        elif isinstance(item, ast.AnnAssign) and item.value is not None and isinstance(item.target, ast.Name):
            attrs[item.target.id] = item.value
    return _ClassInfo(module, node.name, tuple(node.bases), {k: v for k, v in attrs.items() if k in _CLASS_ATTRS})


def _rebound_names(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement rebinds, and classes whose _CLASS_ATTRS it sets (``X.sub_configs = ...``)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, ast.If) and ast.unparse(stmt.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
        return set().union(*map(_rebound_names, stmt.orelse))
    out: set[str] = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            out.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= _bound_names(node)
        elif isinstance(node, ast.Attribute) and node.attr in _CLASS_ATTRS and not isinstance(node.ctx, ast.Load):
            if isinstance(node.value, ast.Name):
                out.add(node.value.id)
    return out


@functools.lru_cache(maxsize=None)
def _module_info(module: str) -> _ModuleInfo:
    """Classes, imports and aliases of a module's top level, read from its source."""
    classes: dict[str, _ClassInfo] = {}
    aliases: dict[str, tuple[str, str]] = {}
    opaque: set[str] = set()
    missing = False
    for stmt in _parse(module).body:
        if isinstance(stmt, ast.ClassDef) and not stmt.keywords:
            aliases.pop(stmt.name, None)
            classes[stmt.name] = _class_info(module, stmt)
            continue
        if isinstance(stmt, ast.ImportFrom):
            source = _import_source(module, stmt)
            for a in stmt.names:
                classes.pop(a.asname or a.name, None)
                aliases[a.asname or a.name] = (source, a.name)
            missing |= not _installed(source)
            continue
        if isinstance(stmt, ast.Import):
            missing |= not all(_installed(a.name) for a in stmt.names)
        elif isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Name) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                classes.pop(target.id, None)
                aliases[target.id] = (module, stmt.value.id)
                continue
        opaque |= _rebound_names(stmt)
    return _ModuleInfo(classes, aliases, frozenset(opaque), missing)


@functools.lru_cache(maxsize=None)
def package_exports(package: str) -> dict[str, str] | None:
    """{exported name: submodule} of a lazily importing transformers package; None if it cannot be imported."""
    try:
        mod = importlib.import_module(package)
    except Exception:  # noqa: BLE001 - a broken optional module must not stop discovery
        return None
    class_to_module = getattr(mod, "_class_to_module", None)
    return dict(class_to_module) if isinstance(class_to_module, dict) else None


def _resolve(module: str, name: str, _seen: tuple[tuple[str, str], ...] = ()) -> _ClassInfo:
    """The ``class`` statement that ``name`` in ``module`` stands for, following imports and aliases."""
    if (module, name) in _seen or len(_seen) > 20:
        raise _Unresolved(f"{module}.{name}")
    seen = (*_seen, (module, name))
    exports = package_exports(module) if (_source_path(module) or "").endswith("__init__.py") else None
    if exports is not None:
        # a lazily importing package replaces itself with a module that serves its exports only
        if name not in exports:
            raise _Unresolved(f"{module}.{name}")
        return _resolve(f"{module}.{exports[name]}", name, seen)
    info = _module_info(module)
    if info.missing_dependency or name in info.opaque:
        raise _Unresolved(f"{module}.{name}")
    if name in info.classes:
        return info.classes[name]
    if name in info.aliases:
        return _resolve(*info.aliases[name], seen)
    raise _Unresolved(f"{module}.{name}")


def _c3_merge(sequences: list[list[_ClassInfo]]) -> list[_ClassInfo]:
    """Python's C3 linearisation of base-class MROs."""
    out: list[_ClassInfo] = []
    seqs = [s for s in sequences if s]
    while seqs:
        head = next((s[0] for s in seqs if not any(s[0] in other[1:] for other in seqs)), None)
        if head is None:
            raise _Unresolved("inconsistent MRO")
        out.append(head)
        seqs = [[c for c in s if c is not head] for s in seqs]
        seqs = [s for s in seqs if s]
    return out


@functools.lru_cache(maxsize=None)
def _mro(cls: _ClassInfo) -> tuple[_ClassInfo, ...]:
    info = _module_info(cls.module)
    parents: list[list[_ClassInfo]] = []
    for base in cls.bases:
        if not isinstance(base, ast.Name):
            raise _Unresolved(f"base of {cls.name}")
        if base.id not in info.classes and base.id not in info.aliases and hasattr(builtins, base.id):
            continue  # object: no attribute discovery reads
        parents.append(list(_mro(_resolve(cls.module, base.id))))
    return (cls, *_c3_merge([*parents, [p[0] for p in parents]]))


def _class_attr(cls: _ClassInfo, attr: str) -> tuple[_ClassInfo, ast.AST] | None:
    """(defining class, value node) of a class attribute, looked up along the MRO like getattr."""
    for c in _mro(cls):
        if attr in c.attrs:
            return c, c.attrs[attr]
    return None


def _source_model_type(cls: _ClassInfo) -> str | None:
    found = _class_attr(cls, "model_type")
    if found is None:
        return None
    try:
        return ast.literal_eval(found[1])  # type: ignore[arg-type]
    except (ValueError, TypeError, SyntaxError) as exc:
        raise _Unresolved(f"{cls.name}.model_type") from exc


def _source_sub_configs(cls: _ClassInfo) -> list[tuple[str, _ClassInfo]]:
    """``cls.sub_configs`` as (attribute, config class) pairs, read from the source.

    Up to transformers 4 ``sub_configs`` is a dict of classes (or, in a few
    configs, an instance property: none on the class); from 5 on it is a class
    property over ``sub_configs_defaults``, a dict of classes or of
    ``SubConfigSpec(config_class, ...)``.
    """
    found = _class_attr(cls, "sub_configs")
    if found is None:
        return []
    owner, node = found
    if isinstance(node, ast.FunctionDef) and [ast.unparse(d) for d in node.decorator_list] == ["property"]:
        return []  # an instance property: the class itself declares none
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        if not any(isinstance(n, ast.Attribute) and n.attr == "sub_configs_defaults" for n in ast.walk(node)):
            raise _Unresolved(f"{cls.name}.sub_configs")
        found = _class_attr(cls, "sub_configs_defaults")
        if found is None:
            return []
        owner, node = found
    if not isinstance(node, ast.Dict):
        raise _Unresolved(f"{cls.name}.sub_configs")
    out = []
    for key, value in zip(node.keys, node.values):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            raise _Unresolved(f"{cls.name}.sub_configs")
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            if _resolve(owner.module, value.func.id).name != "SubConfigSpec":
                raise _Unresolved(f"{cls.name}.sub_configs")
            value = next((k.value for k in value.keywords if k.arg == "config_class"), value.args[0] if value.args else None)
        if not isinstance(value, ast.Name):
            raise _Unresolved(f"{cls.name}.sub_configs")
        out.append((key.value, _resolve(owner.module, value.id)))
    return out


def _forget_sources() -> None:
    """Drop the parsed sources (they are only needed while scanning)."""
    for cached in (_source_path, _module_tree, _installed, _module_info, package_exports, _mro):
        cached.cache_clear()
