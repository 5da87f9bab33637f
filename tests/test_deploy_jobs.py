"""The ready sharded jobs (GitHub Actions, Kubernetes, SLURM) parse, and their scripts run here as written.

Each job's own shell text is executed with bash/sh, on the tiny selection
(``HFSCAN_ARGS``), with ``hfscan`` on PATH running this checkout.  What the
scheduler does around the scripts is played by a few lines per scheduler: the
GitHub actions used (cache, artifacts) copy files, each Kubernetes Indexed Job
index runs with its JOB_COMPLETION_INDEX and the volume at a temporary
directory, and a stand-in ``sbatch`` queues the array and the dependent job,
which then run with SLURM's variables.  Every scheduler starts from a copy of
a real merged store (the tiny sweep), as the jobs keep it between sweeps.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import transformers
import yaml

from tests.shard_jobs import ROOT, TINY_ARGS, hfscan_on_path, latest_run, statuses
from tests.reports.test_ci_workflow import parse_command_line

pytestmark = pytest.mark.slow

WORKFLOW = ROOT / ".github" / "workflows" / "hfscan-sharded.yml"
K8S = ROOT / "deploy" / "kubernetes" / "hfscan-indexed-job.yaml"
SBATCH = ROOT / "deploy" / "slurm" / "hfscan-array.sbatch"
SELECTION = " ".join(TINY_ARGS)


def _hfscan_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip().startswith("hfscan ")]


def _parse(line: str) -> None:
    """Parse one job's hfscan line as the CLI would: shell variables stand for some value, `|| ...` is the shell's."""
    line = _EXPR.sub("1", line.split(" || ")[0]).replace("$HFSCAN_ARGS", "--priority all").replace("$HFSCAN_SHARDS", "4")
    parse_command_line(shlex.join("x" if "$" in t else t for t in shlex.split(line)))


def _shell(argv: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)


def _base_env(tmp_path: Path, home: Path) -> dict:
    import os

    path = f"{hfscan_on_path(tmp_path / 'bin')}:{os.environ['PATH']}"
    return {"PATH": path, "HOME": str(tmp_path / "home"), "HFSCAN_HOME": str(home), "COLUMNS": "160"}


# -- GitHub Actions ---------------------------------------------------------
_EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
_OUTPUT_IF = re.compile(r"^steps\.(\w+)\.outputs\.(\w+) == '(.*)'$")


def _subst(value, ctx: dict):
    if isinstance(value, dict):
        return {k: _subst(v, ctx) for k, v in value.items()}
    if isinstance(value, str):
        return _EXPR.sub(lambda m: str(ctx[m.group(1)]), value)  # an expression the test does not know: KeyError
    return value


def _outputs(path: Path) -> dict:
    return dict(ln.split("=", 1) for ln in path.read_text().splitlines() if "=" in ln) if path.exists() else {}


class Runner:
    """Runs one workflow job's steps: `run` scripts with bash, the cache and artifact actions as file copies."""

    def __init__(self, tmp: Path, env: dict):
        self.tmp, self.env = tmp, env
        self.cache, self.artifacts = tmp / "gh-cache", tmp / "gh-artifacts"
        self.log: list[tuple[str, str, int]] = []

    def job(self, name: str, job: dict, workflow_env: dict, ctx: dict, warm: Path) -> dict:
        ws = self.tmp / "ws" / "-".join([name, *map(str, ctx.get("_combo", ()))])
        shutil.copytree(warm, ws / ".hfscan" / "cache")  # the discovery and trait caches, already warm
        ctx = {**ctx, "github.workspace": ws, "github.run_id": "2", "runner.temp": self.tmp}
        env = {**self.env, **_subst({**workflow_env, **job.get("env", {})}, ctx), "HFSCAN_ARGS": SELECTION}
        outputs: dict[str, dict] = {}
        for i, step in enumerate(job["steps"]):
            cond = step.get("if")
            if cond and cond != "always()":
                m = _OUTPUT_IF.match(cond)
                assert m, f"condition the test cannot evaluate: {cond}"
                if outputs.get(m.group(1), {}).get(m.group(2)) != m.group(3):
                    continue
            self.step(name, step, _subst(step.get("with", {}), ctx), ws, env, ctx, outputs, i)
        return outputs

    def step(self, job: str, step: dict, with_: dict, ws: Path, env: dict, ctx: dict, outputs: dict, i: int) -> None:
        uses = step.get("uses", "")
        if uses.startswith(("actions/checkout@", "actions/setup-python@")):
            return
        if uses.startswith("actions/cache/restore@"):
            keys = [with_["key"], *with_.get("restore-keys", "").split()]
            saved = sorted(self.cache.glob("*")) if self.cache.exists() else []
            hit = next((p for k in keys for p in reversed(saved) if p.name.startswith(k)), None)
            if hit:
                (ws / with_["path"]).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(hit / Path(with_["path"]).name, ws / with_["path"])
        elif uses.startswith("actions/cache/save@"):
            (self.cache / with_["key"]).mkdir(parents=True, exist_ok=True)
            shutil.copy(ws / with_["path"], self.cache / with_["key"] / Path(with_["path"]).name)
        elif uses.startswith("actions/upload-artifact@"):
            for path in with_["path"].split():
                src, dest = ws / path, self.artifacts / with_["name"]
                if src.is_dir():
                    shutil.copytree(src, dest / Path(path).name, dirs_exist_ok=True)
                elif src.exists():
                    dest.mkdir(parents=True, exist_ok=True)
                    shutil.copy(src, dest / src.name)
        elif uses.startswith("actions/download-artifact@"):
            for art in sorted(self.artifacts.glob("*")):
                if fnmatch.fnmatch(art.name, with_["pattern"]):
                    shutil.copytree(art, ws / with_["path"] / art.name)
        elif "run" in step:
            script = _subst(step["run"], ctx)
            if "pip install" in script:
                return  # this checkout is what `hfscan` runs
            out = self.tmp / f"gh-output-{job}-{i}"
            p = _shell(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], ws,
                       {**env, "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(self.tmp / "summary.md")})
            self.log.append((job, step.get("name", ""), p.returncode))
            assert p.returncode == 0 or step.get("continue-on-error"), f"{job}: {step.get('name')}: {p.stdout}{p.stderr}"
            if step.get("id"):
                outputs[step["id"]] = _outputs(out)
        else:
            raise AssertionError(f"an action the test does not play: {uses}")


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_workflow_shards_over_a_matrix_and_its_command_lines_parse(workflow):
    shard, merge = workflow["jobs"]["shard"], workflow["jobs"]["merge"]
    matrix = shard["strategy"]["matrix"]
    assert len(matrix["shard"]) == int(workflow["env"]["HFSCAN_SHARDS"]) and len(matrix["transformers"]) >= 2
    assert merge["needs"] == "shard" and merge["if"] == "always()" and merge["strategy"]["matrix"]["transformers"] == matrix["transformers"]
    lines = [ln for job in (shard, merge) for step in job["steps"] for ln in _hfscan_lines(step.get("run", ""))]
    assert {ln.split()[1] for ln in lines} >= {"run", "merge", "report", "history"}
    for line in lines:
        _parse(line)
    assert any("--fail-on-regression" in ln for ln in lines)


def test_workflow_runs_here_shards_then_merge(workflow, tiny_sweep, tmp_path, _hfscan_home):
    version = transformers.__version__
    matrix = workflow["jobs"]["shard"]["strategy"]["matrix"]
    assert version in matrix["transformers"]  # the version installed here is one the workflow sweeps
    gh = Runner(tmp_path, _base_env(tmp_path, _hfscan_home))
    (gh.cache / f"hfscan-sharded-{version}-1").mkdir(parents=True)  # last week's merged store
    shutil.copy(tiny_sweep.store, gh.cache / f"hfscan-sharded-{version}-1" / "hfscan.sqlite")
    warm = Path(_hfscan_home) / "cache"
    for shard in matrix["shard"]:
        ctx = {"matrix.transformers": version, "matrix.shard": shard, "_combo": (version, shard)}
        gh.job("shard", workflow["jobs"]["shard"], workflow["env"], ctx, warm)
    assert sorted(p.name for p in gh.artifacts.glob("*")) == [f"hfscan-shard-{version}-{k}" for k in matrix["shard"]]
    out = gh.job("merge", workflow["jobs"]["merge"], workflow["env"], {"matrix.transformers": version, "_combo": (version,)}, warm)
    assert out["merge"] == {"status": "0"}
    merged = gh.cache / f"hfscan-sharded-{version}-2" / "hfscan.sqlite"
    assert latest_run(merged).label == f"merged {len(matrix['shard'])}/{len(matrix['shard'])} shards"
    assert statuses(merged) == tiny_sweep.statuses
    assert (gh.artifacts / f"hfscan-coverage-{version}" / "reports" / "hf_coverage_report.json").exists()
    assert all(rc == 0 for _, _, rc in gh.log), gh.log

    # the merge job again with the last shard's artifact gone: merged, reported, then failed
    shutil.rmtree(gh.artifacts / f"hfscan-shard-{version}-{matrix['shard'][-1]}")
    with pytest.raises(AssertionError, match="Fail on missing shards"):
        gh.job("merge", workflow["jobs"]["merge"], workflow["env"], {"matrix.transformers": version, "_combo": (version, "again")}, warm)
    assert [name for _, name, _ in gh.log][-3:] == ["Render the reports", "Fail on regressions", "Fail on missing shards"]
    assert latest_run(merged).label == f"merged {len(matrix['shard']) - 1}/{len(matrix['shard'])} shards"


# -- Kubernetes -------------------------------------------------------------
def _run_container(spec: dict, data: Path, mount: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    (container,) = spec["template"]["spec"]["containers"]
    assert [m["mountPath"] for m in container["volumeMounts"]] == [mount]
    argv = [a.replace(mount, str(data)) for a in (*container["command"], *container.get("args", []))]
    own = {e["name"]: e["value"].replace(mount, str(data)) for e in container.get("env", [])}
    return _shell(argv, cwd, {**own, **env})


def test_kubernetes_indexed_job_then_merge_job_run_here(tiny_sweep, tmp_path, _hfscan_home):
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(K8S.read_text())}
    shards, merge = docs["hfscan-shards"], docs["hfscan-merge"]
    assert shards["spec"]["completionMode"] == "Indexed" and shards["metadata"]["labels"]["hfscan/step"] == "shards"
    assert merge["metadata"]["labels"]["hfscan/step"] == "merge" and docs["hfscan-data"]["kind"] == "PersistentVolumeClaim"
    n = shards["spec"]["completions"]
    (container,) = shards["spec"]["template"]["spec"]["containers"]
    assert {e["name"]: e["value"] for e in container["env"]}["HFSCAN_SHARD_COUNT"] == str(n)
    for text in (container["args"][0], merge["spec"]["template"]["spec"]["containers"][0]["args"][0]):
        for line in _hfscan_lines(text):
            _parse(line)

    data = tmp_path / "volume"
    data.mkdir()
    shutil.copy(tiny_sweep.store, data / "hfscan.sqlite")  # the merged store the volume keeps
    env = {**_base_env(tmp_path, _hfscan_home), "HFSCAN_ARGS": SELECTION}
    for index in range(n):
        p = _run_container(shards["spec"], data, "/data", {**env, "JOB_COMPLETION_INDEX": str(index)}, tmp_path)
        assert p.returncode == 0, p.stdout + p.stderr
    assert len(list((data / "shards").glob("shard-*.sqlite"))) == n
    p = _run_container(merge["spec"], data, "/data", env, tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert latest_run(data / "hfscan.sqlite").label == f"merged {n}/{n} shards"
    assert statuses(data / "hfscan.sqlite") == tiny_sweep.statuses
    assert not list((data / "shards").glob("shard-*")) and (data / "reports" / "hf_coverage_junit.xml").exists()


# -- SLURM ------------------------------------------------------------------
FAKE_SBATCH = """#!/usr/bin/env python3
import json, os, sys
queue = os.environ["FAKE_SLURM_QUEUE"]
jobs = json.load(open(queue)) if os.path.exists(queue) else []
args, opts = sys.argv[1:], {}
while args and args[0].startswith("--"):
    key, _, value = args.pop(0)[2:].partition("=")
    opts[key] = value
jobs.append({"id": 100 + len(jobs), "opts": opts, "script": args[0], "args": args[1:]})
json.dump(jobs, open(queue, "w"))
print(jobs[-1]["id"])
"""


def test_sbatch_script_passes_bash_n():
    p = subprocess.run(["bash", "-n", str(SBATCH)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    directives = [ln for ln in SBATCH.read_text().splitlines() if ln.startswith("#SBATCH")]
    assert directives and not any("--array" in d for d in directives)  # the array size is set when submitting
    for line in _hfscan_lines(SBATCH.read_text()):
        _parse(line)


def test_sbatch_array_then_dependent_merge_run_here(tiny_sweep, tmp_path, _hfscan_home):
    bin_dir = hfscan_on_path(tmp_path / "bin")
    (bin_dir / "sbatch").write_text(FAKE_SBATCH)
    (bin_dir / "sbatch").chmod(0o755)
    shards = 3
    store = tmp_path / "kept" / "hfscan.sqlite"
    store.parent.mkdir()
    shutil.copy(tiny_sweep.store, store)
    env = {**_base_env(tmp_path, _hfscan_home), "FAKE_SLURM_QUEUE": str(tmp_path / "queue.json"), "HFSCAN_SHARDS": str(shards),
           "HFSCAN_ARGS": SELECTION, "HFSCAN_STORE": str(store), "HFSCAN_WORK": str(tmp_path / "sweeps")}
    p = _shell(["bash", str(SBATCH)], tmp_path, env)  # submit
    assert p.returncode == 0, p.stderr
    array, merge = json.loads((tmp_path / "queue.json").read_text())
    assert array["opts"]["array"] == f"1-{shards}" and array["args"] == ["shard"]
    assert merge["opts"]["dependency"] == f"afterany:{array['id']}" and merge["args"] == ["merge", str(array["id"])]
    for task in range(1, shards + 1):
        slurm = {"SLURM_ARRAY_JOB_ID": str(array["id"]), "SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_MIN": "1",
                 "SLURM_ARRAY_TASK_MAX": str(shards), "SLURM_ARRAY_TASK_COUNT": str(shards)}
        p = _shell(["bash", array["script"], *array["args"]], tmp_path, {**env, **slurm})
        assert p.returncode == 0, p.stdout + p.stderr
    p = _shell(["bash", merge["script"], *merge["args"]], tmp_path, env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert latest_run(store).label == f"merged {shards}/{shards} shards" and statuses(store) == tiny_sweep.statuses
    assert (tmp_path / "sweeps" / str(array["id"]) / "reports" / "HF_COVERAGE_REPORT.md").exists()


def test_matrix_combinations_cover_every_shard_per_version(workflow):
    matrix = workflow["jobs"]["shard"]["strategy"]["matrix"]
    combos = set(itertools.product(matrix["transformers"], matrix["shard"]))
    assert len(combos) == len(matrix["transformers"]) * len(matrix["shard"])
