"""Terminal view of one classification: traits and their sources, the path, the template, the rivals."""

from __future__ import annotations


from hfscan.classifiers.graph import Family, FamilyGraph, default_graph
from hfscan.classifiers.records import Classification
from hfscan.terminal import console, styled


def _conditions(fam: Family, found: set[str]) -> str:
    """A family's conditions, each with what was found."""
    parts = []
    if fam.requires:
        parts.append("requires " + ", ".join(f"{t} {'✓' if t in found else '✗'}" for t in fam.requires))
    if fam.any:
        hit = [t for t in fam.any if t in found]
        parts.append(f"any of {', '.join(fam.any)} ({', '.join(hit) or 'none'} found)")
    if fam.excludes:
        hit = [t for t in fam.excludes if t in found]
        parts.append(f"excludes {', '.join(fam.excludes)} ({', '.join(hit) or 'none'} found)")
    return "; ".join(parts) or "no conditions of its own"


def _short(value: object, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def print_explanation(c: Classification, graph: FamilyGraph | None = None) -> None:
    graph = graph or default_graph()
    out = console(soft_wrap=True)
    found = set(c.trait_names)
    out.print(styled((c.model_type, "bold"), f"  (sub-config of {', '.join(c.parents)})" if c.parents else ""))
    if c.outcome == "classified":
        out.print(styled("  family: ", (str(c.family), "bold"), f"  category: {c.category}  template: {c.template}"))
    else:
        out.print(styled("  ", (c.outcome, "yellow"), f": {c.reason}"))
    out.print("  traits:")
    values = [_short(t.value) for t in c.traits]
    width = max((len(t.name) for t in c.traits), default=0)
    vwidth = max((len(v) for v in values), default=0)
    for t, value in zip(c.traits, values):
        out.print(f"    {t.name:<{width}}  {value:<{vwidth}}  {t.source}")
    if not c.traits:
        out.print("    (none)")
    for source, error in c.source_errors:
        out.print(styled("    ", (f"could not read {source}", "red"), f": {error}"))
    if c.path:
        out.print("  path:")
    elif c.outcome == "unclassified":
        out.print("  path: (no top-level category holds)")
    for depth, name in enumerate(c.path):
        out.print(f"    {'  ' * depth}{name}: {_conditions(graph.families[name], found)}")
    if c.candidates:
        out.print(f"  tied: {', '.join(c.candidates)}")
    if c.rivals:
        out.print("  rivals:")
        width = max(len(r.family) for r in c.rivals)
        for r in c.rivals:
            out.print(f"    {r.family:<{width}}  {r.reason}")


def check_rows(record: object, c: Classification) -> list[dict]:
    """Each registered check for the type's representative class: whether it applies (the job's conditions), why
    not, and its rule as data says it (what it also requires of the built model)."""
    from hfscan.harness.registry import not_applicable, registry
    from hfscan.harness.smoke import is_generative, plan_jobs

    try:
        jobs = plan_jobs(record, template=c.template, checks=registry().names)
    except Exception:  # noqa: BLE001 - a type that cannot be planned is explained without its checks
        return []
    if not jobs:
        return []
    job = jobs[0]
    generative = is_generative(job.template, job.task)
    rows = []
    for spec in registry().checks.values():
        reason = not_applicable(spec, job, generative)
        rows.append({"check": spec.name, "class": job.model_class, "applies": reason is None, "reason": reason or "",
                     "rule": spec.rule_text()})
    return rows


def print_checks(rows: list[dict]) -> None:
    if not rows:
        return
    out = console(soft_wrap=True)
    out.print(f"  checks ({rows[0]['class']}):")
    width = max(len(r["check"]) for r in rows)
    for r in rows:
        mark = "applies" if r["applies"] else f"does not apply: {r['reason']}"
        out.print(styled(f"    {r['check']:<{width}}  {mark}  ", (f"({r['rule']})", "dim")))


def explain_command(model_type: str, fmt: str, use_cache: bool = True) -> None:
    """`hfscan explain`: classify one model type and print why it landed where it did."""
    import json

    from hfscan.classifiers import classify
    from hfscan.scanner.discover import discover

    inventory = discover(use_cache=use_cache)
    c = classify(inventory.get(model_type), inventory, use_cache=use_cache)
    checks = check_rows(inventory.get(model_type), c)
    if fmt == "json":
        print(json.dumps({**c.to_json(), "checks": checks}, indent=2))
    else:
        print_explanation(c)
        print_checks(checks)
