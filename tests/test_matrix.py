"""`hfscan matrix` without the network: requirements, environment reuse, a user's environment, the child's arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hfscan import matrix
from hfscan.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("spec, expected", [
    ("5.25.0", "transformers==5.25.0"),
    (">=4.57,<5", "transformers<5,>=4.57"),
    ("transformers==4.50.3", "transformers==4.50.3"),
    ("~=5.24.0", "transformers~=5.24.0"),
])
def test_requirement_from_a_version_a_specifier_or_a_requirement(spec, expected):
    assert matrix.requirement("transformers", spec) == expected


@pytest.mark.parametrize("spec", ["torch==2.13.0", "not a version!", ""])
def test_a_spec_naming_another_package_or_none_is_a_usage_error(spec):
    with pytest.raises(UsageError):
        matrix.requirement("transformers", spec)


def test_every_version_set_pins_the_installed_torch_unless_told():
    sets = matrix.version_sets(matrix.MatrixRequest(transformers=("5.25.0", "4.57.6", "5.25.0")))
    torch = f"torch=={matrix.installed_version('torch')}"
    assert sets == [("transformers==5.25.0", torch), ("transformers==4.57.6", torch)]
    assert matrix.version_sets(matrix.MatrixRequest(transformers=("5.25.0",), torch="2.13.0"))[0][1] == "torch==2.13.0"


def test_the_digest_depends_on_requirements_not_their_order():
    a = matrix.env_digest(("transformers==5.25.0", "torch==2.13.0"), ROOT)
    assert a == matrix.env_digest(("torch==2.13.0", "transformers==5.25.0"), ROOT)
    assert a != matrix.env_digest(("transformers==5.24.0", "torch==2.13.0"), ROOT)
    assert a != matrix.env_digest(("transformers==5.25.0", "torch==2.13.0"), ROOT / "elsewhere")


def test_an_existing_environment_is_reused_without_uv(tmp_path, monkeypatch):
    monkeypatch.setenv("HFSCAN_HOME", str(tmp_path))
    monkeypatch.setattr(matrix, "uv_bin", lambda: pytest.fail("uv must not run for an existing environment"))
    reqs = ("transformers==5.25.0", "torch==2.13.0")
    path = tmp_path / "envs" / matrix.env_digest(reqs, matrix.project_root())
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "python").symlink_to(sys.executable)
    (path / "hfscan-env.json").write_text(json.dumps({"versions": {"transformers": "5.25.0", "torch": "2.13.0"}}))
    env = matrix.ensure_env(reqs)
    assert (env.created, env.path, env.versions["transformers"]) == (False, path, "5.25.0")


def test_a_partial_environment_is_rebuilt_and_a_failed_creation_leaves_none(tmp_path, monkeypatch):
    """No marker: the directory is a killed creation's leftover; a failing uv is one error line (exit 3)."""
    monkeypatch.setenv("HFSCAN_HOME", str(tmp_path))
    fake_uv = tmp_path / "uv"
    fake_uv.write_text("#!/bin/sh\necho 'error: No solution found when resolving dependencies' >&2\nexit 1\n")
    fake_uv.chmod(0o755)
    monkeypatch.setattr(matrix, "uv_bin", lambda: str(fake_uv))
    reqs = ("transformers==0.0.1", "torch==2.13.0")
    path = tmp_path / "envs" / matrix.env_digest(reqs, matrix.project_root())
    path.mkdir(parents=True)
    (path / "leftover").write_text("x")
    with pytest.raises(matrix.EnvError, match="No solution found") as err:
        matrix.ensure_env(reqs)
    assert err.value.exit_code == matrix.EXIT_ENV and not path.exists()


def test_a_user_environment_is_probed_for_its_versions():
    env = matrix.user_env(sys.prefix)
    assert env.versions["transformers"] == matrix.installed_version("transformers")
    assert env.versions["torch"] == matrix.installed_version("torch")


def test_a_directory_without_python_is_not_an_environment(tmp_path):
    with pytest.raises(UsageError, match="no Python interpreter"):
        matrix.user_env(str(tmp_path))


def test_the_child_gets_the_sweep_options_with_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sweep = {"model_types": ("bert", "jev"), "priority": "high", "family": None, "tasks": "default", "checks": "build,forward",
             "jobs": 1, "timeout": 60.0, "mem_cap": None, "device": "cpu", "dtype": "float32", "fresh": True,
             "store": "s.sqlite", "overrides": "mine.toml"}
    args = matrix.sweep_args(sweep, matrix.store_path(sweep))
    assert args[:2] == ["bert", "jev"] and "--fresh" in args and "--missing-ok" in args
    assert args[args.index("--store") + 1] == str(tmp_path / "s.sqlite")
    assert args[args.index("--overrides") + 1] == str(tmp_path / "mine.toml")
    assert "--family" not in args and "--mem-cap" not in args


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "HFSCAN_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "hfscan.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_matrix_needs_a_version_or_an_environment(tmp_path):
    done = _cli("matrix", "bert", home=tmp_path)
    assert done.returncode == 2 and done.stderr.strip().startswith("hfscan: error: name at least one --transformers")
    done = _cli("matrix", "--env", str(tmp_path / "nope"), home=tmp_path)
    assert done.returncode == 2 and "no such directory" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_matrix_on_a_user_environment_stores_a_labelled_run_and_prints_the_table(tmp_path):
    """--env with this very environment: the sweep runs there as a subprocess, into the one store."""
    store = tmp_path / "s.sqlite"
    done = _cli("matrix", "--env", sys.prefix, "bert", "--checks", "build", "--jobs", "1", "--store", str(store),
                "--format", "json", home=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["versions"]
    assert [(r["transformers_version"], r["model_types"], r["by_category"]["generic pass"]) for r in rows] == [
        (matrix.installed_version("transformers"), 1, 1)]
    from hfscan.cache.store import Store

    with Store(store) as s:
        (run,) = s.runs()
    assert run.label == f"matrix {sys.prefix}" and run.torch_version == matrix.installed_version("torch")
