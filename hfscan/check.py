"""``hfscan check PATH_OR_REPO_ID``: does the architecture variant of *this* checkpoint work?

Reads a checkpoint's ``config.json`` (a file, a local directory, or a Hub repo
id from the local cache or the network), keeps what defines the variant
(``hfscan/data/variant_traits.toml``), shrinks only sizes with the harness's
shrinker, classifies it and smoke-tests it with random weights through the
harness's ``run_job``.  With ``weights`` (local only) it also loads the real
weights and runs them on inputs its real tokenizer / processor builds from
samples hfscan generates.  Custom code is never run; pickled weights are
refused unless allowed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from hfscan.errors import UnknownModelTypeError, UsageError
from hfscan.records import CHECKS, CheckResult, Job, Status

#: Config keys that describe a saved file, not the architecture: never copied onto the tiny config.
_FILE_KEYS = frozenset({"transformers_version", "architectures", "_name_or_path", "dtype", "torch_dtype"})


@dataclass(frozen=True)
class CheckReport:
    """Everything ``hfscan check`` found about one checkpoint config."""

    source: str
    config_path: str
    model_type: str
    config_class: str
    family: str | None
    template: str | None
    model_class: str
    task: str
    traits: tuple[tuple[str, Any, Any], ...]  # (trait, checkpoint value, tiny value)
    kept: tuple[tuple[str, Any], ...]  # variant values the shrinker kept
    shrunk: tuple[tuple[str, Any, Any], ...]  # (path, checkpoint value, tiny value)
    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.status in (Status.PASSED, Status.PARTIAL) for r in self.results)


# -- reading the config --------------------------------------------------------
def locate(source: str) -> Path:
    """The ``config.json`` of a file, a directory, or a Hub repo id (``org/name[@revision]``)."""
    path = Path(source).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UsageError(f"{source}: directory has no config.json")
        return path / "config.json"
    return _from_hub(source)


def _from_hub(source: str) -> Path:
    """``config.json`` of a Hub repo: from the local cache, else downloaded unless HF_HUB_OFFLINE is set."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled
    from huggingface_hub.utils import HFValidationError

    from huggingface_hub import constants

    repo_id, _, revision = source.partition("@")
    try:
        try:
            return Path(hf_hub_download(repo_id, "config.json", revision=revision or None, local_files_only=True))
        except LocalEntryNotFoundError:
            if constants.is_offline_mode():
                raise OfflineModeIsEnabled("offline") from None
            return Path(hf_hub_download(repo_id, "config.json", revision=revision or None))
    except HFValidationError:
        raise UsageError(f"{source}: no such file or directory, and not a Hub repo id") from None
    except OfflineModeIsEnabled:
        raise UsageError(f"{source}: not a local path, and its config.json is not in the Hugging Face cache (HF_HUB_OFFLINE is set)") from None
    except LocalEntryNotFoundError:
        raise UsageError(f"{source}: not a local path, not in the Hugging Face cache, and the Hub cannot be reached") from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise UsageError(f"{source}: the Hub answered HTTP {status} for config.json") from None
    except OSError as exc:
        raise UsageError(f"{source}: cannot fetch config.json ({type(exc).__name__}: {exc})") from None


def read_config(path: Path, trust_remote_code: bool = False) -> Any:
    """The transformers config of a ``config.json``; unknown types and rejected configs are usage errors."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    from hfscan.fileio import read_text

    text = read_text(path)  # unreadable or not UTF-8: file:line, exit 2
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path}: not a readable JSON config ({exc})") from None
    if not isinstance(data, dict) or not data.get("model_type"):
        raise UsageError(f"{path}: config has no model_type")
    model_type = data["model_type"]
    if not isinstance(model_type, str):
        raise UsageError(f"{path}: model_type must be a string, not {type(model_type).__name__} ({json.dumps(model_type)[:80]})")
    if model_type not in CONFIG_MAPPING:
        if data.get("auto_map"):
            hint = "running custom code is not supported by hfscan check" if trust_remote_code else "never run without --trust-remote-code"
            raise UsageError(f"{path}: model type {model_type!r} is custom code (auto_map), not in transformers; {hint}")
        raise UnknownModelTypeError(model_type, list(CONFIG_MAPPING.keys()))
    try:
        return CONFIG_MAPPING[model_type].from_dict(data)
    except Exception as exc:  # noqa: BLE001 - transformers' validation errors are many types
        message = " ".join(line.strip() for line in str(exc).strip().splitlines()[:2])[:300]
        raise UsageError(f"{path}: transformers rejects this {model_type} config: {type(exc).__name__}: {message}") from None


# -- variant traits --------------------------------------------------------------
@lru_cache(maxsize=1)
def _trait_rules() -> tuple[dict, ...]:
    from hfscan.harness.overrides import load_toml

    return tuple(load_toml("variant_traits.toml")["trait"])


def _dict_values(value: Any, keys: list[str]) -> set:
    if not isinstance(value, dict):
        return set()
    found = {v for k, v in value.items() if k in keys and isinstance(v, str)}
    for v in value.values():
        found |= _dict_values(v, keys)
    return found


def _trait(rule: dict, values: dict) -> Any:
    kind = rule["kind"]
    if kind == "ratio":
        for q, kv in rule["pairs"]:
            if isinstance(values.get(q), int) and isinstance(values.get(kv), int) and values[kv] > 0:
                return values[q] / values[kv]
        return None
    if kind == "sparse":
        experts = next((values[a] for a in rule["experts"] if isinstance(values.get(a), int)), None)
        top_k = next((values[a] for a in rule["top_k"] if isinstance(values.get(a), int)), None)
        return None if experts is None or top_k is None else experts > top_k > 0
    present = [a for a in rule["attrs"] if a in values]
    if not present:
        return None
    value = values[present[0]]
    if kind == "enabled":
        return bool(value)
    if kind == "dict_key":
        found = set().union(*(_dict_values(values[a], rule["keys"]) for a in present))
        return tuple(sorted(found)) or None
    if kind == "kinds":
        return tuple(sorted(set(value))) if isinstance(value, (list, tuple, str)) and value else None
    return value


def _declared(cfg: Any) -> dict:
    """The config's values of the fields its class declares (a saved file's leftover keys that
    the installed transformers no longer reads define nothing)."""
    import dataclasses

    if not dataclasses.is_dataclass(cfg):
        return vars(cfg)
    names = {f.name for f in dataclasses.fields(cfg)}
    return {k: v for k, v in vars(cfg).items() if k in names}


def variant_traits(config: Any) -> dict[str, Any]:
    """``{[sub-config path.]trait: value}`` of every variant trait the config tree sets."""
    out: dict[str, Any] = {}
    from hfscan.harness.configtree import walk

    for path, cfg in walk(config):
        values = _declared(cfg)
        for rule in _trait_rules():
            value = _trait(rule, values)
            if value is not None:
                out[f"{path}{rule['name']}"] = value
    return out


# -- classification and the smoke test -------------------------------------------
def _classify(record: Any, inventory: Any, config: Any) -> Any:
    """The family of this config: the model type's facts with the checkpoint's values in place of defaults."""
    from hfscan.classifiers.classify import classify_facts
    from hfscan.classifiers.facts import facts_for

    facts = facts_for(record, inventory)
    values = config.to_dict()
    merged = {k: values.get(k, v) for k, v in facts.config.items()}
    merged = {k: v for k, v in merged.items() if v is None or isinstance(v, (str, int, float, bool, list))}
    return classify_facts(record, replace(facts, config=merged))


def _job_class(record: Any, config: Any, template: str | None, checks: tuple[str, ...]) -> tuple[str, str]:
    """(model class, task): the class the checkpoint names when transformers maps it, else the template's."""
    from hfscan.harness.smoke import plan_jobs

    for cls in getattr(config, "architectures", None) or ():
        task = next((t for t, c in record.tasks if c == cls), None)
        if task:
            return cls, task
    jobs = plan_jobs(record, template, checks=checks, overrides={})
    if not jobs:
        raise UsageError(f"model type {record.model_type!r} has no model class in any auto mapping to test")
    return jobs[0].model_class, jobs[0].task


def _tiny_values(tiny: Any) -> dict:
    """The tiny config as override values (JSON-safe; nested tables reach sub-configs)."""
    values = json.loads(tiny.to_json_string(use_diff=False))

    def strip(d: dict) -> dict:
        return {k: strip(v) if isinstance(v, dict) and "model_type" in v else v for k, v in d.items() if k not in _FILE_KEYS}

    return strip(values)


def _smoke(config: Any, job: Job) -> tuple[list[CheckResult], Any, Any, tuple[Any, Any] | str]:
    """run_job on the shrunk checkpoint config, level after level until build and forward pass."""
    from hfscan.harness.overrides import Override
    from hfscan.harness.shrink import levels, tiny_config
    from hfscan.harness.smoke import run_job

    results: list[CheckResult] = []
    tiny = report = None
    for level in levels():
        tiny, report = tiny_config(config, level=level)
        override = Override(job.model_type, "hfscan check: the checkpoint's own config, shrunk", config=_tiny_values(tiny))
        smoke_checks = tuple(c for c in job.checks if c != "fidelity")  # the job's override is the tiny config:
        results = list(run_job(replace(job, checks=smoke_checks, override=override.to_json())))  # compared below
        if all(r.status in (Status.PASSED, Status.PARTIAL) for r in results if r.check in ("build", "forward")):
            break
    built = _built(job, config, tiny, results)
    if "fidelity" in job.checks:
        results.append(_fidelity(job, built, results))
    return [r.with_(override_hash=None) for r in results], tiny, report, built


def _built(job: Job, config: Any, tiny: Any, results: list[CheckResult]) -> tuple[Any, Any] | str:
    """The checkpoint's full-size model and the tiny one the smoke test built, both on the meta device from their
    configs; else why not (the tiny model did not build, or a model cannot be built on meta)."""
    from hfscan.harness.fidelity import FidelitySkip, full_model
    from hfscan.harness.smoke import _model_class

    if not any(r.check == "build" and r.status == Status.PASSED for r in results):
        return "needs build"
    try:
        model_class = _model_class(job.model_class, job.model_type)
        return full_model(model_class, config), full_model(model_class, tiny)
    except FidelitySkip as exc:
        return f"not applicable: {exc}"


def _fidelity(job: Job, built: tuple[Any, Any] | str, results: list[CheckResult]) -> CheckResult:
    """The tiny model keeps every module class and layer kind of the checkpoint's full-size model (both built on
    the meta device from their configs: the tiny one as the smoke test built it)."""
    from hfscan.harness.fidelity import compare

    base = dict(model_type=job.model_type, check="fidelity", model_class=job.model_class, task=job.task,
                family=job.family, source=job.source)
    if isinstance(built, str):
        return CheckResult(status=Status.SKIPPED, message=built, **base)
    comparison = compare(*built)
    details = json.dumps({"fidelity": comparison.details()})
    if comparison.ok:
        return CheckResult(status=Status.PASSED, details=details, **base)
    return CheckResult(status=Status.FAILED, stage="fidelity", error_type="CheckFailure", message=comparison.message(),
                       details=details, **base)


# -- the command -----------------------------------------------------------------------
#: The job function that runs ``hfscan check`` inside a worker (see :func:`check_isolated`).
CHECK_JOB_FN = "hfscan.check:check_job"


def _steps(config_path: Path, weights: bool, allow_pickle: bool, trust_remote_code: bool,
           checks: tuple[str, ...], options: dict | None = None) -> Iterator[CheckResult]:
    """The check, result by result: ``config`` (what the checkpoint is, in its details), the smoke checks,
    ``variant`` (traits kept and sizes shrunk, in its details), then the real-weight checks."""
    from hfscan.scanner.discover import discover

    config = read_config(config_path, trust_remote_code)
    inventory = discover()
    record = inventory.get(config.model_type)
    classification = _classify(record, inventory, config)
    model_class, task = _job_class(record, config, classification.template, checks)
    job = Job(model_type=record.model_type, model_class=model_class, task=task, checks=checks,
              family=classification.family, template=classification.template, source="config", **(options or {}))
    yield CheckResult(model_type=job.model_type, check="config", status=Status.PASSED, model_class=model_class, task=task,
                      family=job.family, message=str(config_path),
                      details=json.dumps({"config_class": type(config).__name__, "template": job.template}))
    before = variant_traits(config)
    results, tiny, shrink, built = _smoke(config, job)
    yield from results
    after = variant_traits(tiny)
    traits = [(name, value, after.get(name)) for name, value in before.items()]
    changed = [f"{n}: {a!r} -> {b!r}" for n, a, b in traits if a != b] + _built_changes(before, built, traits)
    parts = {"traits": traits, "kept": list(shrink.kept), "shrunk": list(shrink.shrunk)}
    yield CheckResult(
        model_type=job.model_type, check="variant", model_class=model_class, task=task, family=job.family,
        status=Status.FAILED if changed else Status.PASSED, stage="assert" if changed else None,
        message=("shrinking changed " + "; ".join(changed)) if changed else f"{len(traits)} variant traits kept",
        details=json.dumps(parts, default=repr),
    )
    if weights:
        from hfscan.harness.checkpoint import run_checkpoint

        yield from run_checkpoint(replace(job, source="checkpoint", checkpoint=str(config_path.parent)),
                                  config_path.parent, allow_pickle, trust_remote_code, all_weights=True)


def _built_changes(before: dict, built: tuple[Any, Any] | str, traits: list) -> list[str]:
    """The traits read from the built models (appended to ``traits``: full-size value, tiny value) that the tiny
    model lost, and the checkpoint config's traits that the built tiny model does not have."""
    from hfscan.harness.builttraits import built_pair, claims, lost

    if isinstance(built, str):
        return []
    full, tiny = built_pair(*built)
    misread = {c.split(" = ", 1)[0] for c in claims(before, full)}  # the full model's modules say otherwise
    traits[:] = [t for t in traits if t[0] not in misread]  # (multi-query read as one kv head per query)
    out = []
    for name, value in full.items():
        traits.append((name, value, tiny.get(name)))
        why = lost(name, value, tiny.get(name))
        if why:
            out.append(f"{name}: {why}")
    return out + claims({k: v for k, v in before.items() if k not in misread}, tiny)


def _assemble(source: str, config_path: Path, results: list[CheckResult]) -> CheckReport:
    """The report from the results of :func:`_steps` (what a worker that was killed did not send stays unknown)."""
    config = next((r for r in results if r.check == "config"), None)
    variant = next((r for r in results if r.check == "variant"), None)
    about = config.detail if config and config.status is Status.PASSED else {}
    parts = variant.detail if variant else {}
    known = bool(about)
    return CheckReport(
        source=source, config_path=str(config_path), model_type=config.model_type if known else "?",
        config_class=about.get("config_class", "?"), family=config.family if known else None,
        template=about.get("template"), model_class=config.model_class if known else "?", task=config.task if known else "?",
        traits=tuple((name, _tupled(a), _tupled(b)) for name, a, b in parts.get("traits", ())),
        kept=tuple(tuple(k) for k in parts.get("kept", ())),
        shrunk=tuple(tuple(x) for x in parts.get("shrunk", ())),
        results=tuple(r for r in results if r.check != "config" or r.status is not Status.PASSED),
    )


def _tupled(value: Any) -> Any:
    """A trait value back from JSON: its lists were tuples."""
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def check(source: str, weights: bool = False, allow_pickle: bool = False, trust_remote_code: bool = False,
          checks: tuple[str, ...] = CHECKS) -> CheckReport:
    """Classify and smoke-test one checkpoint config (and its real weights when asked), in this process."""
    import torch

    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    config_path = _located(source, weights)
    return _assemble(source, config_path, list(_steps(config_path, weights, allow_pickle, trust_remote_code, checks)))


def _located(source: str, weights: bool) -> Path:
    config_path = locate(source)
    if weights and not Path(source).expanduser().exists():
        raise UsageError("--weights needs a local checkpoint directory (weights are never downloaded)")
    return config_path


def check_job(job: Job) -> Iterator[CheckResult]:
    """Worker job function of ``hfscan check``: the job's ``checkpoint`` holds the command's arguments (JSON).
    A usage error (unknown model type, a config transformers rejects) comes back as a failed ``config``
    result carrying its exit status."""
    from hfscan.errors import HfscanError

    a = json.loads(job.checkpoint or "{}")
    try:
        yield from _steps(Path(a["config"]), a["weights"], a["allow_pickle"], a["trust_remote_code"], tuple(a["checks"]),
                          a.get("options"))
    except HfscanError as exc:
        yield CheckResult(model_type=job.model_type, check="config", status=Status.FAILED, stage="config",
                          error_type=type(exc).__name__, message=str(exc), details=json.dumps({"exit_code": exc.exit_code}))


def check_isolated(source: str, weights: bool = False, allow_pickle: bool = False, trust_remote_code: bool = False,
                   checks: tuple[str, ...] = CHECKS, timeout_s: float = 300.0, mem_cap_mb: float | None = None,
                   compile_backend: str | None = None, export_strict: bool = False) -> CheckReport:
    """:func:`check` in an isolated worker, as ``hfscan run`` runs its jobs: past ``timeout_s`` seconds, or
    ``mem_cap_mb`` MB above the worker's start-up memory, it is killed and the check it was in is recorded
    as ``timeout`` / ``oom``; a crash is ``crashed``.  Ctrl-C raises KeyboardInterrupt once the worker is gone."""
    from hfscan.errors import HfscanError
    from hfscan.harness.runner import Runner, RunnerOptions

    config_path = _located(source, weights)
    args = {"source": source, "config": str(config_path), "weights": weights, "allow_pickle": allow_pickle,
            "trust_remote_code": trust_remote_code, "checks": list(checks),
            "options": {"compile_backend": compile_backend, "export_strict": export_strict}}
    job = Job(model_type=source, model_class="", task="", checks=("config", *checks, "variant"), timeout_s=timeout_s,
              checkpoint=json.dumps(args))
    outcome = Runner(RunnerOptions(jobs=1, job_fn=CHECK_JOB_FN, mem_cap_mb=mem_cap_mb)).run([job])
    if outcome.interrupted:
        raise KeyboardInterrupt
    results = [r for r in outcome.results if not (r.status is Status.SKIPPED and r.message and "no such check" in r.message)]
    for r in results:
        code = r.detail.get("exit_code") if r.check == "config" and r.status is Status.FAILED else None
        if code is not None:
            error = HfscanError(r.message or "")
            error.exit_code = int(code)
            raise error
    return _assemble(source, config_path, results)


def print_report(report: CheckReport) -> None:
    """The report as text: what defines the variant (kept), what was shrunk, and each check's result."""
    import click

    echo = click.echo
    if report.model_type == "?":
        echo(f"{report.source}: {report.config_path} was not read to the end (see the results)")
    else:
        echo(f"{report.source}: {report.model_type} ({report.config_class}), family {report.family or '-'}, "
             f"template {report.template or '-'}, tested as {report.model_class} [{report.task}]")
    echo("kept (variant):")
    for name, value, tiny in report.traits:
        if name.startswith("built."):  # read from the built models: sizes may shrink, see `variant`
            echo(f"  {name} = {value!r}  (tiny model: {tiny!r})")
            continue
        echo(f"  {name} = {value!r}" + ("" if value == tiny else f"  CHANGED to {tiny!r}"))
    for path, value in report.kept:
        echo(f"  {path} = {str(value)[:80]}")
    echo("shrunk (sizes):")
    for path, old, new in report.shrunk:
        echo(f"  {path}: {str(old)[:60]} -> {str(new)[:60]}")
    echo("results:")
    for r in report.results:
        line = f"  {r.check + (' [real weights]' if r.source == 'checkpoint' else ''):<24} {r.status}"
        if r.message or r.stage:
            line += f"  ({r.stage + ': ' if r.stage and r.status != Status.PASSED else ''}{r.message or ''})"
        echo(line)
