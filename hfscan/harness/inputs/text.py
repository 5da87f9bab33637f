"""Text inputs: token ids besides the placeholders, their masks and types, decoder inputs and labels."""

from __future__ import annotations

import math
import re
from typing import Any

from hfscan.harness.inputs.context import BATCH, Builder, Context, SEQ, builder
from hfscan.harness.inputs.documented import _documented_size, documented_arg, documented_dims, documented_tensor
from hfscan.harness.inputs.signature import _doc


@builder("task_inputs")
def _task_inputs(ctx: Context):
    """The token ids of a task prompt, as long as the config's task sequence."""
    return ctx.tokens(BATCH, int(ctx.find("task_seq_len", default=SEQ)))


#: A mask of ones over the ids it belongs to.
_MASK_OF = {
    "attention_mask": "input_ids",
    "decoder_attention_mask": "decoder_input_ids",
    "qformer_attention_mask": "qformer_input_ids",
}


def _ones_over(mask_name: str, ids_name: str) -> Builder:
    def build(ctx: Context):
        ids = ctx.built.get(ids_name)
        if ids is None:
            return None
        if ids.dim() == 2 and ids.shape[0] != BATCH:  # a row per codebook: a mask per sample
            return ctx.torch.ones(BATCH, ids.shape[1], dtype=ids.dtype)
        rank = len(documented_dims(ctx.model, mask_name) or ())  # over the leading axes the mask documents
        return ctx.torch.ones(*ids.shape[:rank], dtype=ids.dtype) if 0 < rank < ids.dim() else ctx.torch.ones_like(ids)

    return build


for _mask_name, _ids_name in _MASK_OF.items():
    builder(_mask_name)(_ones_over(_mask_name, _ids_name))


def mask_ids_name(name: str, params: Any) -> str | None:
    """The token ids a required ``X_attention_mask`` masks: ``X_input_ids`` where forward() takes them (the
    mask is laid out as the ids are, whatever its docstring says); None for any other argument."""
    prefix = name.removesuffix("attention_mask")
    return f"{prefix}input_ids" if prefix != name and f"{prefix}input_ids" in params else None


@builder("use_cache")
def _use_cache(ctx: Context):
    return False  # forward is checked without a cache; generate exercises it


@builder("qformer_input_ids")
def _qformer_ids(ctx: Context):
    vocab = ctx.find("vocab_size", where="any")
    qformer = getattr(ctx.config, "qformer_config", None)
    size = min(int(getattr(qformer, "vocab_size", vocab) or vocab), ctx.vocab)
    return ctx.torch.randint(0, size, (BATCH, SEQ))


@builder("token_type_ids")
def _token_types(ctx: Context):
    """Type 0 for every token; several types per token (a table's segment, column, row, ...) where forward()'s
    docstring documents a fixed number of them as a last axis: ``(batch_size, sequence_length, 7)``."""
    ids = ctx.built.get("input_ids")
    if ids is None:
        return None
    per_token = [int(d) for d in (documented_dims(ctx.model, "token_type_ids") or [])[2:] if d.isdigit()]
    return ctx.torch.zeros(*ids.shape, *per_token, dtype=ids.dtype)


@builder("decoder_input_ids")
def _decoder_ids(ctx: Context):
    if not ctx.find("is_encoder_decoder", default=False):
        return None
    codebooks = ctx.find("num_codebooks", where="text")  # a decoder of parallel codebook streams: one row each
    if codebooks is None and "num_codebooks" in (documented_dims(ctx.model, "decoder_input_ids") or [""])[0]:
        decoder = getattr(ctx.config, "decoder_config", None) or getattr(ctx.config, "decoder", None)
        codebooks = getattr(decoder, "num_channels", None)  # documented codebook rows: the decoder's channels
    codebooks = codebooks if isinstance(codebooks, int) and codebooks > 1 else 1
    doc = _doc(ctx.model)
    if codebooks > 1 and re.search(r"\bdecoder_input_ids \(`[^`]*`[^)]*?of shape `\([^)]*\)\s+or "
                                   r"\([^)]*, num_codebooks\)", doc):
        return ctx.tokens(BATCH, SEQ, codebooks)  # the documented unflattened form, which the model reads natively
    return ctx.tokens(BATCH * codebooks, SEQ)


@builder("decoder_input_values")
def _decoder_values(ctx: Context):
    """The decoder input of an encoder-decoder that decodes values (spectrogram frames), not ids: shaped as
    the docstring documents it (optional in forward(), which would otherwise derive it from labels)."""
    return documented_tensor(ctx, "decoder_input_values")


#: The documented type of an integer tensor.
_INTEGER_TENSOR = re.compile(r"\b(?:Long|Int)Tensor\b")


@builder("bbox")
def _bbox(ctx: Context):
    """Boxes (x0, y0, x1, y1) per token on the 0-1000 grid layout models embed; normalized to 0-1 floats where
    forward() documents no integer tensor (a model that scales and embeds them as sines: floats keep the model's
    dtype, where integers times a Python float become float32)."""
    ids = ctx.built.get("input_ids")
    seq = ids.shape[1] if ids is not None else SEQ
    xy = ctx.torch.randint(0, 500, (BATCH, seq, 2))
    boxes = ctx.torch.cat([xy, xy + ctx.torch.randint(1, 500, (BATCH, seq, 2))], dim=-1).clamp(max=1000)
    doc = documented_arg(ctx.model, "bbox")
    return boxes if not doc or _INTEGER_TENSOR.search(doc) else boxes.float() / 1000


def _labels(ctx: Context, tasks: dict) -> Any:
    """Labels as the task's mapping implies (like transformers' _prepare_for_class); None for other tasks."""
    torch = ctx.torch
    task = ctx.task
    ids = ctx.built.get("decoder_input_ids", ctx.built.get("input_ids"))
    if task in tasks["token_label_tasks"] and ids is not None:
        if task == "token-classification":
            return torch.randint(0, int(ctx.find("num_labels", default=2)), ids.shape)
        return _documented_labels(ctx, ids)
    if task == "seq2seq-lm" and ids is not None:
        return ids.clone()
    if task in tasks["class_label_tasks"]:
        return torch.randint(0, int(ctx.find("num_labels", default=2)), (BATCH,))
    return None


def _documented_labels(ctx: Context, ids: Any) -> Any:
    """Token labels: the ids, or tokens laid out as forward()'s docstring documents the labels where that is
    another layout of as many tokens (ids of a row per codebook, labels ``(batch_size, sequence_length,
    num_codebooks)``)."""
    dims = documented_dims(ctx.model, "labels") or []
    shape = [BATCH] + [_documented_size(ctx, d) for d in dims[1:]]
    if len(shape) > ids.dim() and math.prod(shape) == ids.numel():
        return ctx.tokens(*shape)
    return ids.clone()
