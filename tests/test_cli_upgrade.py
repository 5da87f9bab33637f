"""`hfscan upgrade-check` end to end with two real transformers versions: the installed 5.24.0 and 5.25.0 from the index.

Creating the 5.25.0 environment needs the package index (torch comes from pip's find-links, as installed); the test
skips when the index cannot be reached.  Under 2 minutes on the reference machine once the index answers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from hfscan.matrix import installed_version

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
#: bert passes on both; jev passes on 5.24.0 and fails on 5.25.0 (which returns 1-D logits over all options);
#: minicpm5_moe and kolibri1_1 are new in 5.25.0 (the first passes, the second fails).
TYPES = ["bert", "jev", "minicpm5_moe", "kolibri1_1"]


def _index_reachable() -> bool:
    url = os.environ.get("UV_INDEX_URL") or os.environ.get("UV_DEFAULT_INDEX") or "https://pypi.org/simple"
    host = urlparse(url)
    try:
        socket.create_connection((host.hostname, host.port or (443 if host.scheme == "https" else 80)), timeout=5).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    if installed_version("transformers") != "5.24.0":
        pytest.skip("written against the pinned transformers 5.24.0 (constraints.txt)")
    if not _index_reachable():
        pytest.skip("the package index is unreachable: the 5.25.0 environment cannot be created")
    return tmp_path_factory.mktemp("upgrade-home")


def _hfscan(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "HFSCAN_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "hfscan.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def test_upgrade_check_from_5_24_to_5_25(home):
    done = _hfscan(home, "upgrade-check", "--to", "5.25.0", *TYPES, "--checks", "build,forward", "--jobs", "2",
                   "--format", "json")
    assert done.returncode == 1, done.stderr[-3000:]  # something that passes now fails in the target
    data = json.loads(done.stdout)
    assert (data["from"]["run"]["transformers_version"], data["to"]["run"]["transformers_version"]) == ("5.24.0", "5.25.0")
    (jev,) = data["broken"]
    assert jev["model_type"] == "jev" and jev["before"] in ("generic pass", "pass with override")
    (forward,) = jev["checks"]
    assert (forward["check"], forward["before"], forward["after"]) == ("forward", "passed", "failed")
    assert "logits" in forward["after_note"]
    new = {t["model_type"]: t["coverage"] for t in data["new_types"]}
    assert new == {"minicpm5_moe": "generic pass", "kolibri1_1": "unexpected failure"}
    assert data["removed_types"] == [] and data["changed"] == []
    assert {g["change"] for g in data["failure_groups"]} == {"new"}
    assert "created" in done.stderr and "pass now and fail on transformers 5.25.0: jev" in done.stderr


def test_matrix_reuses_the_environment_and_results_and_prints_the_version_table(home):
    """The 5.25.0 environment the check made is reused (none created), beside this environment as --env."""
    envs = sorted(p.name for p in (home / "envs").iterdir())
    done = _hfscan(home, "matrix", "--transformers", "5.25.0", "--env", sys.prefix, *TYPES,
                   "--checks", "build,forward", "--jobs", "2", "--format", "json")
    assert done.returncode == 1  # jev and kolibri1_1 fail on 5.25.0
    assert "reusing" in done.stderr and "created" not in done.stderr
    assert sorted(p.name for p in (home / "envs").iterdir()) == envs
    assert done.stderr.count("0 jobs run") == 2  # every result reused from the upgrade check's runs
    rows = {r["transformers_version"]: r for r in json.loads(done.stdout)["versions"]}
    assert rows["5.24.0"]["model_types"] == 2 and rows["5.25.0"]["model_types"] == 4
    assert rows["5.25.0"]["by_category"]["unexpected failure"] == 2
