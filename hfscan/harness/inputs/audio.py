"""Audio inputs: raw waveforms, spectrogram features (laid out and sized as the model type's feature extractor
makes them) and their masks and lengths."""

from __future__ import annotations

import inspect
import math
from functools import lru_cache
from typing import Any

from hfscan.harness.inputs.context import AUDIO_FRAMES, AUDIO_SAMPLES, BATCH, Context, _is_int, builder
from hfscan.harness.inputs.documented import documented_dims
from hfscan.harness.inputs.signature import feature_args


@builder("input_values", "audio_values")
def _input_values(ctx: Context):
    """Raw audio: (batch, samples), or the shape forward()'s documentation gives, dims sized from the config."""
    dims = documented_dims(ctx.model, "input_values")
    if dims and len(dims) > 2:
        shape = tuple(_dim_size(ctx, d, i) for i, d in enumerate(dims))
    else:
        channels = ctx.find("audio_channels", where="audio") or getattr(getattr(ctx.config, "audio_config", None),
                                                                         "channels", None)  # an audio tower's own
        shape = (BATCH, int(channels), AUDIO_SAMPLES) if channels else (BATCH, AUDIO_SAMPLES)
    return ctx.torch.randn(*shape) * 0.1


#: Documented dimension names that mean the length of raw audio.
_SAMPLE_DIMS = ("sequence_length", "time_steps", "num_samples", "audio_length")


def _dim_size(ctx: Context, name: str, index: int) -> int:
    if index == 0:
        return BATCH
    if name.isdigit():
        return int(name)
    if name in _SAMPLE_DIMS:
        return AUDIO_SAMPLES
    aliases = {"channels": ("audio_channels", "num_channels"), "num_channels": ("audio_channels", "num_channels")}
    value = ctx.find(*aliases.get(name, (name,)), where="audio")
    return int(value) if _is_int(value) else 1


def _feature_width(ctx: Context) -> int:
    """Features per audio frame (a front end that stacks frames declares the stacked width as input_size);
    where no config attribute names it, the width the model type's feature extractor produces."""
    width = ctx.find("input_size", "feature_projection_input_dim", "num_mel_bins", "feature_size", "n_mels",
                     "input_feat_per_channel", "num_chroma", "input_feat_size", where="audio")
    return int(width or extractor_width(getattr(ctx.config, "model_type", "")) or 80)


@lru_cache(maxsize=None)
def _extractor(model_type: str) -> Any:
    """The model type's default feature extractor; None where there is none or it cannot be built here."""
    import transformers
    from transformers.models.auto.feature_extraction_auto import FEATURE_EXTRACTOR_MAPPING_NAMES

    owner = next((t for t in (model_type, *_composite_types(model_type)) if t in FEATURE_EXTRACTOR_MAPPING_NAMES), "")
    name = FEATURE_EXTRACTOR_MAPPING_NAMES.get(owner)
    cls = getattr(transformers, name[0] if isinstance(name, tuple) else name or "", None)
    try:
        return cls() if cls is not None else None
    except (ImportError, TypeError, ValueError):  # an extractor that needs a missing package or arguments
        return None


def _composite_types(model_type: str) -> list[str]:
    """The model types whose config class (of the same configuration module) takes ``model_type``'s config
    class as a sub-config: a tower's composite, whose processor prepares the tower's inputs."""
    import sys

    from transformers import CONFIG_MAPPING

    cls = CONFIG_MAPPING[model_type] if model_type in CONFIG_MAPPING else None
    module = sys.modules.get(getattr(cls, "__module__", ""))
    return [c.model_type for c in vars(module).values() if isinstance(c, type) and isinstance(
        getattr(c, "sub_configs", None), dict) and cls in c.sub_configs.values()] if module else []


def extractor_width(model_type: str) -> int | None:
    """The ``feature_size`` of the model type's feature extractor when it is a spectrogram width (raw-audio
    extractors have 1)."""
    size = getattr(_extractor(model_type), "feature_size", None)
    return size if isinstance(size, int) and size > 1 else None


@lru_cache(maxsize=None)
def _extracted(model_type: str) -> dict:
    """What the model type's feature extractor makes of a second of silence; empty where it cannot run here."""
    import numpy as np

    extractor = _extractor(model_type)
    if extractor is None:
        return {}
    rate = int(getattr(extractor, "sampling_rate", None) or 16000)
    try:
        return dict(extractor([np.zeros(rate, dtype=np.float32)], sampling_rate=rate, return_tensors="pt"))
    except Exception:  # noqa: BLE001 - an extractor that cannot run here gives no hints
        return {}


def extractor_bool_masks(model_type: str) -> bool:
    """Whether the model type's feature extractor gives its masks as booleans (which a model may index with)."""
    import torch

    masks = [v for k, v in _extracted(model_type).items() if k.endswith("mask")]
    return any(getattr(v, "dtype", None) == torch.bool for v in masks)


def extractor_features_first(model_type: str) -> bool:
    """Whether the model type's feature extractor lays audio features out as (batch, features, time)."""
    feats, width = _extracted(model_type).get("input_features"), extractor_width(model_type)
    return getattr(feats, "ndim", 0) == 3 and feats.shape[1] == width != feats.shape[2]


@builder("input_features", "input_audio_features", "audio_mel")
def _input_features(ctx: Context):
    mels = _feature_width(ctx)
    channels = ctx.find("input_channels", default=1, where="audio")
    source = ctx.find("max_source_positions", where="audio")
    if source and ctx.find("num_mel_bins", where="audio"):
        return ctx.torch.randn(BATCH, int(mels), 2 * int(source))  # conv front end halves time: (B, mel, T)
    window = ctx.find("n_window", where="audio")
    if isinstance(window, int) and window > 0:  # a Whisper-like encoder reading whole chunks of 2 * n_window frames
        return ctx.torch.randn(BATCH, int(mels), math.ceil(AUDIO_FRAMES / (2 * window)) * 2 * window)
    if extractor_features_first(getattr(ctx.config, "model_type", "")):  # as the model's processor lays them out
        return ctx.torch.randn(BATCH, int(mels) * int(channels), AUDIO_FRAMES)
    return ctx.torch.randn(BATCH, AUDIO_FRAMES, int(mels) * int(channels))


@builder("input_features_mask", "feature_attention_mask")
def _features_mask(ctx: Context):
    """Ones over the frames of the audio features, where the mask is required, taken by the feature method or
    documented as (batch, frames); an optional mask documented otherwise (over a model's projected features)
    is left out."""
    feats = ctx.built.get("input_features")
    names = set(ctx.params) & {"input_features_mask", "feature_attention_mask"}
    required = any(ctx.params[n].default is inspect.Parameter.empty for n in names)
    documented = any(documented_dims(ctx.model, n) for n in names)
    if feats is None or not (required or documented or names & feature_args(ctx.model)):
        return None
    frames = _feature_frames(ctx, feats)
    boolean = extractor_bool_masks(getattr(ctx.config, "model_type", ""))  # as the model's processor gives it
    return ctx.torch.ones(feats.shape[0], frames, dtype=ctx.torch.bool if boolean else ctx.torch.long)


def _feature_frames(ctx: Context, feats: Any) -> int:
    """Frames of audio features: the axis that is not the feature width."""
    width = _feature_width(ctx)
    return feats.shape[1] if feats.dim() < 3 or feats.shape[-1] == width else feats.shape[-1]


@builder("input_values_cutoffs")
def _audio_cutoffs(ctx: Context):
    """Where each sample's audio clips end in its waveform: one clip, the whole waveform."""
    waveform = ctx.built.get("input_values")
    return None if waveform is None else ctx.torch.full((waveform.shape[0], 1), waveform.shape[-1])


@builder("audio_mel_mask")
def _mel_padding_mask(ctx: Context):
    """Which mel frames are padding (True): none of the synthetic ones."""
    mel = ctx.built.get("audio_mel")
    return None if mel is None else ctx.torch.zeros(mel.shape[0], mel.shape[1], dtype=ctx.torch.bool)


@builder("chunk_sample_lengths", "audio_sample_lengths")
def _sample_lengths(ctx: Context):
    """The raw samples each audio feature row stands for: its frames times the config's hop length."""
    feats = ctx.built.get("input_features")
    hop = ctx.find("hop_length", where="audio")
    if feats is None or not isinstance(hop, int):
        return None
    frames = _feature_frames(ctx, feats)
    return ctx.torch.full((feats.shape[0],), frames * hop, dtype=ctx.torch.long)


@builder("padding_mask")
def _padding_mask(ctx: Context):
    """Ones over the raw audio samples (of the built waveform, else a default length), where the audio
    feature method takes the mask; elsewhere left out."""
    if "padding_mask" not in feature_args(ctx.model, modality="audio"):
        return None
    waveform = ctx.built.get("input_values")
    samples = waveform.shape[-1] if waveform is not None else AUDIO_SAMPLES
    return ctx.torch.ones(BATCH, samples, dtype=ctx.torch.long)
