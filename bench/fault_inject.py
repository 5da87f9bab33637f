"""Fault injection: kill -9 a real high-tier sweep at random points, then check what the store and reports say.

Each round starts the real command

    python -m hfscan.cli run --priority high --checks build,forward --jobs 2 --store <tmp store>

kills it with SIGKILL a random time after its run began (one kill in five during start-up and
discovery instead), and checks:

* the killed run is not left ``running`` (it is marked ``abandoned`` once the store is opened again);
* every result that was committed before the kill is still in the store;
* no worker process outlives the killed sweep;
* its report counts no model type with an unfinished check as a pass (they are ``not run``);
* ``hfscan report --run <killed> --compare <complete run> --fail-on-regression`` exits 1 whenever the
  killed run left a type unfinished, and never with a traceback.

Rounds resume one another (the command is the same), so kills land in reuse, in discovery, or
while the rest is computed; half the rounds add ``--fresh`` so that kills land in real work too.
A final round runs to the end: the complete baseline every killed run is
compared with.  Prints one line per round and the findings; exits 1 when any check failed.

    python bench/fault_inject.py                   # 10 kills, up to 30 s after the run began
    python bench/fault_inject.py --rounds 3 --max-delay 15 --seed 1
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ("run", "--priority", "high", "--checks", "build,forward", "--jobs", "2")
PASSING = ("generic pass", "pass with override")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "200"}


def _hfscan(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hfscan.cli", *args], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=timeout)


def _finished_ids(store: Path) -> set[int]:
    """Ids of the results committed so far (read-only, without hfscan: no reaping, no side effects)."""
    if not store.exists():
        return set()
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30) as conn:
            return {row[0] for row in conn.execute("SELECT id FROM results WHERE status != 'interrupted'")}
    except sqlite3.OperationalError:
        return set()


def _last_run_id(store: Path) -> int | None:
    if not store.exists():
        return None
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30) as conn:
            return conn.execute("SELECT max(id) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:
        return None


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out |= {int(p) for p in f.read().split()}
    except OSError:
        pass
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _runs(store: Path) -> list[dict]:
    done = _hfscan("history", "--format", "json", "--store", str(store))  # opening the store reaps dead runs
    if done.returncode != 0:
        raise SystemExit(f"hfscan history failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def kill_round(store: Path, delay: float, in_startup: bool, fresh: bool) -> dict:
    """Start the sweep and SIGKILL it ``delay`` seconds after its run began (``in_startup``: after the process
    started, while it discovers); what was committed before the kill, and what it left behind."""
    last = _last_run_id(store)
    proc = subprocess.Popen([sys.executable, "-m", "hfscan.cli", *SWEEP, *(["--fresh"] if fresh else []), "--store", str(store)],
                            cwd=ROOT, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while not in_startup and _last_run_id(store) == last and proc.poll() is None and time.monotonic() - t0 < 600:
        time.sleep(0.1)
    t0 = time.monotonic()
    workers: set[int] = set()
    while time.monotonic() - t0 < delay and proc.poll() is None:
        workers |= _children(proc.pid)
        time.sleep(0.1)
    before = _finished_ids(store)
    killed = proc.poll() is None
    if killed:
        workers |= _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    time.sleep(2.0)  # workers die with their parent (PR_SET_PDEATHSIG)
    run_id = _last_run_id(store)
    return {"run_id": run_id if run_id != last else None, "killed": killed, "fresh": fresh,
            "at": time.monotonic() - t0, "before": before, "rc": proc.returncode, "stderr": err,
            "orphans": sorted(p for p in workers if _alive(p))}


def check_round(store: Path, run_id: int, baseline_id: int, outcome: dict) -> tuple[str, list[str]]:
    """One line about the killed run, and every guarantee it broke."""
    problems: list[str] = []
    after = _finished_ids(store)
    lost = outcome["before"] - after
    if lost:
        problems.append(f"{len(lost)} finished results lost")
    if outcome["orphans"]:
        problems.append(f"worker processes outlived the sweep: {outcome['orphans']}")
    if "Traceback" in outcome["stderr"]:
        problems.append("the sweep printed a traceback")
    status = next(r["status"] for r in _runs(store) if r["run_id"] == run_id)
    if status == "running":
        problems.append("the killed run is still 'running'")
    done = _hfscan("report", "--run", str(run_id), "--format", "json", "--store", str(store))
    if done.returncode != 0 or "Traceback" in done.stderr:
        problems.append(f"report exited {done.returncode}: {done.stderr.strip()[-300:]}")
        return f"run {run_id}: {status}", problems
    report = json.loads(done.stdout)
    rows = report["model_types"]
    false_pass = [r["model_type"] for r in rows if r["coverage"] in PASSING
                  and not all(r["checks"].get(c, {}).get("status") == "passed" for c in ("build", "forward"))]
    if false_pass:
        problems.append(f"counted as passing with unfinished checks: {false_pass}")
    not_run = [r["model_type"] for r in rows if r["coverage"] == "not run"]
    gate = _hfscan("report", "--run", str(run_id), "--compare", str(baseline_id), "--fail-on-regression",
                   "--format", "json", "--store", str(store))
    if "Traceback" in gate.stderr:
        problems.append("report --fail-on-regression printed a traceback")
    cmp = json.loads(gate.stdout)["comparison"] if gate.stdout.strip() else {}
    incomplete = bool(cmp.get("not_run") or cmp.get("regressions"))
    if gate.returncode != (1 if incomplete else 0):
        problems.append(f"--fail-on-regression exited {gate.returncode} with {len(cmp.get('not_run', []))} types not run")
    if not_run and not incomplete:
        problems.append("types not run, yet the comparison has nothing missing")
    passing = sum(r["coverage"] in PASSING for r in rows)
    line = (f"run {run_id}{' (--fresh)' if outcome['fresh'] else ''}: {'killed' if outcome['killed'] else 'ended'}"
            f" {outcome['at']:.1f} s after it began, {status}; "
            f"store: {len(outcome['before'])} results before the kill, {len(after)} at the end; "
            f"{len(rows)} types: {passing} pass, {len(not_run)} not run; --fail-on-regression exit {gate.returncode}")
    return line, problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=10, help="sweeps killed with SIGKILL")
    ap.add_argument("--min-delay", type=float, default=0.0, help="earliest kill, seconds after the run began")
    ap.add_argument("--max-delay", type=float, default=30.0, help="latest kill, seconds after the run began")
    ap.add_argument("--startup-share", type=float, default=0.2, help="share of kills during start-up and discovery")
    ap.add_argument("--fresh-share", type=float, default=0.5,
                    help="share of rounds run with --fresh, so that the kill lands in real work rather than in reuse")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temporary store and print its path")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="hfscan-faults-"))
    store = tmp / "faults.sqlite"
    print(f"fault injection: {args.rounds} x kill -9 of `hfscan {' '.join(SWEEP)}` at {args.min_delay:g}-{args.max_delay:g} s"
          f" (seed {args.seed}), store {store}")
    t_start = time.monotonic()
    outcomes = []
    for _ in range(args.rounds):
        in_startup = rng.random() < args.startup_share
        delay = rng.uniform(0.5, 5.0) if in_startup else rng.uniform(args.min_delay, args.max_delay)
        outcomes.append(kill_round(store, delay, in_startup, rng.random() < args.fresh_share))
    final = _hfscan(*SWEEP, "--store", str(store))
    runs = _runs(store)
    if final.returncode not in (0, 1) or "Traceback" in final.stderr or runs[-1]["status"] != "finished":
        print(f"the final, complete sweep failed (exit {final.returncode}): {final.stderr.strip()[-500:]}")
        return 1
    baseline = runs[-1]["run_id"]
    findings: list[str] = []
    for i, outcome in enumerate(outcomes, 1):
        if outcome["run_id"] is None:  # killed in start-up or discovery, before its run began: nothing stored
            print(f"round {i}: killed {outcome['at']:.1f} s after the start, before its run began (nothing to store)")
            findings += [f"round {i}: {p}" for p in (["a traceback"] if "Traceback" in outcome["stderr"] else [])]
            findings += [f"round {i}: orphan workers {outcome['orphans']}"] if outcome["orphans"] else []
            continue
        line, problems = check_round(store, outcome["run_id"], baseline, outcome)
        print(f"round {i}: {line}")
        findings += [f"run {outcome['run_id']}: {p}" for p in problems]
    print(f"baseline: run {baseline}, finished; {time.monotonic() - t_start:.0f} s in all")
    still_running = [r["run_id"] for r in _runs(store) if r["status"] == "running"]
    if still_running:
        findings.append(f"runs left 'running': {still_running}")
    if findings:
        print(f"FINDINGS ({len(findings)}):")
        for f in findings:
            print(f"  - {f}")
    else:
        print(f"no finding: no run left running, no unfinished type counted as a pass, every finished result kept,"
              f" no orphan worker, --fail-on-regression exit 1 whenever types were not run ({len(outcomes)} kills)")
    if args.keep:
        print(f"store kept: {store}")
    else:
        for p in tmp.glob("*"):
            p.unlink()
        tmp.rmdir()
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
