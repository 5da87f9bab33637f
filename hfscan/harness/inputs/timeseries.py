"""Time-series inputs: past and future values, time features and masks, sized from one context length."""

from __future__ import annotations

import re

from hfscan.harness.inputs.context import BATCH, Context, TIME_STEPS, builder
from hfscan.harness.inputs.documented import documented_dims
from hfscan.harness.inputs.signature import _doc


@builder("past_values", "past_time_features", "past_observed_mask", "future_time_features", "future_values")
def _time_series(ctx: Context):
    return None  # known names: _time_series_inputs builds them together, sized from one context length


def _time_series_inputs(ctx: Context, params: dict) -> dict:
    """past/future values, time features and masks sized from the config's lags and lengths."""
    if "past_values" not in params:
        return {}
    torch = ctx.torch
    context = int(ctx.find("context_length", "context_size", default=TIME_STEPS))
    lags = ctx.find("lags_sequence", default=[0]) or [0]
    past = context + max(lags)
    prediction = int(ctx.find("prediction_length", default=4) or 4)
    channels = int(ctx.find("input_size", "num_input_channels", default=1) or 1)
    time_feats = int(ctx.find("num_time_features", default=0) or 0)
    univariate = channels == 1 and "input_size" in vars(ctx.config)
    doc = _doc(ctx.model)
    # one series per sample: documented as (batch_size, sequence_length), or as a sequence of 1-D series (the rows
    # of a 2-D tensor)
    series = len(documented_dims(ctx.model, "past_values") or ()) == 2 or re.search(
        r"\bpast_values \(`([\w.]+\.)?(Sequence|list)\[", doc)
    shape = (BATCH, past) if univariate or series else (BATCH, past, channels)
    out = {"past_values": torch.randn(*shape)}
    if "past_observed_mask" in params:
        out["past_observed_mask"] = torch.ones(*shape)
    if "past_time_features" in params:  # width 0 when the config has no time features
        out["past_time_features"] = torch.randn(BATCH, past, time_feats)
    if "future_time_features" in params:
        out["future_time_features"] = torch.randn(BATCH, prediction, time_feats)
    return out
