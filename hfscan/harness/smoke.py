"""The smoke test of one job, run inside a worker: tiny config, inputs, build/forward/save-load/generate.

``run_job`` never raises for a model's failure: every exception becomes a
``failed`` CheckResult with the stage it stopped in.  A missing optional
package becomes ``skipped: needs <package>``.
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
import time
import traceback
from functools import lru_cache
from typing import Any, Iterator

from hfscan.harness import checks as C
from hfscan.harness.attempt import Attempt
from hfscan.harness.configvals import Fills
from hfscan.harness.declared import declaring_classes, documented_classes, exported_classes, foreign_classes
from hfscan.harness.failures import (ConfigRejected, FailedAfterRepair, HarnessFailure, MissingPackage, NoInputBuilder,
                                     cause_of)
from hfscan.harness.inputs import (BATCH, MODALITY_OF, build_inputs, build_one, documented_rows, entry_name,
                                   fed_submodule, forward_params, to_device)
from hfscan.harness.overrides import Override, load_overrides, load_toml
from hfscan.harness.records import CHECKS, CheckResult, Job, Status
from hfscan.harness.registry import (BUILTIN, CheckContext, CheckSpec, NotApplicable, not_applicable, registry,
                                     unmet_requirement)
from hfscan.harness.errorframe import chain, failed_backends
from hfscan.harness.repairs import repair_inputs
from hfscan.harness.configtree import TOKEN_ID_SUFFIXES, config_tree, text_config
from hfscan.harness.shrink import levels, tiny_config


@lru_cache(maxsize=1)
def templates() -> dict:
    """The parsed templates data file."""
    return load_toml("templates.toml")


def _template(name: str | None) -> dict:
    data = templates()
    if name and name in data["template"]:
        return data["template"][name]
    return {"tasks": data["default"]["tasks"], "generate": True, "modalities": None}


def is_generative(template: str | None, task: str) -> bool:
    """generate applies when the template allows it and the class's task is a generative one."""
    return bool(_template(template)["generate"]) and task in templates()["default"]["generative_tasks"]


def plan_jobs(record: Any, template: str | None = None, tasks: str = "default", checks: tuple[str, ...] = CHECKS,
              device: str = "cpu", dtype: str = "float32", timeout_s: float = 120.0,
              overrides: dict[str, Override] | None = None) -> list[Job]:
    """Jobs for one model type: its representative class, or every mapped class when ``tasks="all"``.

    The representative class is the first of the template's task preference
    (then the default preference) that the model type is mapped to, one of
    its own modeling package first; an override's ``model_class`` replaces it.
    """
    if overrides is None:
        overrides = _package_overrides()
    override = overrides.get(record.model_type)
    common = dict(model_type=record.model_type, checks=tuple(checks), template=template, device=device,
                  dtype=dtype, timeout_s=timeout_s, override=override.to_json() if override else None,
                  override_hash=override.hash if override else None)
    if tasks == "all":
        seen: dict[str, str] = {}
        for task, cls in record.tasks:
            seen.setdefault(cls, task)
        return [Job(model_class=cls, task=task, **common) for cls, task in seen.items()]
    if override and override.model_class:
        task = next((t for t, c in record.tasks if c == override.model_class), "base")
        return [Job(model_class=override.model_class, task=task, **common)]
    mapped = record.task_names
    preference = list(_template(template)["tasks"]) + list(templates()["default"]["tasks"])
    ordered = [t for t in preference if t in mapped]
    own = exported_classes(record.module) if ordered else set()
    own -= foreign_classes(record.module, record.config_class) if len(ordered) > 1 else set()
    # a class of the type's own modeling package (built from its config class, not declaring another type's)
    # before one borrowed from another
    task = next((t for t in ordered if record.classes_for(t)[0] in own), ordered[0] if ordered else
                mapped[0] if mapped else None)
    if task is None:  # a sub-config's own model class sits in no auto mapping: the plainest one, else the
        # plainest class that declares the type's config class, else one its config's docstring example builds
        unmapped = sorted(record.unmapped_classes or declaring_classes(record.module, record.config_class)
                          or documented_classes(record.config_module, record.config_class), key=len)
        return [Job(model_class=unmapped[0], task="base", **common)] if unmapped else []
    return [Job(model_class=record.classes_for(task)[0], task=task, **common)]


@lru_cache(maxsize=1)
def _package_overrides() -> dict[str, Override]:
    return load_overrides()


def missing_package(exc: BaseException) -> str | None:
    """The optional package whose absence caused ``exc`` (None when it is not that): the module an import did not
    find, or the first backend transformers' ``requires_backends`` found unavailable (named as the package that
    provides it, ``[backends]`` of templates.toml), or a module an import did not find while ``exc`` was raised."""
    data = templates()
    packages = data["packages"]
    name = getattr(exc, "name", None)
    if isinstance(exc, ModuleNotFoundError) and name:
        top = name.split(".")[0]
        return top if top in packages else None
    if not isinstance(exc, ImportError):
        return None
    backends = failed_backends(exc)
    if backends:
        return data["backends"].get(backends[0], backends[0])
    cause = next((e for e in chain(exc) if isinstance(e, ModuleNotFoundError) and e.name), None)
    top = cause.name.split(".")[0] if cause else None
    return top if top in packages else None


def _skip_message(pkg: str) -> str:
    extra = templates()["packages"].get(pkg)
    return f"needs {pkg} (pip install 'hfscan[{extra}]')" if extra else f"needs {pkg} (pip install {pkg})"


def _model_class(name: str, model_type: str) -> Any:
    """The class ``name`` as transformers exports it, else from the modeling module next to the type's config
    (a class an auto mapping names but the package does not export)."""
    import importlib.util

    import transformers

    cls = getattr(transformers, name, None)
    if cls is None:
        module = _config_class(model_type).__module__.replace(".configuration_", ".modeling_")
        if importlib.util.find_spec(module) is not None:
            cls = getattr(importlib.import_module(module), name, None)
    if cls is None:  # an auto mapping names a class transformers lacks (4.57's perception_encoder): its own error
        return getattr(transformers, name)
    return cls


def _config_class(model_type: str) -> Any:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    return CONFIG_MAPPING[model_type]


def _filled_attempt(job: Job, level: Any, override: Override | None) -> Attempt:
    """An attempt at one level, made again while the code that failed read config values only a checkpoint
    sets (:mod:`hfscan.harness.configvals`): with those values filled, or the next candidate for them."""
    fills = Fills()
    while True:
        a = _attempt(job, level, override, fills.as_config())
        if a.error is None or a.stage == "config" or not fills.learn(a.error, a.config, a.model):
            return a


def _attempt(job: Job, level: Any, override: Override | None, filled: dict | None = None) -> Attempt:
    """Shrink, build, make inputs and run forward at one shrink level."""
    import torch

    a = Attempt(level=level.name)
    dtype = getattr(torch, job.dtype)
    try:
        t0 = time.perf_counter()
        a.config, a.report = tiny_config(_config_class(job.model_type), override.config if override else None, level,
                                         filled)
        a.stage = "build"
        cls = _model_class(job.model_class, job.model_type)
        _padding_index(a.config, cls, a.report)
        torch.manual_seed(0)
        a.model = cls(a.config).to(job.device).to(dtype).eval()
        a.param_count = sum(p.numel() for p in a.model.parameters())
        a.durations["build"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        values = dict(override.inputs) if override else {}
        for repairs_left in range(MAX_INPUT_REPAIRS, -1, -1):
            try:
                _inputs_and_forward(job, a, values, dtype)
                break
            except (ValueError, RuntimeError, IndexError, AttributeError) as exc:
                a.raised = exc
                repair = repair_inputs(a, str(exc), values, _failing_line(exc)) if repairs_left else None
                if repair is None:
                    raise
                a.repairs.append(repair)
        a.stage = "assert"
        if a.entry == "forward":
            C.check_forward(a.output, **_expectations(job, a))
        else:
            fed = getattr(fed_submodule(a.model), "config", a.config)  # the sub-model whose ids it returns
            C.check_generated_output(a.output, batch=BATCH, vocab=text_config(fed).vocab_size)
        a.durations["forward"] = time.perf_counter() - t0
        a.stage = "done"
    except BaseException as exc:  # noqa: BLE001 - becomes a result; KeyboardInterrupt is re-raised
        if isinstance(exc, KeyboardInterrupt):
            raise
        a.error, a.tb = exc, traceback.format_exc()
        a.stage = getattr(exc, "stage", a.stage)
    return a


#: How many times one attempt may adjust its inputs from what forward() said was wrong with them.
MAX_INPUT_REPAIRS = 3


def _failing_line(exc: BaseException) -> str:
    """The source line ``exc`` was raised at (its innermost frame's)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return (frames[-1].line or "") if frames else ""


#: Functions of a modeling module that count position ids from the padding index (RoBERTa style: positions
#: start at pad_token_id + 1), so its model needs a pad_token_id.
PADDING_POSITIONS = ("create_position_ids_from_input_ids",)


def _padding_index(config: Any, model_class: Any, report: Any) -> None:
    """A model whose modeling module counts position ids from the padding index, built from a config tree
    that leaves pad_token_id None (a checkpoint sets it), gets the lowest id no special token holds (the
    position ids it offsets stay low), on every config of the tree that declares pad_token_id unset."""
    module = inspect.getmodule(model_class)
    if not any(hasattr(module, name) for name in PADDING_POSITIONS):
        return
    tree = config_tree(config)
    unset = [(p, c) for p, c in tree if "pad_token_id" in vars(c) and c.pad_token_id is None]
    taken = {v for _, c in tree for a, v in vars(c).items()
             if a.endswith(TOKEN_ID_SUFFIXES) and isinstance(v, int) and not isinstance(v, bool)}
    free = next(i for i in range(len(taken) + 1) if i not in taken)
    for path, c in unset:
        c.pad_token_id = free
        report.shrunk.append((f"{path}pad_token_id", None, free))


def _inputs_and_forward(job: Job, a: Attempt, values: dict, dtype: Any) -> None:
    import torch

    a.stage = "inputs"
    inputs, a.input_report = build_inputs(a.model, a.config, job.task, templates()["default"], values,
                                          counts=a.counts, framed=a.framed)
    if a.input_report.unknown_required:
        names = ", ".join(a.input_report.unknown_required)
        raise NoInputBuilder(f"no input builder for required forward() argument(s) {names}", names)
    a.inputs = to_device(inputs, job.device, dtype)
    a.stage = "forward"
    a.entry = entry_name(a.model)
    a.rng = _rng_state(job.device)
    with torch.no_grad():
        a.output = _run(a.model, a.config, a.inputs)


#: Inputs of forward() that generate makes itself (or that only a forward pass takes).
NOT_GENERATE_INPUTS = ("labels", "decoder_input_ids", "decoder_attention_mask", "use_cache")


#: New tokens a model run through its generate entry makes (each sub-model that generates makes as many).
ENTRY_NEW_TOKENS = 2


def _run(model: Any, config: Any, inputs: dict) -> Any:
    """The model run on ``inputs`` through its entry method: forward(), or, for a class without one, a
    seeded greedy ``generate`` of a few tokens (every ``*max_new_tokens`` and ``*do_sample`` argument of its
    signature set so, and passed on to its sub-models' generate where it takes ``**kwargs``)."""
    name = entry_name(model)
    if name == "forward":
        return model(**inputs)
    import torch

    method = getattr(model, name)
    params = inspect.signature(method).parameters
    settings = {n: ENTRY_NEW_TOKENS for n in params if n.endswith("max_new_tokens")}
    settings.update({n: False for n in params if n.endswith("do_sample")})
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        settings = {"max_new_tokens": ENTRY_NEW_TOKENS, "do_sample": False, **settings}
    _fill_generation_ids(model.generation_config, config)
    torch.manual_seed(0)
    return method(**{k: v for k, v in inputs.items() if k not in NOT_GENERATE_INPUTS}, **settings)


def _expectations(job: Job, a: Attempt) -> dict:
    tables = templates()["default"]
    text = text_config(a.config)
    decoder_ids = a.inputs.get("decoder_input_ids")  # a decoder of parallel codebook streams has a row for each
    rows, ndim = BATCH, getattr(decoder_ids, "ndim", 0)
    if ndim == 2:  # (batch x codebooks, length)
        rows = decoder_ids.shape[0]
    elif ndim == 3:  # (batch, length, codebooks): logits flatten the codebooks alike
        rows = decoder_ids.shape[0] * decoder_ids.shape[2]
    rows = max(rows, documented_rows(a.model, a.inputs) or 0)  # a generator reading several rows per sample
    exp: dict = {"batch": rows}
    if job.task in tables["vocab_logit_tasks"]:
        emb = a.model.get_output_embeddings() if hasattr(a.model, "get_output_embeddings") else None
        exp["vocab"] = _head_width(emb) or getattr(text, "vocab_size", None)
    if job.task in tables["label_logit_tasks"]:
        exp["num_labels"] = a.config.num_labels
    exp["loss_expected"] = "labels" in a.inputs
    return exp


def _head_width(head: Any) -> int | None:
    """How many logits the model's output head emits: its output on one zero vector of its input width (a head
    may emit more than its ``out_features``: extra trained rows of added tokens), else its ``out_features``."""
    import torch

    width, weight = getattr(head, "in_features", None), getattr(head, "weight", None)
    if isinstance(width, int) and isinstance(weight, torch.Tensor):
        try:
            with torch.no_grad():
                out = head(torch.zeros(1, width, dtype=weight.dtype, device=weight.device))
            if isinstance(out, torch.Tensor) and out.ndim == 2:
                return int(out.shape[-1])
        except Exception:  # noqa: BLE001 - a head that takes no plain vector: its declared width
            pass
    return getattr(head, "out_features", None)


def _base(job: Job, check: str, **kw: Any) -> CheckResult:
    return CheckResult(model_type=job.model_type, check=check, model_class=job.model_class, task=job.task,
                       family=job.family, override_hash=job.override_hash, source=job.source, **kw)


def typed_failure(exc: BaseException, stage: str, repairs: list) -> HarnessFailure | None:
    """The kind of failure ``exc`` is, where hfscan knows it (None where it does not), its cause being ``exc``."""
    if isinstance(exc, HarnessFailure):
        return exc
    pkg = missing_package(exc)
    if pkg:
        typed: HarnessFailure = MissingPackage(str(exc), pkg)
    elif stage == "config":
        typed = ConfigRejected(str(exc), type(exc).__name__)
    elif repairs and stage in ("inputs", "forward", "assert"):
        typed = FailedAfterRepair(str(exc), ", ".join(repairs))
    else:
        return None
    typed.__cause__ = exc
    return typed


def _failure(job: Job, check: str, a: Attempt, override: Override | None, details: dict) -> CheckResult:
    assert a.error is not None
    typed = typed_failure(a.error, a.stage, a.repairs)
    exc = cause_of(typed) if typed is not None else a.error
    if typed is not None:
        details = {**details, **typed.details()}
    if isinstance(typed, MissingPackage):
        return _base(job, check, status=Status.SKIPPED, stage=a.stage, message=_skip_message(typed.subject),
                     error_type=type(exc).__name__, details=json.dumps(details))
    expected = override is not None and override.expects_failure(check)
    status = Status.XFAIL if expected else Status.FAILED
    message = (str(exc).strip().splitlines() or [""])[0][:500]
    if expected:
        message = f"expected: {override.xfail} | {message}"
    error_type = getattr(exc, "error_type", None) or type(exc).__name__  # a capture names the tool's own error
    return _base(job, check, status=status, stage=a.stage, error_type=error_type, message=message, traceback=a.tb,
                 param_count=a.param_count, duration_s=sum(a.durations.values()),
                 details=json.dumps(details))


def _details(a: Attempt, tried: list[Attempt]) -> dict:
    d: dict = {"level": a.level}
    if a.report is not None:
        d["shrink"] = a.report.summary()
    d["inputs"] = C.shapes_of(a.inputs) if a.inputs else {}
    if a.output is not None:
        d["outputs"] = C.shapes_of(a.output)
    if a.input_report is not None:
        d["modalities"] = {"fed": a.input_report.fed, "accepted": a.input_report.accepted}
    if a.entry != "forward":
        d["entry"] = a.entry
    if a.repairs:
        d["repairs"] = a.repairs
    if len(tried) > 1:
        d["levels_tried"] = {t.level: (f"{type(t.error).__name__} at {t.stage}" if t.error else "ok") for t in tried}
    return d


def run_job(job: Job) -> Iterator[CheckResult]:
    """Run ``job``'s checks in this process, yielding one CheckResult per check as it finishes.

    build and forward are what every attempt does (the first shrink level whose model builds and runs is kept);
    every other check is a :class:`~hfscan.harness.registry.CheckSpec` of the registry, run on that attempt in the
    registry's order: not at all where it does not apply to the job, ``skipped`` where a check it needs did not
    pass or the model lacks what it requires."""
    import torch
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(1)
    hf_logging.disable_progress_bar()
    override = Override.from_json(job.override) if job.override else None
    tried: list[Attempt] = []
    for level in levels():
        a = _filled_attempt(job, level, override)
        tried.append(a)
        if a.error is None or missing_package(a.error) or a.stage == "config":
            break
    good = next((t for t in tried if t.error is None), None)
    a = good or tried[0]
    details = _details(a, tried)
    done: dict[str, bool] = {}
    generative = is_generative(job.template, job.task)
    for spec in registry().checks.values():
        if spec.name not in job.checks or not_applicable(spec, job, generative):
            continue
        result = _registered_check(job, spec, a, override, details, done)
        done[spec.name] = result.status in (Status.PASSED, Status.PARTIAL)
        yield result


def _registered_check(job: Job, spec: CheckSpec, a: Attempt, override: Override | None, details: dict,
                      done: dict[str, bool]) -> CheckResult:
    needs = next((n for n in spec.needs if n in done and not done[n]), None)
    if needs:
        return _base(job, spec.name, status=Status.SKIPPED, message=f"needs {needs}")
    if spec.run == BUILTIN:
        return _builtin(job, spec.name, a, override, details)
    if a.error is not None and ("forward" in spec.needs or a.model is None):  # a check that needs forward runs
        return _failure(job, spec.name, a, override, details)  # only on an attempt that ran; one that needs
    # only build (fidelity: the model's structure) runs on the model that was built
    lacking = unmet_requirement(spec, a.model, a.entry, set(forward_params(a.model))) if a.model is not None else None
    if lacking:
        return _base(job, spec.name, status=Status.SKIPPED, message=f"not applicable: {lacking}")
    t0 = time.perf_counter()
    try:
        observed = spec.function()(CheckContext(job=job, attempt=a, spec=spec, override=override))
    except NotApplicable as exc:
        return _base(job, spec.name, status=Status.SKIPPED, message=f"not applicable: {exc}",
                     duration_s=time.perf_counter() - t0)
    except BaseException as exc:  # noqa: BLE001 - becomes a result; KeyboardInterrupt is re-raised
        if isinstance(exc, KeyboardInterrupt):
            raise
        failed = Attempt(level=a.level, stage=getattr(exc, "stage", spec.stage), error=exc,
                         tb=traceback.format_exc(), param_count=a.param_count,
                         durations={spec.name: time.perf_counter() - t0})
        return _failure(job, spec.name, failed, override, _with(details, spec.name, getattr(exc, "observed", None)))
    return _passed(job, spec.name, a, time.perf_counter() - t0, _with(details, spec.name, observed), override)


def _with(details: dict, check: str, observed: dict | None) -> dict:
    """The job's details plus what one check observed, under the check's name."""
    return {**details, check: observed} if observed else details


def _builtin(job: Job, check: str, a: Attempt, override: Override | None, details: dict) -> CheckResult:
    """build and forward: what the kept attempt did."""
    if check == "build":
        if a.error is not None and a.stage in ("config", "build"):
            return _failure(job, check, a, override, details)
        return _passed(job, check, a, a.durations.get("build", 0.0), details, override)
    if a.error is not None:
        return _failure(job, check, a, override, details)
    return _forward_result(job, a, details, override)


def _passed(job: Job, check: str, a: Attempt, duration: float, details: dict, override: Override | None,
            status: Status = Status.PASSED, message: str | None = None) -> CheckResult:
    if override and override.expects_failure(check) and status == Status.PASSED:
        message = f"passed although an override expects a failure: {override.xfail}"
    return _base(job, check, status=status, duration_s=duration, param_count=a.param_count, message=message,
                 details=json.dumps(details))


def _forward_result(job: Job, a: Attempt, details: dict, override: Override | None) -> CheckResult:
    """Passed when every expected modality was fed together, else partial."""
    expected = _template(job.template)["modalities"]
    accepted = set(a.input_report.accepted)
    want = accepted if expected is None else set(expected) & accepted
    missing = sorted(want - set(a.input_report.fed))
    if missing:
        return _passed(job, "forward", a, a.durations.get("forward", 0.0), details, override,
                       status=Status.PARTIAL, message=f"ran without {', '.join(missing)} input")
    return _passed(job, "forward", a, a.durations.get("forward", 0.0), details, override)


def check_save_load(ctx: CheckContext) -> None:
    """save-load: the model saved by ``save_pretrained`` and built again from that directory by ``from_pretrained``
    gives the outputs the model gave: the reloaded one is run on the forward check's inputs from the random state
    that output was computed from (a model that runs differently the first time is compared as before: both
    models run again from one seed)."""
    import torch

    job, a, tol = ctx.job, ctx.attempt, ctx.tolerance
    cls = type(a.model)
    with tempfile.TemporaryDirectory(prefix="hfscan-", dir=scratch_dir()) as tmp:
        a.model.save_pretrained(tmp)
        try:
            reloaded = cls.from_pretrained(tmp).to(job.device).to(getattr(torch, job.dtype)).eval()
        except Exception as exc:
            raise C.CheckFailure(f"from_pretrained: {type(exc).__name__}: {exc}", stage="load") from exc
    with torch.no_grad():
        if a.rng is not None:
            _set_rng_state(a.rng)
            after = _run(reloaded, a.config, a.inputs)
            try:
                C.check_same(a.output, after, atol=tol.atol, rtol=tol.rtol)
                return
            except C.CheckFailure:
                pass
        torch.manual_seed(0)
        before = _run(a.model, a.config, a.inputs)
        torch.manual_seed(0)
        after = _run(reloaded, a.config, a.inputs)
    C.check_same(before, after, atol=tol.atol, rtol=tol.rtol)


def scratch_dir() -> str | None:
    """Where save-load writes its checkpoint: memory-backed /dev/shm where there is one, else the default tmp."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK) else None


def _rng_state(device: str) -> tuple:
    import torch

    cuda = torch.cuda.get_rng_state() if device.startswith("cuda") and torch.cuda.is_available() else None
    return torch.get_rng_state(), cuda


def _set_rng_state(state: tuple) -> None:
    import torch

    cpu, cuda = state
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state(cuda)


def check_generate(ctx: CheckContext) -> None:
    """generate: greedy generate of one new token, then of as many more as one generation step makes (one token, or the block
    the first call made): the second output is the first grown by exactly that, each token laid out as the ids fed."""
    import torch

    job, a = ctx.job, ctx.attempt
    inputs, step = _generation_inputs(job, a)
    _fill_generation_ids(a.model.generation_config, a.config)

    def generate(new: int) -> Any:
        torch.manual_seed(0)  # a decoder that starts a block from random tokens (or samples latents) starts alike
        with torch.no_grad():
            out = a.model.generate(**inputs, max_new_tokens=new, min_new_tokens=new, do_sample=False, num_beams=1)
        return out if isinstance(out, torch.Tensor) else out.sequences

    first = generate(1)
    unit = _generation_unit(a.model, first, inputs.get("input_ids"))
    C.check_generated(first, generate(1 + unit), BATCH, step=step, unit=unit)


def _generation_inputs(job: Job, a: Attempt) -> tuple[dict, tuple[int, ...]]:
    """generate's inputs and the per-token axes of the ids it returns: forward's inputs less its targets (ids laid out
    as the decoder's, or the prompt's, ids fed); for a model whose generation step takes a modality forward does
    not (raw audio it encodes, as it goes, into the token frames forward reads), that modality alone (plain ids)."""
    params = inspect.signature(getattr(a.model, "prepare_inputs_for_generation", a.model.generate)).parameters
    own = [n for n in params if MODALITY_OF.get(n) not in (None, "text") and n not in forward_params(a.model)]
    if own:
        import torch

        return to_device({n: build_one(a.model, a.config, n) for n in own}, job.device, getattr(torch, job.dtype)), ()
    ids = a.inputs.get("decoder_input_ids" if getattr(a.config, "is_encoder_decoder", False) else "input_ids")
    inputs = {k: v for k, v in a.inputs.items() if k not in NOT_GENERATE_INPUTS}
    return inputs, tuple(ids.shape[2:]) if ids is not None else ()


def _generation_unit(model: Any, first: Any, prompt: Any) -> int:
    """New tokens one generation step makes: one, unless the model's generation config declares no token-by-token
    generation mode (a block diffusion decoder makes a whole block per step): then those the first call added."""
    try:
        model.generation_config.get_generation_mode()
    except NotImplementedError:
        return max(1, first.shape[1] - prompt.shape[1]) if prompt is not None else 1
    return 1


def _fill_generation_ids(gen_cfg: Any, config: Any) -> None:
    """Special ids generate needs but a random-weight config may leave unset, taken from the config (a model with
    no generation config, e.g. 4.50's jukebox, has none to fill: its generate's own error is the finding)."""
    if gen_cfg is None:
        return
    text = text_config(config)

    def first(*names: str) -> Any:
        for cfg in (config, text):
            for name in names:
                value = getattr(cfg, name, None)
                if value is not None:
                    return value[0] if isinstance(value, list) and value else value
        return None

    if gen_cfg.pad_token_id is None:
        gen_cfg.pad_token_id = first("pad_token_id", "eos_token_id")
        if gen_cfg.pad_token_id is None:
            gen_cfg.pad_token_id = 0
    gen_cfg.forced_eos_token_id = None  # forces EOS at max length: a length-dependent output
    if getattr(config, "is_encoder_decoder", False) and gen_cfg.decoder_start_token_id is None:
        start = first("decoder_start_token_id", "bos_token_id")
        gen_cfg.decoder_start_token_id = gen_cfg.pad_token_id if start is None else start
