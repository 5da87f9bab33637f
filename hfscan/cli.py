"""Command line interface: parses arguments and delegates to the pipeline stages."""

from __future__ import annotations

import json
import os
import sys

import click

from hfscan import __version__
from hfscan.errors import HfscanError


class _Group(click.Group):
    """Turns an HfscanError into one readable line and its exit status."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HfscanError as exc:
            click.echo(f"hfscan: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hfscan")
def cli() -> None:
    """Smoke coverage for every architecture of the installed transformers."""


FORMATS = click.Choice(["table", "json", "csv"])


@cli.command()
@click.argument("model_type", required=False)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--task", help="Only model types mapped to this task (e.g. causal-lm).")
@click.option("--search", "pattern", help="Glob or substring over model type names.")
@click.option("--no-cache", is_flag=True, help="Rescan transformers instead of using the discovery cache.")
def discover(model_type, fmt, task, pattern, no_cache):
    """List every model type of the installed transformers (or one in full)."""
    from hfscan.reports import discover_view
    from hfscan.scanner.discover import discover as run_discover, filter_records

    inventory = run_discover(use_cache=not no_cache)
    if model_type:
        record = inventory.get(model_type)
        if fmt == "json":
            click.echo(json.dumps(record.to_json(), indent=2))
        else:
            discover_view.print_record(record)
        return
    records = filter_records(inventory, task=task, pattern=pattern)
    if fmt == "json":
        payload = inventory.to_json()
        payload["model_types"] = [r.to_json() for r in records]
        click.echo(json.dumps(payload, indent=2))
    elif fmt == "csv":
        discover_view.write_csv(records, sys.stdout)
    else:
        discover_view.print_table(inventory, records)


def main() -> None:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    cli(prog_name="hfscan")


if __name__ == "__main__":  # pragma: no cover
    main()
