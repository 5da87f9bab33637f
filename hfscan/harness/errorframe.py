"""Facts read from where an error was raised instead of from its text: the frames of its traceback, their local
variables, and the layer whose forward failed.

An error's wording changes between releases; the frame that raised it holds the same facts as values (the
tensor a layer was given, the backends a ``requires_backends`` call found missing). The regular expressions
that are left over error text are in :mod:`hfscan.harness.errortext`.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from types import FrameType
from typing import Any, Iterator


@functools.lru_cache(maxsize=256)
def _raising_if(code: Any, lineno: int) -> ast.expr | None:
    """The test of the ``if`` whose body holds, as its own statement, the ``raise`` at ``lineno`` of ``code``'s
    source; None where there is none."""
    try:
        lines, start = inspect.getsourcelines(code)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return None
    at = lineno - (start or 1) + 1  # the line in the parsed source
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and any(isinstance(s, ast.Raise) and s.lineno <= at <= s.end_lineno
                                            for s in node.body):
            return node.test
    return None


def frames(exc: BaseException | None) -> Iterator[FrameType]:
    """The frames of ``exc``'s traceback, innermost first."""
    tb, stack = getattr(exc, "__traceback__", None), []
    while tb is not None:
        stack.append(tb.tb_frame)
        tb = tb.tb_next
    return reversed(stack)


def chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and the errors it was raised from or while handling (``__cause__``, else ``__context__``)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def layer_input(exc: BaseException | None, kind: Any) -> tuple[Any, Any] | None:
    """(layer, the tensor it was given) of the innermost frame of ``exc``'s traceback that runs a layer of type
    ``kind`` (a method of it, ``self``, given a tensor ``input``: torch's Linear and Conv layers), where the
    error was raised inside it; None where it was not."""
    import torch

    for frame in frames(exc):
        layer, given = frame.f_locals.get("self"), frame.f_locals.get("input")
        if isinstance(layer, kind) and isinstance(given, torch.Tensor):
            return layer, given
    return None


def failed_backends(exc: BaseException | None) -> list[str]:
    """The backends (transformers' names: ``timm``, ``vision``...) that transformers' ``requires_backends`` found
    unavailable where it raised ``exc``, in the order it was asked for them; [] where it did not raise it."""
    for frame in frames(exc):
        if frame.f_code.co_name != "requires_backends" or "backends" not in frame.f_locals:
            continue
        mapping = frame.f_globals.get("BACKENDS_MAPPING", {})
        backends = frame.f_locals["backends"]
        out = []
        for backend in backends if isinstance(backends, (list, tuple)) else [backends]:
            available = getattr(backend, "is_satisfied", None) or mapping.get(backend, (None,))[0]
            if available is not None and not available():
                out.append(getattr(backend, "package_name", None) or str(backend))
        return out
    return []


def unpacked_axes(exc: BaseException | None) -> tuple[int, int] | None:
    """(names, axes) where ``exc`` was raised by a line that unpacks a tensor's shape into too few or many names
    (``batch, images, channels, height, width = pixel_values.shape``): the number of names, read from the parsed
    line, and the number of axes of the tensor, read from the raising frame; None where it was not so raised."""
    import ast

    import torch

    raised = _raising_statement(exc) if isinstance(exc, ValueError) else None
    if raised is None:
        return None
    node, frame = raised
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Tuple)
            and isinstance(node.value, ast.Attribute) and node.value.attr == "shape"
            and isinstance(node.value.value, ast.Name)):
        return None
    names = node.targets[0].elts
    tensor = frame.f_locals.get(node.value.value.id)
    if any(isinstance(n, ast.Starred) for n in names) or not isinstance(tensor, torch.Tensor):
        return None
    return (len(names), tensor.dim()) if len(names) != tensor.dim() else None


def _raising_statement(exc: BaseException | None) -> tuple[Any, FrameType] | None:
    """(the parsed statement, its frame) of the line that raised ``exc`` (its innermost frame's), where that line
    is one whole statement; None where it is not."""
    import ast
    import linecache

    tb = getattr(exc, "__traceback__", None)
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return None
    try:
        tree = ast.parse(linecache.getline(tb.tb_frame.f_code.co_filename, tb.tb_lineno).strip())
    except SyntaxError:
        return None
    return (tree.body[0], tb.tb_frame) if len(tree.body) == 1 else None


def masked_assignment(exc: BaseException | None) -> tuple[int, int] | None:
    """(rows given, rows selected) where ``exc`` was raised by an assignment through a boolean mask that selects
    another number of rows than it was given (``inputs_embeds[audio_token_mask] = audio_embeds[codes_mask]``):
    the mask's count and the given tensor's rows, read from the raising frame; None where it was not so raised."""
    import ast

    import torch

    raised = _raising_statement(exc)
    if raised is None:
        return None
    node, frame = raised

    def value(expr: Any) -> Any:  # a local, or a local indexed by a local
        if isinstance(expr, ast.Name):
            return frame.f_locals.get(expr.id)
        if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Name):
            base, index = value(expr.value), frame.f_locals.get(expr.slice.id)
            return base[index] if isinstance(base, torch.Tensor) and isinstance(index, torch.Tensor) else None
        return None

    if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript)
            and isinstance(node.targets[0].slice, ast.Name)):
        return None
    mask, given = frame.f_locals.get(node.targets[0].slice.id), value(node.value)
    if not (isinstance(mask, torch.Tensor) and mask.dtype == torch.bool and isinstance(given, torch.Tensor)
            and given.dim() >= 1):
        return None
    selected = int(mask.sum())
    return (given.shape[0], selected) if given.shape[0] != selected else None


def view_sizes(exc: BaseException | None) -> list[int] | None:
    """The sizes given to the ``view`` or ``reshape`` of the line that raised ``exc`` (``msg_token.view(batch_size,
    self.num_frames, hidden_size)``), each a local of the raising frame, an attribute of one, or a number; None
    where the line has no such call or a size is something else."""
    import ast

    raised = _raising_statement(exc) if isinstance(exc, RuntimeError) else None
    if raised is None:
        return None
    node, frame = raised

    def size(expr: Any) -> Any:
        if isinstance(expr, ast.Constant):
            return expr.value
        if isinstance(expr, ast.Name):
            return frame.f_locals.get(expr.id)
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in frame.f_locals:
            return getattr(frame.f_locals[expr.value.id], expr.attr, None)
        return None

    for call in ast.walk(node):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr in ("view", "reshape")):
            sizes = [size(arg) for arg in call.args]
            if sizes and all(isinstance(s, int) and not isinstance(s, bool) for s in sizes):
                return sizes
    return None


def _local_value(expr: Any, frame: FrameType) -> Any:
    """The value of ``expr`` in ``frame`` where it is a number, a local, an attribute of one, or one of those
    indexed by a number (``self.image_size[0]``); None for anything else (nothing is called)."""
    import ast

    if isinstance(expr, ast.Constant):
        return expr.value
    if isinstance(expr, ast.Name):
        return frame.f_locals.get(expr.id)
    if isinstance(expr, ast.Attribute):
        base = _local_value(expr.value, frame)
        return getattr(base, expr.attr, None) if base is not None and not isinstance(base, (int, float)) else None
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant):
        base = _local_value(expr.value, frame)
        try:
            return base[expr.slice.value] if isinstance(base, (tuple, list)) else None
        except (IndexError, TypeError):
            return None
    return None


def joined_shapes(exc: BaseException | None) -> tuple[int, list[tuple[int, ...]]] | None:
    """(axis, shapes of the tensors) of the ``torch.cat`` of the line that raised ``exc``, where it joins a list
    of locals along a constant axis; None where the line has no such call."""
    import ast

    import torch

    raised = _raising_statement(exc) if isinstance(exc, RuntimeError) else None
    if raised is None:
        return None
    node, frame = raised
    for call in ast.walk(node):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "cat"
                and call.args and isinstance(call.args[0], (ast.List, ast.Tuple))):
            continue
        dims = [k.value for k in call.keywords if k.arg == "dim"] or call.args[1:2]
        axis = _local_value(dims[0], frame) if dims else 0
        tensors = [_local_value(e, frame) for e in call.args[0].elts]
        if isinstance(axis, int) and tensors and all(isinstance(t, torch.Tensor) for t in tensors):
            return axis, [tuple(t.shape) for t in tensors]
    return None


def raising_comparisons(exc: BaseException | None) -> list[tuple[Any, Any]]:
    """(left, right) of each ``!=`` comparison of the ``if`` whose body raised ``exc`` (``if height !=
    self.image_size[0] or width != self.image_size[1]: raise ...``), as the raising frame holds them; [] where
    ``exc`` was not raised so or an operand is no plain value."""
    import ast

    tb = getattr(exc, "__traceback__", None)
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    test = _raising_if(tb.tb_frame.f_code, tb.tb_lineno) if tb is not None else None
    if test is None:
        return []
    pairs = [(_local_value(c.left, tb.tb_frame), _local_value(c.comparators[0], tb.tb_frame))
             for c in ast.walk(test) if isinstance(c, ast.Compare) and len(c.ops) == 1
             and isinstance(c.ops[0], ast.NotEq)]
    return [] if any(v is None for pair in pairs for v in pair) else pairs


def pooled_sides(exc: BaseException | None) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """(sides of the input, kernel) of a ``*pool2d`` call of the line that raised ``exc`` whose kernel is larger
    than the input on some side (``F.avg_pool2d(hidden_state, (3, 2))`` of a 2 x 2 map); None otherwise."""
    import ast

    import torch

    raised = _raising_statement(exc) if isinstance(exc, RuntimeError) else None
    if raised is None:
        return None
    node, frame = raised
    for call in ast.walk(node):
        name = getattr(call.func, "attr", getattr(call.func, "id", "")) if isinstance(call, ast.Call) else ""
        if not (name.endswith("pool2d") and len(call.args) >= 2):
            continue
        tensor, kernel = _local_value(call.args[0], frame), call.args[1]
        sizes = tuple(_local_value(e, frame) for e in kernel.elts) if isinstance(kernel, ast.Tuple) else \
            (_local_value(kernel, frame),) * 2
        if isinstance(tensor, torch.Tensor) and tensor.dim() >= 3 and all(isinstance(s, int) for s in sizes):
            sides = tuple(tensor.shape[-2:])
            if any(side < k for side, k in zip(sides, sizes)):
                return sides, sizes
    return None
