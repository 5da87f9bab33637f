"""Inputs for one model: every ``forward()`` argument built in order (modality inputs first, then text, then the
rest) and the :class:`InputReport` of what they cover."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from hfscan.harness.inputs.context import BUILDERS, Context, MODALITY_OF, _as_tensor
from hfscan.harness.inputs.documented import documented_required, documented_tensor
from hfscan.harness.inputs.placeholders import _input_ids
from hfscan.harness.inputs.required import _required_value
from hfscan.harness.inputs.signature import feature_args, fed_submodule, forward_params, pixel_tower_args
from hfscan.harness.inputs.text import _labels
from hfscan.harness.inputs.timeseries import _time_series_inputs
from hfscan.harness.inputs.vision import _alternative_inputs


@dataclass
class InputReport:
    """Which modalities were fed and which required arguments had no builder."""

    fed: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    unknown_required: list[str] = field(default_factory=list)


def build_inputs(model: Any, config: Any, task: str, task_tables: dict, values: dict | None = None,
                 with_labels: bool = True, counts: dict | None = None,
                 framed: set | None = None) -> tuple[dict, InputReport]:
    """Inputs for ``model.forward`` and the :class:`InputReport` of what they cover.

    ``values`` are override values (plain numbers/lists become tensors) that
    replace a builder's result; ``counts`` the placeholder tokens of a modality
    (in all) where the model said how many it needs; ``framed`` the modalities
    whose placeholders are image tokens inside their start and end tokens.  The
    inputs of a model run through an entry method are sized from the config of
    the sub-model they feed.
    """
    import torch

    torch.manual_seed(0)
    params = forward_params(model)
    config = getattr(fed_submodule(model), "config", config)
    ctx = Context(model=model, config=config, task=task, torch=torch, params=params, counts=dict(counts or {}),
                  framed=set(framed or ()))
    report = InputReport()
    order = _build_order(model, params)
    plan = _Plan(time_series=_time_series_inputs(ctx, params),
                 tower_needs=feature_args(model, required=True) | pixel_tower_args(model),
                 alternatives=_alternative_inputs(ctx), values=values or {}, with_labels=with_labels,
                 task_tables=task_tables, first=next(iter(order), None))
    for name in order:
        _build_input(ctx, plan, report, name)
    if not any(isinstance(v, torch.Tensor) for v in ctx.built.values()):  # every argument optional, none known:
        for name in order:  # the inputs forward()'s docstring shapes (a trajectory's states, actions, rewards)
            value = None if values and name in values else documented_tensor(ctx, name)
            if value is not None:
                ctx.built[name] = value
    _report_modalities(ctx, report)
    ordered = {k: ctx.built[k] for k in params if k in ctx.built}
    return ordered, report


def _build_order(model: Any, params: dict) -> list[str]:
    """forward()'s arguments in the order they are built: modality inputs first (placeholder counts need them),
    then what feature extractors take (modality inputs, their grids, and a Q-Former's own text), then text, then
    the rest."""
    order = [p for p in params if MODALITY_OF.get(p) not in (None, "text") or p.endswith("grid_thw")]
    feats = feature_args(model)
    order += [p for p in params if p in feats and p not in order]
    order += [p for p in params if p == "input_ids"]
    order += [p for p in params if p not in order]
    return order


@dataclass
class _Plan:
    """What :func:`build_inputs` settles before building any argument."""

    time_series: dict  # the time-series inputs, built together
    tower_needs: set  # optional arguments a feature method or vision tower requires
    alternatives: set  # inputs taken only instead of another one fed
    values: dict  # given values (an override's, a repair's)
    with_labels: bool
    task_tables: dict
    first: str | None  # the first argument built


def _build_input(ctx: Context, plan: _Plan, report: InputReport, name: str) -> None:
    """Build one argument into ``ctx.built`` (a given value, a builder's, a required one's fallback), or note it
    in ``report`` as required and unknown."""
    param, values, model = ctx.params[name], plan.values, ctx.model
    if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
        return
    if values and name in values:
        if values[name] is not None:  # None leaves the input out
            ctx.built[name] = _as_tensor(ctx.torch, values[name])
            ctx.given.add(name)
    elif name in plan.alternatives:
        return  # taken only instead of another input fed
    elif name in plan.time_series:
        ctx.built[name] = plan.time_series[name]
    elif name == "input_ids":
        ctx.built[name] = _input_ids(ctx)
    elif name == "labels":
        if plan.with_labels:
            labels = _labels(ctx, plan.task_tables)
            if labels is not None:
                ctx.built[name] = labels
    elif name in BUILDERS and (value := BUILDERS[name](ctx)) is not None:
        ctx.built[name] = value
    elif param.default is inspect.Parameter.empty:
        value = _required_value(ctx, name, first=name == plan.first)
        if value is None:
            report.unknown_required.append(name)
        else:
            ctx.built[name] = value
    elif (name in plan.tower_needs or documented_required(model, name)) and \
            (value := documented_tensor(ctx, name)) is not None:
        ctx.built[name] = value  # optional in forward() but required by a tower or, as documented, by forward()


def _report_modalities(ctx: Context, report: InputReport) -> None:
    """The modalities forward() accepts and those fed, in ``report``."""
    for name in ctx.params:
        modality = MODALITY_OF.get(name)
        if modality and modality not in report.accepted:
            report.accepted.append(modality)
        if modality and name in ctx.built and modality not in report.fed:
            report.fed.append(modality)
    if "inputs_embeds" in ctx.built and "text" in report.accepted and "text" not in report.fed:
        report.fed.append("text")  # the tokens, fed as their embeddings


def build_one(model: Any, config: Any, name: str) -> Any:
    """What the builder of ``name`` gives on its own (no other input built yet)."""
    import torch

    torch.manual_seed(0)
    ctx = Context(model=model, config=config, task="", torch=torch, params=forward_params(model))
    return BUILDERS[name](ctx)
