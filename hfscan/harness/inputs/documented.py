"""Documented-shape readers: the shape forward()'s docstring gives an argument (``(batch_size, num_frames, 3)``),
its entry, and tensors built to that shape, each dimension sized from the config."""

from __future__ import annotations

import ast
import re
from typing import Any

from hfscan.harness.inputs.context import BATCH, Context, _is_int
from hfscan.harness.inputs.signature import _doc, _source


def documented_dims(model: Any, arg: str) -> list[str] | None:
    """The dimension names of ``arg`` in forward()'s docstring: "`(batch_size, 1, time_steps)`" -> [...]
    (square brackets alike; a dimension may be an expression such as ``dim * len(config.layer_ids)``).  A
    dataclass's docstring may give a field's shape first: "arg: `(batch_size, num_atoms, 3)` ..."."""
    doc = _doc(model)
    m = re.search(rf"\b{re.escape(arg)} \(`[^`]*`[^)]*?of shape `?([(\[])", doc)
    if not m:  # the shape in the argument's description: "arg (`torch.Tensor`):\n  ... of shape `(...)`"
        m = re.search(rf"\b{re.escape(arg)} \(`[^`]*`\):(?:(?!\n\s*\w+ \(`)[\s\S])*?of shape `?([(\[])", doc)
    if not m:
        m = re.search(rf"(?:^|\n)\s*{re.escape(arg)}: `([(\[])", doc)
    if not m:
        return None
    dims, depth, part = [], 0, ""
    for ch in doc[m.end():]:
        if ch in ")]" and depth == 0:
            return [d for d in (*dims, part.strip()) if d]
        depth += (ch in "([") - (ch in ")]")
        if ch == "," and depth == 0:
            dims.append(part.strip())
            part = ""
        else:
            part += ch
    return None


#: Size of a documented dimension that no config attribute names (frames, regions, ...).
FREE_DIM = 8


def documented_tensor(ctx: Context, arg: str) -> Any:
    """A float tensor for a required ``arg`` that no builder knows, shaped as forward()'s docstring
    documents it: each dimension is the config attribute of that name (``hidden_size``), a literal
    number, or a small free size.  None when the docstring gives no shape."""
    dims = documented_dims(ctx.model, arg)
    if not dims:
        return None
    rows = re.fullmatch(r"batch_size\s*\*\s*(.+)", dims[0])  # several rows per sample: (batch_size * config.n_docs)
    shape = [BATCH * (_documented_size(ctx, rows.group(1)) if rows else 1)]
    shape += [_documented_size(ctx, name) for name in dims[1:]]
    torch = ctx.torch
    if arg.endswith("_mask"):  # of the documented type: a boolean mask may index
        boolean = (re.search(rf"\b{re.escape(arg)} \(`torch\.BoolTensor`", _doc(ctx.model))
                   or _passed_as_bool(ctx.model, arg))
        return torch.ones(*shape, dtype=torch.bool if boolean else torch.long)
    classes = _one_hot_classes(ctx.model).get(arg)
    if classes is not None:  # class ids the model one-hot encodes itself (a documented one-hot axis is its work)
        return torch.zeros(*(shape[:-1] if dims[-1].removeprefix("config.") == classes else shape), dtype=torch.long)
    if arg.endswith(("_ids", "_id", "_idx", "_index", "_indices", "timesteps")) or _INDEX_DOC.search(
            documented_arg(ctx.model, arg)):
        return torch.zeros(*shape, dtype=torch.long)  # index 0 exists in every table
    if len(shape) == 1 and re.search(rf"\b{re.escape(arg)} \(`?torch\.LongTensor", _doc(ctx.model)):
        return torch.ones(*shape, dtype=torch.long)  # an integer per sample (a count: one of each row fed)
    return torch.randn(*shape) * 0.1


def documented_rows(model: Any, inputs: dict) -> int | None:
    """Rows of the built inputs forward()'s docstring documents as several per sample (``(batch_size *
    config.n_docs, length)``: one row per retrieved document), which a generator reading them keeps; None
    where no input is documented so."""
    rows = [int(value.shape[0]) for name, value in inputs.items() if getattr(value, "ndim", 0)
            and re.fullmatch(r"batch_size\s*\*.+", (documented_dims(model, name) or [""])[0])]
    return max(rows) if rows else None


def documented_arg(model: Any, arg: str) -> str:
    """The entry of ``arg`` in forward()'s docstring (its line and description; a dataclass's ``arg: `(...)` ...``
    entry alike); "" where it has none."""
    doc = _doc(model)
    m = (re.search(rf"\n\s*{re.escape(arg)} \(`(?:(?!\n\s*\w+ \(`)[\s\S])*", doc)
         or re.search(rf"\n\s*{re.escape(arg)}: `(?:(?!\n\s*\w+: `)[\s\S])*", doc))
    return m.group(0) if m else ""


#: A documented tensor that holds integers: indices ("index of the token each atom belongs to", "index for each
#: token") or codes it enumerates ("``0`` = protein, ``1`` = DNA": zeros are the first code).
_INDEX_DOC = re.compile(r"\bindex (?:of|for) (?:the|each)\b|`0`+ = ")


def _one_hot_classes(model: Any) -> dict[str, str]:
    """Names that the model's module one-hot encodes with a class count from its config
    (``F.one_hot(ref_element, num_classes=self.config.max_atomic_number)``): {name: config attribute}; an input of
    that name holds class ids, whatever form its docstring documents (the encoded one)."""
    pattern = r"one_hot\(\s*(\w+)\s*,\s*(?:num_classes\s*=\s*)?self\.config\.(\w+)\s*\)"
    return dict(re.findall(pattern, _source(model)))


def _passed_as_bool(model: Any, arg: str) -> bool:
    """Whether the model's module passes ``arg`` on as a keyword that a docstring there documents as boolean
    (``atom_mask=atom_inputs.atom_attention_mask`` into a function documenting ``atom_mask: `(...)` bool``)."""
    src = _source(model)
    keywords = set(re.findall(rf"\b(\w+)=[\w.]*\b{re.escape(arg)}\b", src))
    return any(re.search(rf"\b{re.escape(k)}(?: \(`torch\.BoolTensor`|: `[^`]*` bool\b)", src) for k in keywords)


def documented_required(model: Any, arg: str) -> bool:
    """Whether forward()'s docstring says an optional ``arg`` "has to be provided" (where the model lacks a
    component that would compute it, e.g. a retriever's documents)."""
    return bool(re.search(r"\bha(?:s|ve) to be\s+provided\b", documented_arg(model, arg)))


#: Documented dimension names that mean a config attribute of another name.
_DIM_ALIASES = {"dim": "hidden_size"}


#: Documented dimensions that are an axis of an input already built: (input, axis, trailing axes it is not
#: among): images per sample and tiles per image are the pixels' (one where the pixels lack that axis).
_BUILT_AXES = {"max_num_images": ("pixel_values", 1, 3), "num_images": ("pixel_values", 1, 3),
               "max_num_tiles": ("pixel_values", 2, 3), "num_tiles": ("pixel_values", 2, 3),
               "seq_length": ("input_ids", 1, 0), "sequence_length": ("input_ids", 1, 0)}


def _documented_size(ctx: Context, expr: str) -> int:
    """A documented dimension's size: a number, a config attribute (``config.`` optional), or a product of
    those and ``len()`` of config lists; a small free size where the config names none."""
    axis = _BUILT_AXES.get(expr)
    if axis is not None:
        built = ctx.built.get(axis[0])
        if built is not None and axis[1] < built.dim() - axis[2]:
            return int(built.shape[axis[1]])
        return 1 if axis[0] == "pixel_values" else FREE_DIM

    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "config":
            return ctx.find(node.attr)
        if isinstance(node, ast.Name):
            return ctx.find(_DIM_ALIASES.get(node.id, node.id))
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Pow)):
            left, right = value(node.left), value(node.right)
            if not (isinstance(left, int) and isinstance(right, int)):
                return None
            return left * right if isinstance(node.op, ast.Mult) else left ** right
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "len" and len(node.args) == 1:
            items = value(node.args[0])
            return len(items) if isinstance(items, (list, tuple)) else None
        return None

    try:
        size = value(ast.parse(expr, mode="eval").body)
    except SyntaxError:
        size = None
    return size if _is_int(size) and size > 0 else FREE_DIM


def build_documented(model: Any, config: Any, name: str) -> Any:
    """``name`` shaped as forward()'s docstring documents it (see :func:`documented_tensor`), or None."""
    import torch

    return documented_tensor(Context(model=model, config=config, task="", torch=torch), name)
