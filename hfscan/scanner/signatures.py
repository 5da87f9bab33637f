"""The named parameters of a model class's ``forward()``, read from transformers' source instead of importing it.

Importing every modeling module (to ``inspect.signature`` its classes) is what
made the first classification on a new transformers slow.  The parameters are
written in the source: the class statement is found by its name in the module
transformers serves it from, and only the ``def forward(...)`` header of its body is parsed
(a whole-module parse of 600 modeling files costs seconds).  A class with no
``forward`` of its own is followed to its bases in the same module or in the
transformers modules it imports them from, down to torch's ``nn.Module`` (whose
``forward`` is read from torch).  Whatever the source does not
settle returns None and the caller imports instead: a class that is not
written as a ``class`` statement where it is exported, a base from outside
transformers (``nn.Module``), a module that imports a package that is not
installed (importing it fails, and that failure is the fact).  A test checks
that the result equals importing for every model type of the installed
transformers.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re

from hfscan.scanner.source import _source_path, package_exports

_IMPORT = re.compile(r"^(?:from\s+(\S+)\s+import|import\s+([\w.]+))", re.M)
_FROM_IMPORT = re.compile(r"^from\s+(\.*[\w.]*)\s+import\s+(\([^)]*\)|[^\n]*)", re.M)
#: The next top-level definition ends a class body (a docstring line at column 0 does not).
_BLOCK_END = re.compile(r"^(?=class\s|def\s|async\s+def\s|@)", re.M)
_MAX_DEPTH = 8


@functools.lru_cache(maxsize=None)
def _text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


@functools.lru_cache(maxsize=None)
def _installed(top: str) -> bool:
    return top in ("transformers", "__future__") or importlib.util.find_spec(top) is not None


def _imports_missing_package(text: str) -> bool:
    """Whether the module imports, at its top level, a package that is not installed (importing it fails)."""
    for m in _IMPORT.finditer(text):
        name = m.group(1) or m.group(2)
        if not name.startswith(".") and not _installed(name.split(".")[0]):
            return True
    return False


def _class_body(text: str, name: str) -> tuple[list[str], str] | None:
    """(base class names, body text) of the top-level ``class name`` statement."""
    m = re.search(rf"^class\s+{re.escape(name)}\s*(\((?P<bases>[^)]*)\))?\s*:", text, re.M)
    if m is None:
        return None
    bases = [b.strip() for b in (m.group("bases") or "").replace("\n", " ").split(",") if b.strip()]
    start = text.find("\n", m.end())
    if start < 0:
        return bases, ""
    end = _BLOCK_END.search(text, start + 1)
    return bases, text[start + 1 : end.start() if end else len(text)]


def _forward_header(body: str) -> str | None:
    """The ``def forward(...):`` header of a class body's own method (not a nested class's), or None."""
    first = next((ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), None)
    if first is None:
        return None
    indent = first[: len(first) - len(first.lstrip())]
    m = re.search(rf"^{re.escape(indent)}(?:async\s+)?def\s+forward\s*\(", body, re.M)
    if m is None:
        return None
    depth = 0
    for i in range(m.start(), len(body)):
        ch = body[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == ":" and depth == 0:
            return body[m.start() : i + 1]
    return None


def _params(header: str) -> tuple[str, ...] | None:
    try:
        fn = ast.parse(header.strip() + " pass").body[0]
    except SyntaxError:
        return None
    args = fn.args  # type: ignore[attr-defined]
    return tuple(a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs) if a.arg != "self")


def _module_of_import(module: str, text: str, name: str) -> str | None:
    """The absolute module a top-level ``from X import name`` of ``module`` reads ``name`` from."""
    for m in _FROM_IMPORT.finditer(text):
        names = [n.split(" as ")[0].strip() for n in m.group(2).strip("()").replace("\n", " ").split(",")]
        if name in names and not any(f" as {name}" in n for n in m.group(2).split(",")):
            source = m.group(1)
            if not source.startswith("."):
                return source
            package = module.rpartition(".")[0]
            return importlib.util.resolve_name(source, package)
    return None


def _source_forward(module: str, name: str, depth: int = 0) -> tuple[str, ...] | None:
    path = _source_path(module)
    text = _text(path) if path else None
    if text is None or depth > _MAX_DEPTH or _imports_missing_package(text):
        return None
    found = _class_body(text, name)
    if found is None:
        return None
    bases, body = found
    header = _forward_header(body)
    if header is not None:
        return _params(header)
    for base in bases:  # left to right, depth first: the MRO of the single-inheritance chains models use
        if base in _TORCH_MODULE and _imports_torch_nn(text, base):
            return _module_forward()  # a chain that ends at torch's Module with no forward of its own
        if "." in base or "=" in base or "[" in base:
            return None  # nn.Module, metaclass=..., Generic[...]: not settled by transformers' source
        source = module if re.search(rf"^class\s+{re.escape(base)}\b", text, re.M) else _module_of_import(module, text, base)
        if source is None or not source.startswith("transformers"):
            return None
        params = _source_forward(source, base, depth + 1)
        if params is not None:
            return params
        return None  # a base whose forward the source does not settle: import
    return None


_TORCH_MODULE = frozenset({"nn.Module", "torch.nn.Module"})


def _imports_torch_nn(text: str, base: str) -> bool:
    """Whether ``base`` (``nn.Module`` / ``torch.nn.Module``) names torch's Module in the module's own imports."""
    if base.startswith("torch."):
        return re.search(r"^import\s+torch\b", text, re.M) is not None
    return re.search(r"^(?:import\s+torch\.nn\s+as\s+nn\b|from\s+torch\s+import\s+[^\n]*\bnn\b)", text, re.M) is not None


@functools.lru_cache(maxsize=None)
def _module_forward() -> tuple[str, ...]:
    """The named parameters of ``torch.nn.Module.forward`` (read from torch itself: it is installed)."""
    import inspect

    import torch

    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    params = inspect.signature(torch.nn.Module.forward).parameters.values()
    return tuple(p.name for p in params if p.name != "self" and p.kind not in variadic)


def forward_params(class_name: str) -> tuple[str, ...] | None:
    """Named parameters of ``transformers.<class_name>.forward``, or None where the source does not settle them.

    The module is the one transformers' lazy top level serves the class from (its export table; no modeling
    module is imported).
    """
    top = package_exports("transformers") or {}
    if class_name not in top:
        return None
    module = f"transformers.{top[class_name]}"
    path = _source_path(module)
    if path is None or path.endswith("__init__.py"):
        return None
    return _source_forward(module, class_name)
