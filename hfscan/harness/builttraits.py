"""Variant traits read from a built model (``hfscan check``): what its modules are, not what its config says.

The experts of every MoE layer, the distinct layer kinds of every stack (:func:`hfscan.harness.fidelity.layer_kinds`)
and how the queries of every attention module share key/value heads.  Read from a model built on the ``meta``
device (no weights): the checkpoint's full-size model and the tiny one the smoke test ran, so that ``variant``
fails where a trait the checkpoint has is not in the tiny model (a MoE cut to dense layers only, a multi-query
attention built with a key/value head per query).  Sizes (how many experts, how many queries per key/value head)
are printed; what is compared is whether the trait is there (:func:`lost`).
"""

from __future__ import annotations

import re
from typing import Any

from hfscan.harness.fidelity import _common_lists, _is_stack, _kv_sharing, layer_kinds, signature_rules

_LAYER = re.compile(r"^(.*?\.\d+)(?:\.|$)")

#: Trait names (``built.`` prefixed in the report).
EXPERTS, MLP, KV, KINDS = "built.experts_per_moe_layer", "built.mlp_layers", "built.kv_heads", "built.layer_kinds"


def _experts(module: Any, names: tuple[str, ...], path: str) -> int | None:
    """How many experts a module holds: a list of expert modules named ``*experts``, or a module storing an expert
    count that holds one weight row per expert (a fused experts module, a router)."""
    if _is_stack(module):
        return len(module) if path.rsplit(".", 1)[-1].endswith("experts") and len(module) > 1 else None
    attrs = vars(module)
    count = next((attrs[a] for a in names if isinstance(attrs.get(a), int) and not isinstance(attrs[a], bool)), None)
    if not count or count < 2:
        return None
    rows = {p.shape[0] for p in module.parameters(recurse=False) if p.ndim >= 2}
    return count if count in rows else None


def _layers(model: Any) -> dict[str, str]:
    """{layer path: stack path} of every layer of every stack (a layer is an item of a stack)."""
    out = {}
    for path, module in model.named_modules():
        if _is_stack(module):
            for name, _ in module.named_children():
                out[f"{path}.{name}" if path else name] = path
    return out


def built_pair(full: Any, tiny: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`built_traits` of the full-size and of the tiny model, their layer kinds read as ``fidelity`` reads
    them (a per-layer list entry only where the list is per-layer in both models' stack)."""
    full_kinds, tiny_kinds = _common_lists(layer_kinds(full), layer_kinds(tiny))
    return built_traits(full, full_kinds), built_traits(tiny, tiny_kinds)


def built_traits(model: Any, kinds: dict[str, set[str]] | None = None) -> dict[str, Any]:
    """The traits of a built model: experts per MoE layer (distinct counts), its layers' MLP kinds ("dense" and
    "moe", for the stacks that hold a MoE layer), queries per key/value head of its attention modules (distinct
    ratios), and the distinct layer kinds of each stack (``(stack, count)`` pairs)."""
    names = signature_rules()["experts"]
    layers = _layers(model)
    moe: dict[str, int] = {}
    ratios: set = set()
    for path, module in model.named_modules():
        count = _experts(module, names, path)
        match = _LAYER.match(path)
        if count and match:
            layer = next((p for p in layers if path == p or path.startswith(f"{p}.")), match.group(1))
            moe[layer] = max(moe.get(layer, 0), count)
        ratio = _queries_per_kv(vars(module))
        if ratio is not None:
            ratios.add(ratio)
    stacks = {layers[layer] for layer in moe if layer in layers}
    mlp = {"moe" if layer in moe else "dense" for layer, stack in layers.items() if stack in stacks
           and not _is_stack(_get(model, layer))}
    kinds = layer_kinds(model) if kinds is None else kinds
    return {EXPERTS: tuple(sorted(set(moe.values()))), MLP: tuple(sorted(mlp)),
            KV: tuple(sorted(ratios, key=str)), KINDS: tuple(sorted((s, len(k)) for s, k in kinds.items() if k))}


def _get(model: Any, path: str) -> Any:
    for part in path.split("."):
        model = getattr(model, part)
    return model


def _queries_per_kv(attrs: dict) -> Any:
    """Queries per key/value head of an attention module (an int; "shared" where it stores only that they share,
    "per-head" where only that they do not); None for a module that is no attention module."""
    rules = signature_rules()
    sharing = _kv_sharing(attrs, rules)
    if sharing is None:
        return None

    def first(names: tuple[str, ...]) -> int | None:
        return next((attrs[n] for n in names if isinstance(attrs.get(n), int) and not isinstance(attrs[n], bool)
                     and attrs[n] > 0), None)

    heads, kv, groups = first(rules["heads"]), first(rules["kv_heads"]), first(rules["kv_groups"])
    if heads is not None and kv is not None and heads % kv == 0:
        return heads // kv
    return groups if groups is not None else sharing


def _shared(ratios: tuple) -> set[str]:
    return {"per-head" if r in (1, "per-head") else "shared" for r in ratios}


def lost(name: str, full: Any, tiny: Any) -> str | None:
    """Why the tiny model's value of a built trait loses the full model's (None where it keeps it): sizes may
    shrink (fewer experts, fewer queries per key/value head), a kind may not go."""
    if name == EXPERTS and bool(full) != bool(tiny):
        return "no MoE layer in the tiny model" if full else "MoE layers the full model lacks"
    if name == MLP and not set(full) <= set(tiny):
        return f"layer MLP kinds {sorted(set(full) - set(tiny))} missing"
    if name == KV and _shared(full) != _shared(tiny):
        return f"attention key/value sharing {sorted(_shared(full))} became {sorted(_shared(tiny))}"
    if name == KINDS:
        counts = dict(tiny)
        fewer = [f"{s}: {n} -> {counts.get(s, 0)}" for s, n in full if counts.get(s, 0) < n]
        return f"fewer layer kinds ({'; '.join(fewer)})" if fewer else None
    return None


def claims(config_traits: dict[str, Any], built: dict[str, Any]) -> list[str]:
    """The checkpoint config's traits that a built model does not have (the tiny one: a trait lost; the full one:
    a config misread): a sparse mixture of experts with no MoE layer; grouped or multi-query attention (more
    queries than key/value heads) where no attention module shares its key/value heads, or one query per
    key/value head where every module shares them.  Each as ``"NAME = VALUE, but ..."``."""
    out = []
    for name, value in config_traits.items():
        trait = name.rpartition(".")[2]
        if trait == "sparse_moe" and value is True and not built.get(EXPERTS):
            out.append(f"{name} = True, but the built model has no MoE layer")
        if trait == "gqa_ratio" and isinstance(value, float) and built.get(KV):
            want = "shared" if value > 1 else "per-head"
            if want not in _shared(built[KV]):
                out.append(f"{name} = {value}, but no attention module of the built model is {want}")
    return out
