"""`hfscan run --shard K/N` end to end: three shard processes merged equal one unsharded run; the split is stable."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.shard_jobs import ROOT, TINY, TINY_ARGS, env, hfscan, latest_run, statuses

pytestmark = pytest.mark.slow


def test_three_shard_processes_merged_equal_one_unsharded_run(tmp_path, tiny_sweep):
    stores = [tmp_path / f"shard-{k}.sqlite" for k in (1, 2, 3)]
    procs = [subprocess.Popen([sys.executable, "-m", "hfscan.cli", "run", *TINY_ARGS, "--shard", f"{k}/3", "--store", str(s)],
                              cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for k, s in enumerate(stores, start=1)]
    outs = [p.communicate(timeout=900)[0] for p in procs]
    assert all(p.returncode in (0, 1) for p in procs), outs
    runs = [latest_run(s) for s in stores]
    splits = [json.loads(r.args)["split"] for r in runs]
    assert len({s["digest"] for s in splits}) == 1  # three processes, one split
    shares = [{mt for mt, _ in statuses(s)} for s in stores]
    assert sorted(mt for share in shares for mt in share) == sorted(TINY) and all(shares)
    assert [r.label for r in runs] == ["shard 1/3", "shard 2/3", "shard 3/3"]

    merged = tmp_path / "merged.sqlite"
    p = hfscan("merge", *map(str, stores), "--into", str(merged))
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert statuses(merged) == tiny_sweep.statuses
    run = latest_run(merged)
    assert [m["shard"] for m in json.loads(run.args)["merged_from"]] == ["1/3", "2/3", "3/3"]

    # reports and history read the merged run like any other
    report = json.loads(hfscan("report", "--store", str(merged), "--format", "json").stdout)
    assert {row["model_type"] for row in report["model_types"]} == set(TINY) and report["run"]["label"] == "merged 3/3 shards"
    assert "merged 3/3 shards" in hfscan("history", "--store", str(merged)).stdout
    again = hfscan("merge", *map(str, stores), str(stores[0]), "--into", str(merged))
    assert again.returncode == 0 and "already merged as run 1" in again.stdout


def test_the_split_is_identical_across_invocations_and_schedulers(tmp_path, tiny_sweep):
    copies = [shutil.copy(tiny_sweep.store, tmp_path / f"copy-{i}.sqlite") for i in range(2)]
    plans = [hfscan("run", *TINY, "--shard", "2/3", "--plan", "json", "--store", str(c)).stdout for c in copies]
    plans.append(hfscan("run", *TINY, "--store", str(copies[0]), "--shard", "auto/3", "--plan", "json", JOB_COMPLETION_INDEX="1").stdout)
    plans.append(hfscan("run", *TINY, "--store", str(copies[1]), "--shard", "auto", "--plan", "json",
                        SLURM_ARRAY_TASK_ID="2", SLURM_ARRAY_TASK_MIN="1", SLURM_ARRAY_TASK_COUNT="3").stdout)
    assert len(set(plans)) == 1
    plan = json.loads(plans[0])
    assert plan["shard"] == 2 and plan["balanced_by_run"] == latest_run(tiny_sweep.store).id
    assert all(not s["estimated_types"] for s in plan["shards"])  # every type has a measured time
    table = hfscan("run", *TINY, "--shard", "2/3", "--plan", "--store", str(copies[0])).stdout
    assert table.startswith(f"3 shards (split {plan['digest']})") and "* shard 2/3" in table
    assert latest_run(copies[0]).id == latest_run(tiny_sweep.store).id  # --plan ran nothing


@pytest.mark.parametrize("args, message", [
    (["--plan"], "--plan needs --shard K/N"),
    (["--shard", "4/3"], "--shard 4/3: the index must be between 1 and the count"),
    (["--shard", "auto"], "--shard auto: no shard index in the environment"),
])
def test_bad_shard_arguments_are_one_line_and_exit_2(args, message):
    p = hfscan("run", "bert", *args, check=False, JOB_COMPLETION_INDEX="", SLURM_ARRAY_TASK_ID="")
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"hfscan: error: {message}")
