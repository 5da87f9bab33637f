"""Dump every tiny config the shrinker makes, for a no-behaviour-change check of a refactor.

For every model type of the installed transformers (sorted), at every shrink level: the tiny config
(``to_dict()``, as sorted JSON) and the shrink report (``ShrinkReport.summary()``), or the error that stopped
the shrink; then the input spec of the tiny (first-level) model: the name, shape and dtype of every input
``build_inputs`` makes for the job's model class (the model is built on the CPU: ``--configs-only`` leaves the
specs out). The output is deterministic: run it before and after a change and compare the files (all 822
types take about 10-20 minutes on 2 busy cores).

    python scripts/dump_tiny.py --out /tmp/dump-before.txt
    python scripts/dump_tiny.py --out /tmp/dump-after.txt && cmp /tmp/dump-before.txt /tmp/dump-after.txt
    python scripts/dump_tiny.py --configs-only --out /tmp/configs.txt bert llava
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
from typing import Any, TextIO

#: Memory addresses in an error message or a value's repr differ from run to run.
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def _json(value: Any) -> str:
    return _ADDRESS.sub(" at 0x?", json.dumps(value, sort_keys=True, default=repr))


def _error(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return _ADDRESS.sub(" at 0x?", f"{type(exc).__name__}: {first}")


def _configs(mt: str, override: Any, out: TextIO) -> None:
    from hfscan.harness.shrink import levels, tiny_config
    from hfscan.harness.smoke import _config_class

    for level in levels():
        try:
            cfg, report = tiny_config(_config_class(mt), override.config if override else None, level)
        except Exception as exc:  # noqa: BLE001 - the error is part of the dump
            out.write(f"{mt}\t{level.name}\terror\t{_error(exc)}\n")
            continue
        out.write(f"{mt}\t{level.name}\tconfig\t{_json(cfg.to_dict())}\n")
        out.write(f"{mt}\t{level.name}\treport\t{_json(report.summary())}\n")
        # every change (the summary keeps one per path), sorted: some passes visit a set of names, whose order
        # varies with the hash seed from run to run
        raw = {name: sorted(_json(x) for x in getattr(report, name))
               for name in ("shrunk", "kept", "overridden", "filled")}
        out.write(f"{mt}\t{level.name}\tchanges\t{_json(raw)}\n")


def _inputs(record: Any, template: str | None, override: Any, out: TextIO) -> None:
    import torch

    from hfscan.harness.inputs import build_inputs
    from hfscan.harness.shrink import levels, tiny_config
    from hfscan.harness.smoke import _config_class, _model_class, _padding_index, plan_jobs, templates

    for job in plan_jobs(record, template=template):
        try:
            cfg, report = tiny_config(_config_class(job.model_type), override.config if override else None,
                                      levels()[0])
            cls = _model_class(job.model_class, job.model_type)
            _padding_index(cfg, cls, report)
            torch.manual_seed(0)
            model = cls(cfg).eval()
            values = dict(override.inputs) if override else {}
            inputs, _ = build_inputs(model, cfg, job.task, templates()["default"], values)
            spec = {k: [list(v.shape), str(v.dtype)] if isinstance(v, torch.Tensor) else repr(v)[:80]
                    for k, v in inputs.items()}
            out.write(f"{job.model_type}\t{job.model_class}\tinputs\t{_json(spec)}\n")
        except Exception as exc:  # noqa: BLE001 - the error is part of the dump
            out.write(f"{job.model_type}\t{job.model_class}\tinputs-error\t{_error(exc)}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="file to write (overwritten)")
    ap.add_argument("--configs-only", action="store_true", help="no input specs (they build each tiny model)")
    ap.add_argument("--timeout", type=int, default=120, help="seconds per model type before it is cut off")
    ap.add_argument("model_types", nargs="*", help="default: every model type")
    args = ap.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":  # transformers orders some dicts by a set (rotary parameters keyed
        # by layer type): the same hash seed every run, so that the output is the same
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})

    import torch

    from hfscan.harness.smoke import _package_overrides
    from hfscan.scanner.discover import discover

    torch.set_num_threads(1)
    inventory = discover()
    try:
        from hfscan.classifiers import classify_all

        templates = {mt: c.template for mt, c in classify_all(inventory).items()}
    except Exception:  # noqa: BLE001 - templates only pick the job's class
        templates = {}
    overrides = _package_overrides()
    types = args.model_types or sorted(r.model_type for r in inventory.records)

    def alarm(*_: Any) -> None:
        raise TimeoutError(f"over {args.timeout} s")

    signal.signal(signal.SIGALRM, alarm)
    with open(args.out, "w", encoding="utf-8") as out:
        for i, mt in enumerate(types):
            signal.alarm(args.timeout)
            try:
                _configs(mt, overrides.get(mt), out)
                if not args.configs_only:
                    _inputs(inventory.get(mt), templates.get(mt), overrides.get(mt), out)
            except TimeoutError as exc:
                out.write(f"{mt}\t-\ttimeout\t{exc}\n")
            finally:
                signal.alarm(0)
            out.flush()
            print(f"\r{i + 1}/{len(types)} {mt:40}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


if __name__ == "__main__":
    main()
