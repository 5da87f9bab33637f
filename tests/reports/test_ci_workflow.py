"""The ready CI example: the weekly workflow parses and every `hfscan ...` line it runs is a valid command line."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import pytest
import yaml

from hfscan.cli import cli

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "hfscan-weekly.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def hfscan_lines(workflow: dict) -> list[str]:
    return [line.strip() for job in workflow["jobs"].values() for step in job["steps"]
            for line in step.get("run", "").splitlines() if line.strip().startswith("hfscan ")]


def parse_command_line(line: str) -> click.Context:
    """Resolve the (sub)command and parse its options exactly as the CLI would, without running it."""
    args = shlex.split(line)[1:]
    command: click.Command = cli
    while isinstance(command, click.Group):
        name, args = args[0], args[1:]
        sub = command.get_command(click.Context(command), name)
        assert sub is not None, f"{line!r}: no command {name!r}"
        command = sub
    return command.make_context(command.name, list(args))  # raises on an unknown option or bad value


def test_workflow_is_scheduled_weekly_and_keeps_the_store(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as true
    (cron,) = [s["cron"] for s in triggers["schedule"]]
    assert len(cron.split()) == 5 and cron.split()[4] != "*"  # one day of the week
    steps = workflow["jobs"]["coverage"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/cache/restore") for u in uses) and any(u.startswith("actions/cache/save") for u in uses)
    store_paths = {s["with"]["path"] for s in steps if s.get("uses", "").startswith("actions/cache")}
    assert store_paths == {".hfscan/hfscan.sqlite"} and workflow["jobs"]["coverage"]["env"]["HFSCAN_HOME"].endswith("/.hfscan")
    assert any("pip install -c constraints.txt -e" in s.get("run", "") for s in steps)


def test_every_hfscan_command_line_exists(workflow):
    lines = hfscan_lines(workflow)
    assert {shlex.split(ln)[1] for ln in lines} >= {"run", "report", "history"}
    for line in lines:
        parse_command_line(line)
    assert any("--weekly" in ln and "--fail-on-regression" in ln for ln in lines)
    assert {shlex.split(ln)[shlex.split(ln).index("--format") + 1] for ln in lines if "--format" in ln} == {"md", "html", "json", "junit"}


def test_a_wrong_command_line_would_be_caught():
    with pytest.raises(click.UsageError):
        parse_command_line("hfscan report --format pdf")
    with pytest.raises(AssertionError, match="no command"):
        parse_command_line("hfscan reprot --weekly")
