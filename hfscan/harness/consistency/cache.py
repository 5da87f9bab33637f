"""cache: for a generative class, the logits of one forward over prompt + k tokens equal those of decoding the last
k tokens one at a time with ``past_key_values``, for each cache kind the class supports (the cache the model makes
itself; a StaticCache where the class declares it compiles, holding sliding layers where the config has them);
greedy generate gives the same tokens with and without a cache."""

from __future__ import annotations

from typing import Any, Callable

from hfscan.harness.checks import CheckFailure
from hfscan.harness.consistency import common
from hfscan.harness.consistency.compare import compare
from hfscan.harness.consistency.flags import declared, mismatch
from hfscan.harness.inputs import forward_params
from hfscan.harness.registry import CheckContext, NotApplicable

#: The name forward() takes the cache under (transformers 5.2x: ``cache``; before: ``past_key_values``).
CACHE_ARGS = ("cache", "past_key_values")

#: Tokens decoded one at a time after the prompt; tokens generated with and without a cache.
STEPS = 2
NEW_TOKENS = 3


def check_cache(ctx: CheckContext) -> dict:
    job, a = ctx.job, ctx.attempt
    common.needs_forward(a)
    model, tol = a.model, ctx.tolerance
    enc_dec = bool(getattr(a.config, "is_encoder_decoder", False))
    ids_name = "decoder_input_ids" if enc_dec else "input_ids"
    inputs = {k: v for k, v in common.plain_inputs(a).items() if k not in CACHE_ARGS}
    ids = inputs.get(ids_name)
    if ids is None or ids.dim() != 2 or ids.shape[1] <= STEPS:
        raise NotApplicable(f"no {ids_name} of a token sequence to decode step by step")
    arg = next((n for n in CACHE_ARGS if n in forward_params(model)), None)
    if arg is None:
        raise NotApplicable(f"{type(model).__name__}.forward() takes no {' nor '.join(CACHE_ARGS)}")
    full = common.run(model, {**inputs, "use_cache": False})
    seen: dict[str, Any] = {"declared": declared(model), "kinds": {}, "mismatches": []}
    failures = []
    for kind, make in _kinds(model, a.config, ids.shape[1], enc_dec):
        try:
            steps, cache_type = _incremental(model, inputs, ids_name, ids.shape[1] - STEPS, make, enc_dec, arg)
        except CheckFailure:
            raise
        except Exception as exc:  # noqa: BLE001 - a cache the class supports must work
            seen["kinds"][kind] = f"fails: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:160]}"
            failures.append(f"{kind} cache: {seen['kinds'][kind]}")
            _declared_static(kind, seen, "fails")
            continue
        diff, problem = compare({"logits": _logits(full)}, {"logits": steps}, tol.atol, tol.rtol)
        seen["kinds"][kind] = {"cache": cache_type, **diff.to_json(), **({"problem": problem} if problem else {})}
        if problem:
            failures.append(f"{kind} cache ({cache_type}) vs one forward: {problem}")
            _declared_static(kind, seen, "differs")
    if not seen["kinds"]:
        raise NotApplicable("no cache kind to try")
    seen["generate"] = _generate_both(job, a, failures)
    if failures:
        err = CheckFailure("; ".join(failures), stage="cache")
        err.observed = seen  # type: ignore[attr-defined]
        raise err
    return seen


def _declared_static(kind: str, seen: dict, observed: str) -> None:
    """A static cache is tried because the class declares it compiles full-graph: its failure is a finding."""
    if kind == "static":
        seen["mismatches"].append(mismatch("_can_compile_fullgraph", True, f"static cache {observed}",
                                           f"declares full-graph compile: a static cache {observed}"))


def _logits(out: Any) -> Any:
    logits = out.get("logits") if isinstance(out, dict) else getattr(out, "logits", None)
    if logits is None:
        raise NotApplicable("the model returns no logits")
    return logits


def _kinds(model: Any, config: Any, length: int, enc_dec: bool) -> list[tuple[str, Callable[[], Any] | None]]:
    """(kind, a factory for the cache, None for the one the model makes itself) the class supports."""
    kinds: list[tuple[str, Callable[[], Any] | None]] = [("default", None)]
    if not enc_dec and getattr(type(model), "_can_compile_fullgraph", False) and \
            getattr(type(model), "_supports_default_dynamic_cache", lambda: True)():
        from transformers import StaticCache

        text = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
        kinds.append(("static", lambda: StaticCache(config=text, max_cache_len=length + NEW_TOKENS)))  # room as generate leaves
    return kinds


def _incremental(model: Any, inputs: dict, ids_name: str, start: int, make: Callable[[], Any] | None,
                 enc_dec: bool, arg: str) -> tuple[Any, str]:
    """The logits of the prompt (``start`` tokens) then of each later token fed alone with the cache so far,
    concatenated along the sequence; and the cache's class (with its layers' classes)."""
    import torch

    ids = inputs[ids_name]
    length = ids.shape[1]
    aligned = {k for k, v in inputs.items() if hasattr(v, "shape") and v.dim() >= 2
               and tuple(v.shape[:2]) == tuple(ids.shape[:2]) and (not enc_dec or k.startswith("decoder_"))}
    mask_name = "decoder_attention_mask" if enc_dec else "attention_mask"
    fixed = {k: v for k, v in inputs.items() if k not in aligned} if enc_dec else {}
    first = {**{k: v for k, v in inputs.items() if k not in aligned},
             **{k: inputs[k][:, :start] for k in aligned}, "use_cache": True}
    if make is not None:
        first[arg] = make()
    out = common.run(model, first)
    past = _past(out, arg)
    if past is None and make is None:  # a model that makes no cache of its own, as generate() gives it one
        first[arg] = _dynamic(model)
        out = common.run(model, first)
        past = first[arg] if _past(out, arg) is None and first[arg].get_seq_length() else _past(out, arg)
    if past is None:
        raise CheckFailure(f"use_cache=True returned no {arg}", stage="cache")
    pieces = [_logits(out)]
    kind = _cache_name(past)
    rest = {k: v for k, v in inputs.items() if k not in aligned}
    for t in range(start, length):
        step = {**fixed, **{k: inputs[k][:, t:t + 1] for k in aligned if k != mask_name},
                arg: past, "use_cache": True}
        if mask_name in aligned and not bool(inputs[mask_name].bool().all()):  # an all-ones mask is no mask: left out
            step[mask_name] = inputs[mask_name][:, :t + 1]  # (an SSM applies a mask to the new positions alone)
        out = _step(model, step, rest)
        past = _past(out, arg)
        pieces.append(_logits(out))
    return torch.cat(pieces, dim=1), kind


def _dynamic(model: Any) -> Any:
    """The cache generate() makes for a model that makes none itself (a DynamicCache of its decoder's config)."""
    from transformers import DynamicCache

    config = model.config
    text = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
    return DynamicCache(config=text)


def _step(model: Any, step: dict, rest: dict) -> Any:
    """One decoding step: the new token's inputs and the cache; where the model refuses them alone, with the
    inputs that are not per token too (a model that reads its image, or its robot state, at every step)."""
    try:
        return common.run(model, step)
    except Exception:
        if not rest.keys() - step.keys():
            raise
    return common.run(model, {**rest, **step})


def _past(out: Any, arg: str) -> Any:
    """The cache a forward returned (under the name forward() takes it, else the other)."""
    for name in (arg, *CACHE_ARGS):
        value = out.get(name) if isinstance(out, dict) else getattr(out, name, None)
        if value is not None:
            return value
    return None


def _cache_name(past: Any) -> str:
    layers = getattr(past, "layers", None) or getattr(getattr(past, "self_attention_cache", None), "layers", None)
    kinds = sorted({type(x).__name__ for x in layers}) if layers else []
    return type(past).__name__ + (f"[{', '.join(kinds)}]" if kinds else "")


def _generate_both(job: Any, a: Any, failures: list) -> dict | str:
    """Greedy generate with and without a cache: the same tokens."""
    import torch

    from hfscan.harness.smoke import _fill_generation_ids, _generation_inputs

    if not callable(getattr(a.model, "generate", None)):
        return "no generate()"
    inputs, _ = _generation_inputs(job, a)
    _fill_generation_ids(a.model.generation_config, a.config)
    placeholders = _placeholders(a.config)  # a random model may pick one; without a cache it then counts as a
    suppress = {"suppress_tokens": placeholders} if placeholders else {}  # modality's token with no features
    outs = []
    for use_cache in (True, False):
        torch.manual_seed(0)
        with torch.no_grad():
            out = a.model.generate(**inputs, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False,
                                   num_beams=1, use_cache=use_cache, **suppress)
        outs.append(out if isinstance(out, torch.Tensor) else out.sequences)
    if outs[0].shape != outs[1].shape or not torch.equal(outs[0], outs[1]):
        diverge = _first_difference(outs[0], outs[1])
        failures.append(f"greedy generate with a cache gives other tokens than without one ({diverge})")
        return {"same": False, "where": diverge}
    return {"same": True, "tokens": list(outs[0].shape)}


def _placeholders(config: Any) -> list[int]:
    """The token ids of the config tree that stand for a modality's features (``image_token_id`` and its like)."""
    from hfscan.harness.configtree import config_tree, is_placeholder_token, special_tokens

    ids = {v for _, node in config_tree(config) for attr, v in special_tokens(node).items()
           if is_placeholder_token(attr) and isinstance(v, int) and not isinstance(v, bool) and v >= 0}
    return sorted(ids)


def _first_difference(a: Any, b: Any) -> str:
    if a.shape != b.shape:
        return f"shapes {list(a.shape)} vs {list(b.shape)}"
    idx = (a != b).nonzero()[0].tolist()
    return f"first at sequences{idx}: {int(a[tuple(idx)])} vs {int(b[tuple(idx)])}"


