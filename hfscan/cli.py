"""Command line interface: parses arguments and delegates to the pipeline stages."""

from __future__ import annotations

import os
import signal
import sys

import click

from hfscan import __version__
from hfscan.errors import HfscanError, UsageError
from hfscan.harness.devices import COMPILE_BACKENDS, DEVICES, DTYPES
from hfscan.records import CHECKS


class _Group(click.Group):
    """Turns an HfscanError into one readable line and its exit status."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HfscanError as exc:
            click.echo(f"hfscan: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:  # Ctrl-C anywhere (discovery included): 130, as shells report SIGINT
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not turn this into a traceback
            click.echo("hfscan: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hfscan")
def cli() -> None:
    """Smoke coverage for every architecture of the installed transformers."""


FORMATS = click.Choice(["table", "json", "csv"])


class Positive(click.ParamType):
    """A finite number above ``minimum`` (``nan`` and ``inf`` would switch a limit off: refused)."""

    name = "number"

    def __init__(self, minimum: float = 0.0, inclusive: bool = False):
        self.minimum, self.inclusive = minimum, inclusive

    def convert(self, value, param, ctx):
        import math

        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        ok = number >= self.minimum if self.inclusive else number > self.minimum
        if not math.isfinite(number) or not ok:
            self.fail(f"{value!r} is not a finite number {'>=' if self.inclusive else '>'} {self.minimum:g}", param, ctx)
        return number


class StorePath(click.Path):
    """A store file on disk: SQLite's in-memory and temporary databases (``:memory:``, ``""``) would lose every result."""

    def __init__(self):
        super().__init__(dir_okay=False)

    def convert(self, value, param, ctx):
        text = str(value)
        if not text.strip() or text.startswith(":memory:") or text.lower().startswith("file:"):
            self.fail(f"{text!r} is not a file: results must be stored on disk", param, ctx)
        return super().convert(value, param, ctx)


STORE = StorePath()


@cli.command()
@click.argument("model_type", required=False)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--task", help="Only model types mapped to this task (e.g. causal-lm).")
@click.option("--search", "pattern", help="Glob or substring over model type names.")
@click.option("--no-cache", is_flag=True, help="Rescan transformers instead of using the discovery cache.")
@click.option("--hub", "with_hub", is_flag=True, help="Add stored Hub metadata (downloads, tiny checkpoint, remote-code architectures).")
@click.option("--families/--no-families", default=True, show_default=True,
              help="Classify each type for the family column (the first run per transformers version reads forward() signatures).")
def discover(model_type, fmt, task, pattern, no_cache, with_hub, families):
    """List every model type of the installed transformers (or one in full)."""
    from hfscan.reports.discover_view import discover_command

    discover_command(model_type, fmt, task=task, pattern=pattern, use_cache=not no_cache,
                     with_hub=with_hub, with_families=families)


def _coverage_job_fn(job_fn: str | None, source: str) -> str:
    """The job function of `run --coverage`: the smoke job measured by coverage.py."""
    import importlib.util

    from hfscan.errors import MissingDependencyError
    from hfscan.harness.linecov import COVERAGE_JOB_FN

    if job_fn or source != "config":
        raise UsageError("--coverage measures the random-weight smoke job; it takes no --job-fn or --source")
    if importlib.util.find_spec("coverage") is None:
        raise MissingDependencyError("coverage", "coverage")
    return COVERAGE_JOB_FN


def _parse_checks(checks: str) -> tuple[str, ...]:
    """Check and preset names (``smoke``, ``all``, ...) -> the checks, in the registry's order."""
    from hfscan.harness.registry import registry

    return registry().resolve(checks)


@cli.command()
@click.argument("model_type")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--no-cache", is_flag=True, help="Read config and forward() facts afresh instead of from the trait cache.")
def explain(model_type, fmt, no_cache):
    """Why a model type lands in its family: traits and sources, path, template, rivals."""
    from hfscan.reports.explain_view import explain_command

    explain_command(model_type, fmt, use_cache=not no_cache)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--include-subconfigs", is_flag=True, help="Count sub-config types (e.g. clip_vision_model) too.")
@click.option("--store", type=STORE, default=None, help="Store whose latest run's failures to group (default: $HFSCAN_HOME/hfscan.sqlite).")
@click.pass_context
def gaps(ctx, fmt, include_subconfigs, store):
    """Model types that are unclassified or ambiguous, or failed in the latest run, grouped; exit 1 when there are any."""
    from hfscan.reports.gaps_view import gaps_command

    code = gaps_command(fmt, include_subconfigs, store)
    if fmt == "table":
        from hfscan.hubsync import remote_code_lines, stored_hub_at

        for line in remote_code_lines(stored_hub_at(store)):
            click.echo(f"remote-code architecture (not in transformers): {line}")
    ctx.exit(code)


@cli.group()
def hub() -> None:
    """Hub metadata: usage, top and tiny checkpoints (stored; read offline afterwards)."""


@hub.command("sync")
@click.argument("model_types", nargs=-1)
@click.option("--max-models", type=click.IntRange(1), default=500, show_default=True, help="Models listed per type (counts are lower bounds past it).")
@click.option("--max-retries", type=click.IntRange(0), default=5, show_default=True, help="Retries of a rate-limited or failed request.")
@click.option("--backoff", type=Positive(0, inclusive=True), default=1.0, show_default=True, help="First wait before a retry, in seconds (doubles each time).")
@click.option("--connect-timeout", type=Positive(0), default=10.0, show_default=True, help="Seconds to connect to the Hub (a timeout is retried).")
@click.option("--read-timeout", type=Positive(0), default=60.0, show_default=True, help="Seconds for a whole answer to arrive (a timeout is retried).")
@click.option("--no-remote-code", is_flag=True, help="Skip listing custom-code architectures transformers lacks.")
@click.option("--store", type=STORE, default=None, help="SQLite store file (default: $HFSCAN_HOME/hfscan.sqlite).")
def hub_sync(model_types, max_models, max_retries, backoff, connect_timeout, read_timeout, no_remote_code, store):
    """Fetch Hub metadata for every model type (or those named) into the store."""
    from hfscan.hubsync import sync_command

    sync_command(model_types, max_models=max_models, max_retries=max_retries, backoff_s=backoff,
                 remote_code=not no_remote_code, store=store,
                 timeouts=(_seconds("--connect-timeout", connect_timeout), _seconds("--read-timeout", read_timeout)))


def _seconds(flag: str, value: float) -> float:
    """A positive, finite number of seconds (nan and inf would switch a limit off)."""
    import math

    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{flag} {value}: expected a positive number of seconds")
    return value


#: The options `run`, `matrix` and `upgrade-check` share (selection, checks, execution), outermost first.
_SWEEP_OPTIONS = (
    click.argument("model_types", nargs=-1),
    click.option("--priority", type=click.Choice(["high", "medium", "low", "all"]), default="high", show_default=True, help="Tier to run when no model type is named."),
    click.option("--family", help="Only model types whose classification path holds this family."),
    click.option("--tasks", type=click.Choice(["default", "all"]), default="default", show_default=True, help="The family's representative head, or every mapped class."),
    click.option("--checks", default="smoke", show_default=True,
                 help="Comma-separated checks and presets (smoke, all, ...: see hfscan/data/checks.toml)."),
    click.option("--jobs", type=click.IntRange(1), default=os.cpu_count() or 1, show_default="number of cores", help="Worker processes."),
    click.option("--timeout", type=Positive(0.1, inclusive=True), default=120.0, show_default=True, help="Seconds per job before it is killed."),
    click.option("--mem-cap", type=Positive(64, inclusive=True), default=None, help="MB of memory a worker may use before its job is killed as oom (default: a share of RAM, at most 4096)."),
    click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True),
    click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True),
    click.option("--fresh", is_flag=True, help="Ignore stored results; run everything again."),
    click.option("--reuse-failures", is_flag=True, help="Keep stored crashed, timeout and oom results (retried by default)."),
    click.option("--store", type=STORE, default=None, help="SQLite store file (default: $HFSCAN_HOME/hfscan.sqlite)."),
    click.option("--overrides", type=click.Path(dir_okay=False), default=None, help="Your overrides TOML, merged over the shipped one."),
)


def _sweep_options(fn):
    for option in reversed(_SWEEP_OPTIONS):
        fn = option(fn)
    return fn


@cli.command()
@_sweep_options
@click.option("--source", type=click.Choice(["config", "checkpoint"]), default="config", show_default=True, help="Random weights from the config, or the pinned tiny checkpoint `hub sync` stored (from the HF cache).")
@click.option("--download", is_flag=True, help="With --source checkpoint: fetch checkpoints missing from the HF cache first.")
@click.option("--coverage", "line_coverage", is_flag=True,
              help="Record the share of each type's modeling-code lines its checks ran (needs coverage.py).")
@click.option("--shard", "shard_spec", default=None, metavar="K/N|auto/N|auto",
              help="Run only shard K of N (balanced by the stored durations); auto: K from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID.")
@click.option("--plan", "plan_fmt", type=click.Choice(["table", "json"]), is_flag=False, flag_value="table", default=None,
              help="With --shard: print the split into N shards (table, or json) and run nothing.")
@click.option("--compile-backend", type=click.Choice(COMPILE_BACKENDS), default=None,
              help="torch.compile backend of the compile check (default: aot_eager on CPU, inductor on CUDA).")
@click.option("--export-strict", is_flag=True, help="torch.export in strict mode (TorchDynamo) in the export checks; non-strict by default.")
@click.option("--job-fn", default=None, hidden=True, help="module:function run for each job (testing hook).")
@click.option("--label", default="", hidden=True, help="A label stored with the run (`matrix` tags its runs).")
@click.option("--missing-ok", is_flag=True, hidden=True, help="A named model type the installed transformers lacks is noted, not an error (`matrix`).")
@click.pass_context
def run(ctx, model_types, priority, family, tasks, checks, jobs, timeout, mem_cap, device, dtype, fresh, reuse_failures, store,
        overrides, source, download, line_coverage, shard_spec, plan_fmt, compile_backend, export_strict, job_fn, label,
        missing_ok):
    """Smoke-test model types in isolated workers and store every result."""
    from hfscan.harness.shard import parse_shard
    from hfscan.pipeline import RunRequest, plan_command, run_command

    chosen = _parse_checks(checks)
    if line_coverage:
        job_fn = _coverage_job_fn(job_fn, source)
    spec = parse_shard(shard_spec, os.environ) if shard_spec is not None else None
    if plan_fmt and spec is None:
        raise UsageError("--plan needs --shard K/N (the number of shards to plan)")
    request = RunRequest(
        model_types=model_types, priority=priority, family=family, tasks=tasks, checks=chosen, jobs=jobs,
        timeout_s=timeout, device=device, dtype=dtype, fresh=fresh, reuse_failures=reuse_failures, store=store,
        mem_cap_mb=mem_cap, overrides=overrides, source=source, download=download, label=label, missing_ok=missing_ok,
        shard=(spec.index, spec.count) if spec else None, compile_backend=compile_backend, export_strict=export_strict,
        **({"job_fn": job_fn} if job_fn else {}),
    )
    argv = sys.argv[1:] if ctx.find_root().info_name == "hfscan" else None
    ctx.exit(plan_command(request, plan_fmt) if plan_fmt else run_command(request, argv=argv))


@cli.command()
@click.argument("stores", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--into", "into", required=True, type=click.Path(dir_okay=False), help="Store that receives the merged run (created if absent; keeps its history).")
@click.pass_context
def merge(ctx, stores, into):
    """Merge the shard runs of STORES (the latest in each) into one run in --into."""
    from hfscan.cache.merge import merge_command

    ctx.exit(merge_command(stores, into))


@cli.command()
@_sweep_options
@click.option("--transformers", "transformers_specs", multiple=True, metavar="SPEC", help="A transformers version or pip requirement (repeatable): 5.25.0, '>=4.57,<5'.")
@click.option("--torch", "torch_spec", default=None, metavar="SPEC", help="The torch version or requirement of every created environment (default: the installed torch).")
@click.option("--env", "envs", multiple=True, type=click.Path(file_okay=False), help="An environment you made (a venv or conda env), used as it is (repeatable).")
@click.option("--find-links", "find_links", multiple=True, metavar="PATH_OR_URL", help="Where uv also looks for wheels (default: pip's find-links).")
@click.option("--format", "fmt", type=click.Choice(["table", "md", "json"]), default="table", show_default=True, help="The version x category table's format.")
@click.pass_context
def matrix(ctx, transformers_specs, torch_spec, envs, find_links, fmt, **sweep):
    """The same sweep on several transformers (and torch) versions, each in its own environment; one store."""
    from hfscan.matrix import MatrixRequest, matrix_command

    _parse_checks(sweep["checks"])
    ctx.exit(matrix_command(MatrixRequest(transformers=transformers_specs, torch=torch_spec, envs=envs,
                                          find_links=find_links, sweep=sweep), fmt))


@cli.command("upgrade-check")
@_sweep_options
@click.option("--to", "target", required=True, metavar="SPEC", help="The transformers version or requirement to upgrade to.")
@click.option("--torch", "torch_spec", default=None, metavar="SPEC", help="The target's torch (default: the installed torch).")
@click.option("--find-links", "find_links", multiple=True, metavar="PATH_OR_URL", help="Where uv also looks for wheels (default: pip's find-links).")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True)
@click.option("--output", "-o", default=None, help="File to write (default: standard output).")
@click.pass_context
def upgrade_check(ctx, target, torch_spec, find_links, fmt, output, **sweep):
    """What breaks if the installed transformers is upgraded to SPEC; exit 1 when something that passes now fails there."""
    from hfscan.matrix import upgrade_check_command

    _parse_checks(sweep["checks"])
    ctx.exit(upgrade_check_command(target, torch_spec, find_links, sweep, fmt, output))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json", "junit"]), default="md", show_default=True)
@click.option("--output", "-o", default=None, help="File to write (default: standard output).")
@click.option("--run", "run_id", type=int, default=None, help="Run to report (default: the latest).")
@click.option("--weekly", is_flag=True, help="Compare with the latest run at least 7 days older (--since 7d).")
@click.option("--since", default=None, help="Compare with the latest run at least this much older: 7d, 2w, 12h.")
@click.option("--compare", "compare_to", type=int, default=None, help="Compare with this run id.")
@click.option("--fail-on-regression", is_flag=True, help="Exit 1 when a model type that passed in the baseline fails now.")
@click.option("--store", type=STORE, default=None, help="SQLite store file (default: $HFSCAN_HOME/hfscan.sqlite).")
@click.pass_context
def report(ctx, fmt, output, run_id, weekly, since, compare_to, fail_on_regression, store):
    """Coverage report of a run as Markdown, HTML, JSON or JUnit XML, with changes since a baseline run."""
    from hfscan.harness.overrides import shipped_override_reasons
    from hfscan.harness.selection import tier_of
    from hfscan.reports.report import report_command

    if weekly and since:
        raise UsageError("--weekly and --since are exclusive (--weekly is --since 7d)")
    ctx.exit(report_command(store, fmt, output, run_id=run_id, since="7d" if weekly else since,
                            compare_to=compare_to, fail_on_regression=fail_on_regression, tier_of=tier_of,
                            override_reasons=shipped_override_reasons()))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--store", type=STORE, default=None, help="SQLite store file (default: $HFSCAN_HOME/hfscan.sqlite).")
def history(fmt, store):
    """Every stored run: when, on which versions, and its pass rate."""
    from hfscan.reports.report import history_command

    history_command(store, fmt)


@cli.command()
@click.argument("source", metavar="PATH_OR_REPO_ID")
@click.option("--weights", is_flag=True, help="Also load the real weights (local directory only) and run them with the real processor.")
@click.option("--allow-pickle", is_flag=True, help="Allow pickled (.bin) weights; safetensors only by default.")
@click.option("--trust-remote-code", is_flag=True, help="Let --weights load custom code the checkpoint declares (auto_map); off by default.")
@click.option("--checks", default=",".join(CHECKS), show_default=True,
              help="Comma-separated checks and presets of the random-weight test.")
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Seconds the whole check may take in its worker before it is killed.")
@click.option("--mem-cap", type=float, default=None, help="MB the worker may grow by over its start-up memory before it is killed as oom (default: as `run`, at most 4096).")
@click.option("--compile-backend", type=click.Choice(COMPILE_BACKENDS), default=None,
              help="torch.compile backend of the compile check (default: aot_eager on CPU, inductor on CUDA).")
@click.option("--export-strict", is_flag=True, help="torch.export in strict mode (TorchDynamo) in the export checks; non-strict by default.")
@click.pass_context
def check(ctx, source, weights, allow_pickle, trust_remote_code, checks, timeout, mem_cap, compile_backend, export_strict):
    """Classify and smoke-test the architecture of one checkpoint's config.json (file, directory or Hub id)."""
    from hfscan.check import check_isolated, print_report

    chosen = _parse_checks(checks)
    timeout = _seconds("--timeout", timeout)
    mem_cap = None if mem_cap is None else _seconds("--mem-cap", mem_cap)
    report = check_isolated(source, weights=weights, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code,
                            checks=chosen, timeout_s=timeout, mem_cap_mb=mem_cap, compile_backend=compile_backend,
                            export_strict=export_strict)
    print_report(report)
    ctx.exit(0 if report.ok else 1)


def main() -> None:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    cli(prog_name="hfscan")


if __name__ == "__main__":  # pragma: no cover
    main()
