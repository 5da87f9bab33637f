"""outputs: the optional outputs a user asks forward() for. With eager attention (the implementation transformers
asks for when attention maps are wanted), ``output_hidden_states=True`` and ``output_attentions=True`` leave the
model's own outputs unchanged and return, for each requested kind, a non-empty tuple of finite tensors, one per
layer of one of the model's stacks (hidden states: one more, the embeddings', or one per stage; attention maps: or
two per layer, self and cross attention in one tuple); ``return_dict=False`` returns the same tensors, in the
ModelOutput's order, as a tuple. A flag forward() does not name, passed through ``**kwargs`` and not returned, is
recorded, not failed.

"One per layer of a stack" is read from the built model, generically: the length of one of its ``nn.ModuleList``\\ s,
a layer count of its config tree (``num_*layers``, ``*depth*``; a list of stage depths: their sum or their number),
or the number of modules of the class transformers records the output from (``_can_record_outputs``)."""

from __future__ import annotations

import inspect
from typing import Any

from hfscan.harness.checks import CheckFailure, check_finite, tensors_of
from hfscan.harness.consistency import common
from hfscan.harness.consistency.attention import configs_of, force
from hfscan.harness.consistency.compare import compare
from hfscan.harness.inputs import forward_params
from hfscan.harness.registry import CheckContext, NotApplicable

#: The flags asked for, and the output fields (by their name's ending) each one returns.
FLAGS = {"output_hidden_states": "hidden_states", "output_attentions": "attentions"}


def check_outputs(ctx: CheckContext) -> dict:
    a, tol = ctx.attempt, ctx.tolerance
    common.needs_forward(a)
    model = a.model
    params = forward_params(model)
    flags = {flag: True for flag, field in FLAGS.items() if flag in params or _recorded(model, params, field)}
    if not flags:
        raise NotApplicable(f"{type(model).__name__}.forward() takes neither output_hidden_states nor "
                            "output_attentions")
    inputs = common.plain_inputs(a)
    configs = configs_of(model)
    before = [c._attn_implementation_internal for c in configs]
    try:
        force(configs, "eager")
        ref = common.run(model, inputs)
        out = common.run(model, {**inputs, **flags})
        tup = common.run(model, {**inputs, **flags, "return_dict": False}) if _takes(params, "return_dict") else None
    finally:
        for cfg, impl in zip(configs, before):
            cfg._attn_implementation_internal = impl
    if not isinstance(ref, dict) or not isinstance(out, dict):
        raise NotApplicable(f"{type(model).__name__}.forward() returns no ModelOutput")
    seen: dict[str, Any] = {"requested": sorted(flags)}
    ref_t, out_t = tensors_of(ref), tensors_of(out)  # the extra outputs (nested ones too) left out
    diff, problem = compare(ref_t, {k: v for k, v in out_t.items() if k in ref_t}, tol.atol, tol.rtol)
    if problem:
        raise CheckFailure(f"with {', '.join(f'{f}=True' for f in flags)}: {problem}", stage="outputs")
    stacks = layer_counts(model, a.config)
    for flag in flags:
        if flag not in params and not _fields(out, FLAGS[flag]):  # asked through **kwargs, which forward() did not
            seen[FLAGS[flag]] = "not returned (asked through **kwargs)"  # pass on: recorded, not failed
            continue
        seen[FLAGS[flag]] = _extra_outputs(out, FLAGS[flag], flag, stacks, _recorded_counts(model, FLAGS[flag]))
    if tup is not None and ("return_dict" in params or isinstance(tup, tuple)):
        seen["return_dict_false"] = _same_tuple(out, tup, tol)
    elif tup is not None:  # passed through **kwargs and not read: an observation, not a failure
        seen["return_dict_false"] = f"ignored: returns {type(tup).__name__}"
    return seen


def _takes(params: dict, name: str) -> bool:
    return name in params or any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values())


def _recorded(model: Any, params: dict, field: str) -> bool:
    """Whether forward() passes ``**kwargs`` on to a module that records ``field`` (transformers' output capture)."""
    if not _takes(params, ""):
        return False
    return any(field in (getattr(type(m), "_can_record_outputs", None) or {}) for m in model.modules())


def layer_counts(model: Any, config: Any) -> set[int]:
    """The layer counts of the built model's stacks: its ModuleLists' lengths and its config tree's layer counts."""
    import torch

    from hfscan.harness.configtree import config_tree

    counts = {len(m) for m in model.modules() if isinstance(m, torch.nn.ModuleList) and len(m)}
    for _, cfg in config_tree(config):
        for name, value in vars(cfg).items():
            if not ("layers" in name or "depth" in name):
                continue
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                counts.add(value)
            elif isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
                counts.update({sum(value), len(value)})
    return counts


def _recorded_counts(model: Any, field: str) -> set[int]:
    """How many modules of each class transformers records ``field`` from (``_can_record_outputs``) the model holds."""
    targets = set()
    for m in model.modules():
        spec = (getattr(type(m), "_can_record_outputs", None) or {}).get(field)
        for s in spec if isinstance(spec, (list, tuple)) else [spec]:
            target = getattr(s, "target_class", s)
            if isinstance(target, type):
                targets.add(target)
    return {sum(isinstance(m, t) for m in model.modules()) for t in targets} - {0}


def _extra_outputs(out: dict, field: str, flag: str, stacks: set[int], recorded: set[int]) -> dict:
    """The ``field`` tuples of ``out`` (nested outputs' too): at least one non-empty; each non-empty one finite and
    as long as a stack allows (see ``allowed``); their lengths by name."""
    found = dict(_fields(out, field))
    if not found or not any(len(v) for v in found.values()):
        raise CheckFailure(f"{flag}=True returned no {field} (fields: {', '.join(out.keys())})", stage="outputs")
    counts = stacks | recorded
    # hidden states: one per layer plus the embeddings', or one per stage (a pyramid's stages, no embeddings);
    # attention maps: one per attention layer, or two (self and cross attention recorded in one tuple)
    allowed = ({n + 1 for n in counts} | counts) if field == "hidden_states" else (counts | {2 * n for n in counts})
    lengths = {}
    for name, maps in found.items():
        if not maps:  # a kind of layer the model has none of (cross-attention in a decoder used alone)
            lengths[name] = 0
            continue
        tensors = tensors_of(maps, name)
        if not tensors:
            raise CheckFailure(f"{flag}=True: {name} holds no tensor ({len(maps)} entries)", stage="outputs")
        try:
            check_finite(maps)
        except CheckFailure as exc:
            raise CheckFailure(f"{flag}=True: {name}: {exc}", stage="outputs") from exc
        if len(maps) not in allowed:
            raise CheckFailure(f"{flag}=True: {name} has {len(maps)} entries; the model's stacks have "
                               f"{sorted(counts)} layers (expected one per layer"
                               f"{', plus the embeddings, or one per stage' if field == 'hidden_states' else ''})",
                               stage="outputs")
        lengths[name] = len(maps)
    return lengths


def _fields(out: dict, field: str, prefix: str = "") -> list[tuple[str, Any]]:
    """The ``*field`` tuples of ``out`` and of the outputs nested in it (a composite model's ``vision_outputs``), by
    dotted name."""
    found = []
    for key, value in out.items():
        name = f"{prefix}{key}"
        if key.endswith(field) and isinstance(value, (tuple, list)):
            found.append((name, value))
        elif isinstance(value, dict):
            found.extend(_fields(value, field, f"{name}."))
    return found


def _same_tuple(out: dict, tup: Any, tol: Any) -> int:
    """return_dict=False gives the ModelOutput's tensors as a tuple, in its order; the number of tensors compared."""
    if not isinstance(tup, tuple):
        raise CheckFailure(f"return_dict=False returned {type(tup).__name__}, not a tuple", stage="outputs")
    ref = out.to_tuple() if hasattr(out, "to_tuple") else tuple(out.values())
    diff, problem = compare(ref, tup, tol.atol, tol.rtol)
    if problem:
        raise CheckFailure(f"return_dict=False vs the ModelOutput's to_tuple(): {problem}", stage="outputs")
    return diff.compared
