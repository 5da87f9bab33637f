"""``hfscan report``: one run's coverage, its history and changes, as Markdown, HTML, JSON or JUnit XML.

The report is built from the store only (:func:`build_report`), then rendered
by jinja2 templates under ``templates/`` (:func:`render`).  JSON follows
``hfscan/data/report.schema.json``.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Mapping
from pathlib import Path

import click
import jinja2
from markupsafe import Markup
from rich.table import Table

from hfscan.cache.store import Store
from hfscan.errors import UsageError
from hfscan.records import FAILING, Coverage, RunInfo, Status
from hfscan.paths import default_store_path
from hfscan.terminal import console
from hfscan.reports import charts
from hfscan.reports.capture import CaptureCause, capture_causes
from hfscan.reports.coverage import (CATEGORIES, SHIPPED_SOURCE, RunCoverage, TierOf, TypeRow, override_origins,
                                     summarize, untiered)
from hfscan.reports.linecov import histogram, line_coverage, summary_line
from hfscan.reports.history import Comparison, TrendPoint, baseline_before, compare, parse_since, trend

SCHEMA = "hfscan.report/2"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "report.schema.json"
#: format -> its template (JSON is written directly)
FORMATS: dict[str, str | None] = {"md": "report.md.j2", "html": "report.html.j2", "json": None, "junit": "junit.xml.j2"}
_RUN_KEYS = ("id", "started_at", "finished_at", "status", "label", "hfscan_version", "python_version",
             "torch_version", "transformers_version", "device", "device_name", "dtype")


@dataclass(frozen=True)
class Report:
    """Everything one report shows."""

    coverage: RunCoverage
    comparison: Comparison | None
    baseline_note: str  # why there is no comparison although one was asked for ("" otherwise)
    trend: tuple[TrendPoint, ...]
    capture: tuple[CaptureCause, ...] = ()  # graph capture causes ranked by the architectures they block
    line_coverage: dict | None = None  # {model type: share of its modeling lines run}, from `run --coverage`


def build_report(
    store: Store,
    run_id: int | None = None,
    since: timedelta | None = None,
    compare_to: int | None = None,
    tier_of: TierOf = untiered,
    override_reasons: Mapping[str, str] | None = None,
) -> Report:
    """The report of ``run_id`` (default: the latest run), compared with ``compare_to`` or the
    latest run at least ``since`` older, when either is given.  ``tier_of`` and ``override_reasons`` (override
    hash to reason) come from the harness's data; the caller hands them in, so reports import no harness."""
    run = store.run(run_id) if run_id is not None else store.latest_run()
    if run is None:
        raise UsageError(f"no runs in {store.path}; run `hfscan run` first")
    reasons = override_origins(store.overrides(), override_reasons)
    results = store.results(run.id)
    current = summarize(run, results, tier_of, reasons)
    baseline, note = None, ""
    if compare_to is not None:
        baseline = store.run(compare_to)
    elif since is not None:
        baseline = baseline_before(store, run, since)
        if baseline is None:
            note = f"no stored run started at least {_age(since)} before run {run.id}; nothing to compare with"
    comparison = compare(current, summarize(baseline, store.results(baseline.id), tier_of, reasons)) if baseline else None
    return Report(current, comparison, note, trend(store, until=run), tuple(capture_causes(results)),
                  line_coverage(results))


def _age(delta: timedelta) -> str:
    days, hours = delta.days, delta.seconds // 3600
    return f"{days} days" if days and not hours else f"{days * 24 + hours} hours"


# -- JSON -----------------------------------------------------------------
def _run_json(run: RunInfo) -> dict:
    return {k: v for k, v in asdict(run).items() if k in _RUN_KEYS}


def _counts_json(counts: dict[Coverage, int]) -> dict:
    return {str(c): n for c, n in counts.items()}


def _row_json(row: TypeRow) -> dict:
    return {
        "model_type": row.model_type,
        "family": row.family,
        "tier": row.tier,
        "coverage": str(row.coverage),
        "checks": {c: {"status": str(o.status), "note": o.note, "duration_s": o.duration_s} for c, o in row.checks.items()},
        "duration_s": row.duration_s,
        "param_count": row.param_count,
        "error": row.error,
        "override_hash": row.override_hash,
    }


def _change_json(change) -> dict:
    return {"model_type": change.model_type, "family": change.family, "before": str(change.before),
            "after": str(change.after), "error": change.error}


def to_json(report: Report) -> dict:
    """The report as one JSON object (schema ``hfscan.report/2``, see ``data/report.schema.json``)."""
    cov, cmp = report.coverage, report.comparison
    totals = cov.totals
    return {
        "schema": SCHEMA,
        "run": _run_json(cov.run),
        "checks": list(cov.checks),
        "categories": [str(c) for c in CATEGORIES],
        "totals": {"model_types": len(cov.rows), "pass_rate": round(cov.pass_rate, 4), "by_category": _counts_json(totals)},
        "by_family": {k: _counts_json(v) for k, v in cov.by("family").items()},
        "by_tier": {k: _counts_json(v) for k, v in cov.by("tier").items()},
        "model_types": [_row_json(r) for r in cov.rows],
        "by_check": {c.check: {"counts": dict(c.counts), "ran": c.ran, "passed": c.passed, "pass_rate": round(c.rate, 4)}
                     for c in cov.check_rates},
        "declared_vs_observed": [
            {"model_type": m.model_type, "check": m.check, "flag": m.flag, "declared": m.declared,
             "observed": m.observed, "text": m.text}
            for m in cov.mismatches
        ],
        "failure_groups": [
            {"kind": g.kind, "reason": g.reason, "count": len(g.model_types), "model_types": list(g.model_types)}
            for g in cov.failure_groups
        ],
        "overrides": [
            {"model_type": o.model_type, "override_hash": o.override_hash, "reason": o.reason, "source": o.source, "checks": list(o.checks), "coverage": str(o.coverage)}
            for o in cov.overrides
        ],
        "comparison": None if cmp is None else {
            "baseline": _run_json(cmp.baseline),
            "regressions": [_change_json(c) for c in cmp.regressions],
            "newly_passing": [_change_json(c) for c in cmp.newly_passing],
            "other_changes": [_change_json(c) for c in cmp.other_changes],
            "added": list(cmp.added),
            "removed": list(cmp.removed),
        },
        "baseline_note": report.baseline_note,
        "capture_causes": [c.to_json() for c in report.capture],
        "line_coverage": report.line_coverage or {},
        "trend": [
            {"run_id": p.run.id, "started_at": p.run.started_at, "transformers_version": p.run.transformers_version,
             "torch_version": p.run.torch_version, "model_types": p.model_types, "passing": p.passing, "pass_rate": round(p.pass_rate, 4)}
            for p in report.trend
        ],
    }


# -- templates --------------------------------------------------------------
_JUNIT_SKIPPED = frozenset({Status.SKIPPED, Status.XFAIL, Status.INTERRUPTED})
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: What no report carries: control characters but tab and newline (NUL, ESC, CR, DEL, C1), surrogates, non-characters.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _printable(value: object) -> object:
    """A value as a template prints it, control characters dropped (markup safety is autoescape's job)."""
    if isinstance(value, Markup):  # already safe (an SVG chart, a filter's output): stays Markup
        return Markup(_UNPRINTABLE.sub("", value))
    return _UNPRINTABLE.sub("", value) if isinstance(value, str) else value


def _xml_text(value: object) -> str:
    """Drop characters XML 1.0 cannot carry (NUL, ANSI escapes' ESC...); escaping is autoescape's job."""
    return _XML_INVALID.sub("", "" if value is None else str(value))


def _md_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: one line, pipes and angle brackets escaped."""
    text = " ".join(_xml_text(value).split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _slug(value: object) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-")


def _junit_counts(rows: list[TypeRow]) -> dict[str, object]:
    """The test, failure and skip counts and total time a JUnit <testsuite> carries."""
    outcomes = [o for row in rows for o in row.checks.values()]
    return {
        "tests": len(outcomes),
        "failures": sum(o.status in FAILING for o in outcomes),
        "skipped": sum(o.status in _JUNIT_SKIPPED for o in outcomes),
        "time": round(sum(o.duration_s for o in outcomes), 3),
    }


def _percent(rate: float) -> str:
    return f"{100 * rate:.1f}%"


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hfscan.reports", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "xml.j2"), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        finalize=_printable,  # every printed value, in every format: no control bytes from a store
    )
    env.filters.update(xml=_xml_text, md=_md_cell, slug=_slug, percent=_percent)
    env.globals.update(junit_counts=_junit_counts, Status=Status, failing=FAILING, junit_skipped=_JUNIT_SKIPPED,
                       shipped_source=SHIPPED_SOURCE)
    return env


def render(report: Report, fmt: str) -> str:
    """The report as text in one of :data:`FORMATS`."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "json":
        return json.dumps(to_json(report), indent=2) + "\n"
    cov = report.coverage
    return _env().get_template(FORMATS[fmt]).render(
        r=report,
        cov=cov,
        cmp=report.comparison,
        totals=cov.totals,
        categories=CATEGORIES,
        by_family=cov.by("family"),
        by_tier=cov.by("tier"),
        family_bars=charts.family_bars(cov.by("family")),
        trend_chart=charts.trend_chart(report.trend),
        bar_width=charts.BAR_WIDTH,
        colors=charts.COLORS,
        trend_pad=charts.PAD,
        coverage_line=summary_line(report.line_coverage or {}),
        coverage_histogram=histogram(report.line_coverage or {}),
    )


def write_output(text: str, output: str | Path) -> None:
    """Write ``text`` to ``output``: a regular file atomically, a device or FIFO in place (:mod:`hfscan.fileio`)."""
    from hfscan.fileio import write_text

    write_text(output, text)


# -- commands -----------------------------------------------------------------
def open_store(path: str | Path | None) -> Store:
    """The existing store at ``path`` (default: ``$HFSCAN_HOME/hfscan.sqlite``); never creates one."""
    path = Path(path) if path else default_store_path()
    if not path.is_file():
        raise UsageError(f"no store at {path}; run `hfscan run` first (or pass --store)")
    return Store(path)


def report_command(
    store_path: str | None,
    fmt: str,
    output: str | None,
    run_id: int | None = None,
    since: str | None = None,
    compare_to: int | None = None,
    fail_on_regression: bool = False,
    tier_of: TierOf = untiered,
    override_reasons: Mapping[str, str] | None = None,
) -> int:
    """``hfscan report``: render, write, and return the exit status (1 for a regression when asked)."""
    if since is not None and compare_to is not None:
        raise UsageError("--compare and --since/--weekly are exclusive")
    if fail_on_regression and since is None and compare_to is None:
        raise UsageError("--fail-on-regression needs a baseline: add --weekly, --since or --compare")
    age = parse_since(since) if since is not None else None
    with open_store(store_path) as store:
        report = build_report(store, run_id=run_id, since=age, compare_to=compare_to, tier_of=tier_of,
                              override_reasons=override_reasons)
    text = render(report, fmt)
    if output in (None, "-"):
        click.echo(text, nl=False)
    else:
        write_output(text, output)
    cmp = report.comparison
    if report.baseline_note:
        click.echo(f"hfscan: {report.baseline_note}", err=True)
    if cmp and cmp.regressions:
        names = ", ".join(c.model_type for c in cmp.regressions[:10]) + (", …" if len(cmp.regressions) > 10 else "")
        click.echo(f"hfscan: {len(cmp.regressions)} regression(s) since run {cmp.baseline.id}: {names}", err=True)
        return 1 if fail_on_regression else 0
    return 0


def history_command(store_path: str | None, fmt: str) -> None:
    """``hfscan history``: every stored run with its versions and pass rate, oldest first."""
    with open_store(store_path) as store:
        points = trend(store)
    rows = [
        {"run_id": p.run.id, "started_at": p.run.started_at, "status": p.run.status, "label": p.run.label,
         "transformers_version": p.run.transformers_version, "torch_version": p.run.torch_version,
         "device": p.run.device, "model_types": p.model_types, "passing": p.passing, "pass_rate": round(p.pass_rate, 4)}
        for p in points
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"runs in the store: {len(rows)}", title_justify="left")
    for col in ("run", "started", "status", "transformers", "torch", "device", "model types", "passing", "pass rate", "label"):
        table.add_column(col, justify="right" if col in ("run", "model types", "passing", "pass rate") else "left")
    for r in rows:
        table.add_row(str(r["run_id"]), r["started_at"], r["status"], r["transformers_version"], str(r["torch_version"]),
                      r["device"], str(r["model_types"]), str(r["passing"]), _percent(r["pass_rate"]), r["label"])
    console(soft_wrap=False, width=None if sys.stdout.isatty() else 200).print(table)
