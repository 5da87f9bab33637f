"""Placeholder tokens: the text's input ids with each fed modality's placeholders in front, counted from the
model itself (the features its ``get_<modality>_features`` returns for the synthetic pixels or audio are exactly
what the placeholder tokens must hold)."""

from __future__ import annotations

import inspect
import re
from typing import Any

from hfscan.harness.configtree import TOKEN_ID_SUFFIXES, is_placeholder_token
from hfscan.harness.inputs.context import (BATCH, MODALITY_OF, SEQ, Context, _input_embeddings, _is_int,
                                           _model_placement, builder, to_device)
from hfscan.harness.inputs.documented import documented_dims
from hfscan.harness.inputs.signature import _needs_text, feature_args, feature_fn


@builder("mm_token_type_ids")
def _mm_token_types(ctx: Context):
    """0 for text, 1 image, 2 video, 3 audio placeholder tokens (the processors' convention); a placeholder
    inside a modality's frame (its start and end tokens) is of that modality."""
    ids = ctx.built.get("input_ids")
    if ids is None:
        return None
    types = ctx.torch.zeros_like(ids, dtype=ctx.torch.int32)
    codes = {"image": 1, "video": 2, "audio": 3}
    for attrs, modality, _ in PLACEHOLDERS:
        code = codes[modality]
        token = ctx.find(*attrs)
        if isinstance(token, int):
            types[ids == token] = code
    for modality in ctx.framed:
        frame = frame_tokens(ctx.config, modality)
        if frame:
            inside = (ids == frame[0]).cumsum(-1) > (ids == frame[1]).cumsum(-1)
            types[inside & (types > 0)] = codes[modality]
    return types


def _placeholder_count(ctx: Context, modality: str, features_arg: str) -> int | None:
    """How many placeholder tokens the model's own feature extractor makes of the synthetic input."""
    torch = ctx.torch
    value = ctx.built.get(features_arg)
    fn = feature_fn(ctx.model, modality)
    if value is None or fn is None or _needs_text(ctx.model, modality):
        return None
    extra = {k: v for k, v in ctx.built.items() if k != features_arg and k not in ("input_ids", "attention_mask")}
    params = inspect.signature(fn).parameters
    passes_on = any(p.kind is p.VAR_KEYWORD for p in params.values())  # to a wrapped model's feature method
    passed_on = feature_args(ctx.model, modality=modality) - set(MODALITY_OF) if passes_on else set()
    positional = None if features_arg in params else next(iter(params), None)  # takes the feature argument
    kwargs = {k: v for k, v in extra.items() if (k in params or k in passed_on) and k != positional}
    kwargs.update(_config_args(ctx, params, kwargs, skip=features_arg if features_arg in params else None))
    value, kwargs = to_device((value, kwargs), *_model_placement(ctx.model))  # the built inputs are on the CPU
    try:
        with torch.no_grad():  # the feature argument by name where the method names it alike, else first
            out = fn(**{features_arg: value}, **kwargs) if features_arg in params else fn(value, **kwargs)
    except (ValueError, RuntimeError, IndexError):
        if features_arg in ctx.given:  # given in the layout forward() takes, which the model regroups before
            return None  # its feature method reads it (cameras flattened into the batch): it cannot count
        raise
    feats = getattr(out, "pooler_output", None)
    if feats is None:  # an output without pooled features: its last hidden state
        feats = getattr(out, "last_hidden_state", None)
    if feats is None:
        feats = out[0] if isinstance(out, tuple) else out
    parts = feats if isinstance(feats, (list, tuple)) else [feats]
    if not parts or not all(isinstance(f, torch.Tensor) for f in parts):
        return None  # features only in a field of the model's own (per decoder layer): its own check counts them
    numel = sum(int(f.numel()) for f in parts)
    emb = _input_embeddings(ctx.model)
    hidden = ctx.find("hidden_size", where="text")
    last = parts[0].shape[-1]
    # the width the placeholders take: the text hidden width where the features have it and the token table
    # is wider (a factorized table projected to it), else the token table's
    dim = last if last == hidden else getattr(emb, "embedding_dim", None) or hidden
    return numel // int(dim)


def _config_args(ctx: Context, params: dict[str, inspect.Parameter], given: dict, skip: str | None) -> dict:
    """Values for a method's required arguments that nothing built gives, from the config attributes of the
    same name (a feature method that takes the tower layer and selection its caller reads from the config).
    ``skip`` is the argument the caller passes itself (None: the first, passed by position)."""
    required = [n for n, p in params.items()
                if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    required = [n for n in required if n != skip][0 if skip else 1:]
    return {n: value for n in required if n not in given and (value := ctx.find(n)) is not None}


def _token_attrs(modality: str) -> tuple[str, ...]:
    """The config attributes that may hold a modality's placeholder token id (``image_token_id``,
    ``image_token_index``: :data:`configtree.TOKEN_ID_SUFFIXES`)."""
    attrs = tuple(f"{modality}_token{suffix.removeprefix('_token')}" for suffix in TOKEN_ID_SUFFIXES)
    assert all(is_placeholder_token(a) for a in attrs), attrs
    return attrs


#: The config attributes that may hold the image placeholder token.
IMAGE_TOKEN = _token_attrs("image")
#: (placeholder token attributes, modality for get_<modality>_features, feature argument)
PLACEHOLDERS = (
    (IMAGE_TOKEN, "image", "pixel_values"),
    (_token_attrs("video"), "video", "pixel_values_videos"),
    (_token_attrs("audio"), "audio", "input_features"),
    (_token_attrs("audio"), "audio", "input_values"),
)


def frame_tokens(config: Any, modality: str) -> tuple[int, int] | None:
    """The ``<modality>_start_token_id`` and ``<modality>_end_token_id`` the config declares (the tokens a
    processor puts around a modality's placeholders), or None."""
    ctx = Context(model=None, config=config, task="", torch=None)
    start, end = (ctx.find(f"{modality}_{edge}_token_id") for edge in ("start", "end"))
    return (start, end) if isinstance(start, int) and isinstance(end, int) else None


def _input_ids(ctx: Context) -> Any:
    """Text tokens, with each fed modality's placeholder tokens in front, counted from the model.  A modality
    in ``ctx.framed`` gets image placeholders between its start and end tokens: a model that tells a video's
    frames from images only by the video's frame, as its processor lays them out."""
    torch = ctx.torch
    prefix = []
    done: set[str] = set()
    for attrs, modality, arg in PLACEHOLDERS:
        arg = _feature_input(ctx, modality, arg)
        token = ctx.find(*attrs)
        frame = frame_tokens(ctx.config, modality) if modality in ctx.framed else None
        if frame:
            token = ctx.find(*IMAGE_TOKEN)
        marked = f"{modality}_embeds_position_mask" in ctx.params  # placeholders marked by a mask, not a token
        if not (isinstance(token, int) or marked) or arg not in ctx.built or modality in done:
            continue
        done.add(modality)
        count = ctx.counts.get(modality) or _placeholder_count(ctx, modality, arg)
        if count is None:  # the config's tokens per sample, else one that the model expands itself
            count = ctx.find(f"{modality}_seq_length", "num_image_tokens", "mm_tokens_per_image", "num_query_tokens",
                             default=1) * BATCH
        if count:
            per_sample = int(count) // BATCH
            run = [torch.full((BATCH, per_sample), token, dtype=torch.long) if isinstance(token, int)
                   else ctx.tokens(BATCH, per_sample)]
            if frame:
                run = [torch.full((BATCH, 1), frame[0]), *run, torch.full((BATCH, 1), frame[1])]
            prefix.extend(run)
            ctx.counts[modality] = int(count)
    if prefix:
        return torch.cat(prefix + [ctx.tokens(BATCH, SEQ)], dim=1)
    return ctx.tokens(BATCH * _rows_documented_per_sample(ctx, "input_ids"), SEQ)


def _feature_input(ctx: Context, modality: str, arg: str) -> str:
    """The input a modality's placeholders stand for: ``arg``, or where none of that name was built, the first
    argument of the model's ``get_<modality>_features`` where that was (4.50's video_llava: pixel_values_images)."""
    fn = feature_fn(ctx.model, modality) if arg not in ctx.built and ctx.model is not None else None
    first = next(iter(inspect.signature(fn).parameters), None) if fn is not None else None
    return first if first in ctx.built else arg


def _rows_documented_per_sample(ctx: Context, arg: str) -> int:
    """Rows of ``arg`` per sample where forward()'s docstring documents its first axis as the batch times a
    config value (``(batch_size * num_codebooks, sequence_length)``: a row per codebook stream); else 1."""
    m = re.fullmatch(r"batch_size \* (?:config\.)?(\w+)", (documented_dims(ctx.model, arg) or [""])[0])
    value = ctx.find(m.group(1)) if m else None
    return value if _is_int(value) and value > 0 else 1


@builder("image_embeds_position_mask")
def _embeds_position_mask(ctx: Context):
    """Ones where the image features go: the placeholder positions ``_input_ids`` put in front of the text."""
    ids, count = ctx.built.get("input_ids"), ctx.counts.get("image")
    if ids is None or not count:
        return None
    mask = ctx.torch.zeros_like(ids)
    mask[:, : count // BATCH] = 1
    return mask


def free_token_id(model: Any, config: Any) -> int:
    """The highest id of the model's vocabulary that no special token of its config holds."""
    import torch

    ctx = Context(model=model, config=config, task="", torch=torch)
    taken = ctx.special_ids()
    return next(i for i in range(ctx.vocab - 1, -1, -1) if i not in taken)
