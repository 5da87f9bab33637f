"""Terminal and CSV views of discovery records."""

from __future__ import annotations

import csv
from typing import IO, Iterable

from rich.console import Console
from rich.table import Table

from hfscan.scanner.records import Inventory, ModelTypeRecord
from hfscan.terminal import console, styled

CSV_FIELDS = ("model_type", "config_class", "module", "tasks", "processors", "parents", "parts", "deprecated", "unmapped_classes")


def _console() -> Console:
    return console(soft_wrap=False)


def print_table(inventory: Inventory, records: Iterable[ModelTypeRecord], extra: dict[str, dict[str, str]] | None = None) -> None:
    """One row per model type; ``extra`` adds columns {column: {model_type: value}}."""
    records = list(records)
    extra = extra or {}
    table = Table(
        title=f"{len(records)} of {len(inventory)} model types · transformers {inventory.transformers_version} · torch {inventory.torch_version}",
        title_justify="left",
    )
    table.add_column("model type", style="bold")
    for col in extra:
        table.add_column(col)
    table.add_column("tasks")
    table.add_column("processors")
    table.add_column("parents")
    for r in records:
        table.add_row(
            r.model_type,
            *(extra[col].get(r.model_type, "") for col in extra),
            ", ".join(r.task_names) or "-",
            ", ".join(r.processor_kinds) or "-",
            ", ".join(r.parents) or "",
        )
    _console().print(table)


def print_record(record: ModelTypeRecord) -> None:
    c = _console()
    c.print(styled((record.model_type, "bold"), f"  {record.config_class}  ({record.config_module or record.module})"))
    if record.deprecated:
        c.print(styled("  ", ("deprecated", "yellow")))
    if record.config_error:
        c.print(f"  config error: {record.config_error}")
    c.print("  tasks:")
    for task in record.task_names or ():
        c.print(f"    {task:<32} {', '.join(record.classes_for(task))}")
    if not record.tasks:
        c.print("    (none: the type sits in no model mapping)")
    c.print("  processors:")
    for kind, classes in record.processors:
        c.print(f"    {kind:<32} {', '.join(classes)}")
    if record.parents:
        c.print(f"  parents: {', '.join(record.parents)}")
    if record.parts:
        c.print(f"  parts: {', '.join(record.parts)}")
    if record.sub_config_keys:
        c.print("  sub-configs: " + ", ".join(f"{k}={v}" for k, v in record.sub_config_keys))
    if record.unmapped_classes:
        c.print(f"  model classes in no auto mapping: {', '.join(record.unmapped_classes)}")


def write_csv(records: Iterable[ModelTypeRecord], out: IO[str], families: dict[str, str | None] | None = None) -> None:
    """One row per record; a ``family`` column is appended when ``families`` is given."""
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS + (("family",) if families is not None else ()))
    for r in records:
        writer.writerow(
            [
                r.model_type,
                r.config_class,
                r.module,
                ";".join(f"{t}={'|'.join(r.classes_for(t))}" for t in r.task_names),
                ";".join(f"{k}={'|'.join(v)}" for k, v in r.processors),
                ";".join(r.parents),
                ";".join(r.parts),
                int(r.deprecated),
                ";".join(r.unmapped_classes),
                *((families.get(r.model_type) or "",) if families is not None else ()),
            ]
        )


def discover_command(
    model_type: str | None,
    fmt: str,
    task: str | None = None,
    pattern: str | None = None,
    use_cache: bool = True,
    with_hub: bool = False,
    with_families: bool = True,
) -> None:
    """`hfscan discover`: every model type (or one in full), with its family and stored Hub metadata."""
    import json
    import sys

    from hfscan.hubsync import discover_columns, hub_line, remote_code_lines, stored_hub_at
    from hfscan.scanner.discover import discover, filter_records
    from hfscan.streams import stdout_to_stderr

    with stdout_to_stderr():
        inventory = discover(use_cache=use_cache)
        classified = {}
        if with_families:
            from hfscan.classifiers import classify_all

            classified = classify_all(inventory, use_cache=use_cache)
    hub_info = stored_hub_at()
    families = {mt: c.family for mt, c in classified.items()}
    labels = {mt: c.family or f"({c.outcome})" for mt, c in classified.items()}

    def as_json(record: ModelTypeRecord) -> dict:
        return {**record.to_json(), **({"family": families.get(record.model_type)} if with_families else {})}

    if model_type:
        record = inventory.get(model_type)
        if fmt == "json":
            print(json.dumps(as_json(record), indent=2))
            return
        print_record(record)
        out = _console()
        if with_families:
            out.print(f"  family: {labels[model_type]}")
        if model_type in hub_info:
            out.print(f"  hub: {hub_line(hub_info[model_type])}")
        return
    records = filter_records(inventory, task=task, pattern=pattern)
    if fmt == "json":
        payload = inventory.to_json()
        payload["model_types"] = [as_json(r) for r in records]
        if with_hub:
            payload["hub"] = {mt: i.to_json() for mt, i in hub_info.items()}
        print(json.dumps(payload, indent=2))
    elif fmt == "csv":
        write_csv(records, sys.stdout, families if with_families else None)
    else:
        extra = {"family": labels} if with_families else {}
        print_table(inventory, records, {**extra, **discover_columns(hub_info)})
        for line in remote_code_lines(hub_info) if with_hub else ():
            print(f"remote-code architecture: {line}")
