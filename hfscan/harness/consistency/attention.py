"""attention: every attention implementation transformers offers on the device gives eager's outputs, with a padded
mask; a declared implementation that is refused, fails or differs fails the check, an undeclared one is tried and
recorded."""

from __future__ import annotations

from typing import Any, Iterator

from hfscan.harness.checks import CheckFailure, tensors_of
from hfscan.harness.consistency import common
from hfscan.harness.consistency.compare import compare
from hfscan.harness.consistency.flags import ATTENTION_FLAGS, declared, mismatch
from hfscan.harness.registry import CheckContext, NotApplicable

#: Implementations ``attention`` tries on each device kind (eager is the reference). flex_attention has a check of
#: its own (``attention-flex``): transformers compiles it for every new shape, tens of seconds on a CPU.
IMPLEMENTATIONS = {"cpu": ("sdpa",), "cuda": ("sdpa", "flash_attention_2")}
FLEX = ("flex_attention",)


def offered(device: str, wanted: tuple[str, ...] | None = None) -> list[str]:
    """The implementations transformers offers on ``device`` (``wanted``, else its kind's list, less what is not
    installed)."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    wanted = wanted or IMPLEMENTATIONS.get(device.split(":")[0], ("sdpa",))
    names = [n for n in wanted if n in ALL_ATTENTION_FUNCTIONS]
    if "flash_attention_2" in names:
        from transformers.utils import is_flash_attn_2_available

        if not is_flash_attn_2_available():
            names.remove("flash_attention_2")
    return names


def configs_of(model: Any) -> list[Any]:
    """Every config the model and its sub-models read their attention implementation from (sub-configs too)."""
    from transformers import PretrainedConfig

    seen: dict[int, Any] = {}
    stack = [m.config for m in model.modules() if isinstance(getattr(m, "config", None), PretrainedConfig)]
    while stack:
        cfg = stack.pop()
        if id(cfg) in seen:
            continue
        seen[id(cfg)] = cfg
        for key in getattr(cfg, "sub_configs", {}) or {}:
            sub = getattr(cfg, key, None)
            if isinstance(sub, PretrainedConfig):
                stack.append(sub)
    return list(seen.values())


def force(configs: list[Any], impl: str) -> None:
    """Every config set to ``impl``, as transformers stores it (no check of what the class declares)."""
    for cfg in configs:
        cfg._attn_implementation_internal = impl


def check_attention(ctx: CheckContext) -> dict:
    """attention: sdpa (and flash attention on CUDA) against eager."""
    return _check(ctx, offered(ctx.job.device))


def check_flex_attention(ctx: CheckContext) -> dict:
    """attention-flex: flex_attention against eager."""
    impls = offered(ctx.job.device, FLEX)
    if not impls:
        raise NotApplicable("this torch has no flex_attention")
    return _check(ctx, impls)


def _check(ctx: CheckContext, impls: list[str]) -> dict:
    job, a = ctx.job, ctx.attempt
    common.needs_forward(a)
    model, tol = a.model, ctx.tolerance
    configs = configs_of(model)
    before = [c._attn_implementation_internal for c in configs]
    inputs = common.plain_inputs(a)
    pad = common.padded(inputs, left=common.is_causal_decoder(job, a))
    keep = None
    if pad:
        inputs = common.with_positions(model, pad[0], pad[1])
        keep = common.positions(pad[1], bool(getattr(a.config, "is_encoder_decoder", False)))
    flags = declared(model)
    seen: dict[str, Any] = {"declared": flags, "padded": bool(pad), "implementations": {}, "mismatches": []}
    try:
        force(configs, "eager")
        ref = common.run(model, inputs)
        failures = list(_each(model, configs, inputs, ref, keep, tol, impls, flags, seen))
    finally:
        for cfg, impl in zip(configs, before):
            cfg._attn_implementation_internal = impl
    if failures:
        err = CheckFailure("; ".join(failures), stage="attention")
        err.observed = seen  # type: ignore[attr-defined]
        raise err
    return seen


def _each(model: Any, configs: list, inputs: dict, ref: Any, keep: Any, tol: Any, impls: list[str], flags: dict,
          seen: dict) -> Iterator[str]:
    """Each offered implementation against eager's ``ref``: recorded in ``seen``; a failure message for each
    declared one that is refused, fails or differs."""
    for impl in impls:
        flag = ATTENTION_FLAGS.get(impl, "")
        claims = bool(flags.get(flag))
        refusal = None
        try:  # transformers' own switch where the version has one (its refusal is an observation), then forced
            if callable(getattr(model, "set_attn_implementation", None)):
                model.set_attn_implementation(impl)
        except Exception as exc:  # noqa: BLE001 - transformers refusing it is an observation
            refusal = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
        force(configs, impl)
        try:
            out = common.run(model, inputs)
        except Exception as exc:  # noqa: BLE001
            observed = f"fails: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:160]}"
        else:
            diff, problem = compare(_values(ref), _values(out), tol.atol, tol.rtol, keep)
            if problem:
                observed = f"differs from eager: {problem}"
            elif diff.abs == 0.0:
                observed = "no effect (bitwise equal to eager)"
            else:
                observed = f"matches eager ({diff.text()})"
        finally:
            force(configs, "eager")
        seen["implementations"][impl] = {"declared": claims, "refused": refusal, "observed": observed}
        works = observed.startswith("matches")
        if claims and (refusal or not works and not observed.startswith("no effect")):
            what = f"refused by transformers ({refusal})" if refusal else observed
            seen["mismatches"].append(mismatch(flag, True, "refused" if refusal else observed.split(":")[0],
                                               f"declares {impl}: {what}"))
            yield f"declares {impl}: {what}"
        elif not claims and works:
            seen["mismatches"].append(mismatch(flag, False, "works", f"{impl} works, undeclared"))


def _values(out: Any) -> dict:
    """An output's tensors less its attention weights (``attentions``, ``cross_attentions``, a sub-model's
    ``projection_attentions``): eager computes them, sdpa and flash attention never do, so they are no output two
    implementations can share."""
    return {n: t for n, t in tensors_of(out).items() if not any(p.endswith("attentions") for p in n.split("."))}
