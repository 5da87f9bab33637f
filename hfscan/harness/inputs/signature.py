"""The method a model is run through and what it hands on: ``forward()``, or the entry method of a model without
one (a pipeline of sub-models that only its ``generate`` runs) and the sub-model's ``forward()`` it feeds; the
``get_<modality>_features`` methods; the module source of a model's class."""

from __future__ import annotations

import ast
import inspect
import textwrap
from functools import lru_cache
from typing import Any, Callable


#: The public method a model without a forward() of its own is run through.
ENTRY_METHOD = "generate"


def entry_name(model: Any) -> str:
    """``forward``, or :data:`ENTRY_METHOD` where the model's class (or the class given) keeps nn.Module's
    placeholder forward() and has that method."""
    import torch

    cls = model if isinstance(model, type) else type(model)
    if getattr(cls, "forward", None) is torch.nn.Module.forward and callable(getattr(cls, ENTRY_METHOD, None)):
        return ENTRY_METHOD
    return "forward"


def fed_submodule(model: Any) -> Any:
    """The sub-model that a model's entry method hands its token ids to (``self.thinker.generate(input_ids=
    input_ids, ...)``), first in the entry's source; None for a model run through forward()."""
    import torch

    name = entry_name(model)
    if name == "forward":
        return None
    method = getattr(model, name)
    first = next(iter(inspect.signature(method).parameters), None)
    for attr in _self_calls_passing(getattr(method, "__func__", method), first):
        sub = getattr(model, attr, None)
        if isinstance(sub, torch.nn.Module):
            return sub
    return None


@lru_cache(maxsize=None)
def _self_calls_passing(func: Callable, arg: str | None) -> tuple[str, ...]:
    """The attributes ``x`` of the calls ``self.x(...)`` or ``self.x.method(...)`` in ``func``'s source that pass
    ``arg`` on, in source order (the source parsed once per function); empty where it has no readable source."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return ()
    calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset))
    out = []
    for call in calls:
        if not any(isinstance(v, ast.Name) and v.id == arg for v in [*call.args, *(k.value for k in call.keywords)]):
            continue
        target = call.func.value if isinstance(call.func, ast.Attribute) and isinstance(call.func.value,
                                                                                         ast.Attribute) else call.func
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            out.append(target.attr)
    return tuple(out)


def _doc(model: Any) -> str:
    """The docstring of the method a model is run through (forward(); or its entry method, then the forward()
    of the sub-model that one feeds), or of a method given in its place."""
    if not hasattr(model, "forward"):
        return getattr(model, "__doc__", None) or ""
    fed = fed_submodule(model) if not isinstance(model, type) else None
    methods = [getattr(model, entry_name(model))] + ([fed.forward] if fed is not None else [])
    return "\n".join(getattr(m, "__doc__", None) or "" for m in methods)


def _source(model: Any) -> str:
    """The source of the module that defines ``model``'s class (or ``model``, a class); "" where none is found."""
    return _module_source((model if isinstance(model, type) else type(model)).__module__)


@lru_cache(maxsize=None)
def _module_source(name: str) -> str:
    """The source of a loaded module, read once; "" where it is not loaded or has no source file."""
    import sys

    try:
        return inspect.getsource(sys.modules[name])
    except (KeyError, OSError, TypeError):
        return ""


def feature_fn(model: Any, modality: str) -> Callable | None:
    """The model's ``get_<modality>_features``, or that of the first submodule that has one (a head class
    that wraps the base model without exposing it)."""
    return next(iter(_feature_methods(model, modality)), None)


def _feature_methods(model: Any, modality: str) -> list[Callable]:
    """Every ``get_<modality>_features`` of the model and its submodules, outermost first."""
    modules = model.modules() if hasattr(model, "modules") else [model]
    return [fn for m in modules if callable(fn := getattr(m, f"get_{modality}_features", None))]


def _needs_text(model: Any, modality: str) -> bool:
    """Whether a ``get_<modality>_features`` of the model requires the token ids (which must already hold the
    placeholders it counts), so that it cannot count them."""
    return any("input_ids" in params and params["input_ids"].default is inspect.Parameter.empty
               for params in (inspect.signature(fn).parameters for fn in _feature_methods(model, modality)))


def feature_args(model: Any, required: bool = False, modality: str | None = None) -> set[str]:
    """The arguments the model's ``get_<modality>_features`` methods take (or, with ``required``, those without
    a default) besides text: built before the placeholder tokens are counted, since counting calls them.
    ``modality`` limits them to that modality's methods."""
    names: set[str] = set()
    for kind in (modality,) if modality else ("image", "video", "audio"):
        for fn in _feature_methods(model, kind):  # a wrapper's method may pass **kwargs on to the base's
            names.update(n for n, p in inspect.signature(fn).parameters.items()
                         if not required or p.default is inspect.Parameter.empty)
    return names - {"input_ids", "attention_mask", "kwargs"}


def pixel_tower_args(model: Any) -> set[str]:
    """The arguments a submodule that requires the pixels (a vision tower) requires besides them."""
    names: set[str] = set()
    for cls in {type(m) for m in model.modules()} if hasattr(model, "modules") else ():
        params = inspect.signature(cls.forward).parameters
        required = {n for n, p in params.items() if p.default is inspect.Parameter.empty
                    and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if "pixel_values" in required:
            names |= required
    return names - {"self", "pixel_values"}


def forward_params(model: Any) -> dict[str, inspect.Parameter]:
    """The parameters of the method the model is run through: forward()'s, or its entry method's followed,
    where the entry takes ``**kwargs`` to pass on, by those of the forward() of the sub-model it feeds."""
    params = dict(inspect.signature(getattr(model, entry_name(model))).parameters)
    fed = fed_submodule(model)
    if fed is not None and any(p.kind == p.VAR_KEYWORD for p in params.values()):
        for name, param in inspect.signature(fed.forward).parameters.items():
            params.setdefault(name, param)
    return params
