"""Model classes found by what they declare, for model types that no auto mapping gives a class.

A model class declares the config it is built from (``config: XConfig`` or
``config_class = XConfig`` in its body, or inherited from a base class of the
same module); a config class whose package has no model class may document
the class it is built into (its docstring example ``model = XModel(config)``).
The source is read, not imported, so planning stays cheap and torch-free.
"""

from __future__ import annotations

import ast
from functools import lru_cache

from hfscan.scanner.source import package_exports, source_tree


def declaring_classes(package: str, config_class: str) -> tuple[str, ...]:
    """The model classes ``package`` (``transformers.models.x``) exports whose body, or a base class's body
    in the same modeling file, declares ``config_class``; abstract ``*PreTrainedModel`` bases left out."""
    exports = _exports(package)
    found = []
    for module in sorted({sub for sub in exports.values() if sub.startswith("modeling_")}):
        declared = _declared_configs(f"{package}.{module}")
        found += [name for name, config in declared.items()
                  if config == config_class and exports.get(name) == module and not name.endswith("PreTrainedModel")]
    return tuple(found)


def foreign_classes(package: str, config_class: str) -> set[str]:
    """The classes ``package`` exports that declare a config class other than ``config_class`` (4.57 maps
    fastspeech2_conformer's text-to-waveform to FastSpeech2ConformerWithHifiGan, which declares the config of
    another model type): they are built from that config, not from this type's."""
    exports = _exports(package)
    out: set[str] = set()
    for module in sorted({sub for sub in exports.values() if sub.startswith("modeling_")}):
        out |= {name for name, config in _declared_configs(f"{package}.{module}").items()
                if config != config_class and exports.get(name) == module}
    return out


def documented_classes(config_module: str, config_class: str) -> tuple[str, ...]:
    """The model classes that ``config_class``'s docstring example (in ``config_module``) builds from an
    instance of it (``config = XConfig()`` then ``model = YModel(config=config)``), those transformers exports."""
    tree = source_tree(config_module)
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == config_class), None) if tree else None
    example = "\n".join(line.strip()[4:] for line in (ast.get_docstring(node) or "").splitlines()
                        if line.strip().startswith(">>> ")) if node else ""
    try:
        statements = ast.parse(example).body
    except SyntaxError:
        return ()
    exports = _exports("transformers")
    configs: set[str] = set()  # the names the example binds to an instance of the config class
    found: list[str] = []
    for stmt in statements:
        if not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)
                and isinstance(stmt.value.func, ast.Name)):
            continue
        call, names = stmt.value, [t.id for t in stmt.targets if isinstance(t, ast.Name)]
        args = [*call.args, *(k.value for k in call.keywords)]
        if call.func.id == config_class:
            configs.update(names)
        elif call.func.id in exports and any(isinstance(a, ast.Name) and a.id in configs for a in args):
            found.append(call.func.id)
    return tuple(dict.fromkeys(found))


def exported_classes(package: str) -> set[str]:
    """The names a transformers model package (``transformers.models.x``) exports from its own modules."""
    return set(_exports(package))


def _exports(package: str) -> dict[str, str]:
    """{exported name: submodule} of a lazily importing transformers package (empty when it cannot be read)."""
    return package_exports(package) or {}


@lru_cache(maxsize=None)
def _declared_configs(module: str) -> dict[str, str]:
    """{class name: the config class it declares, itself or through a base class of the module}."""
    tree = source_tree(module)
    if tree is None:
        return {}
    own: dict[str, str | None] = {}
    bases: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            own[node.name] = next((c for c in map(_config_of, node.body) if c), None)
            bases[node.name] = [b.id for b in node.bases if isinstance(b, ast.Name)]

    def resolve(name: str, depth: int = 0) -> str | None:
        if own.get(name) or depth > 20:
            return own.get(name)
        return next((c for c in (resolve(b, depth + 1) for b in bases.get(name, ()) if b in own) if c), None)

    return {name: config for name in own if (config := resolve(name))}


def _config_of(stmt: ast.stmt) -> str | None:
    """``XConfig`` of a class-body statement ``config: XConfig`` or ``config_class = XConfig``."""
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == "config":
        value = stmt.annotation
    elif (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
          and stmt.targets[0].id == "config_class"):
        value = stmt.value
    else:
        return None
    return value.id if isinstance(value, ast.Name) else None
