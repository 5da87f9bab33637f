"""End-to-end tests of the real `hfscan discover` command line."""

import csv
import io
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def hfscan(*args, check=False):
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "hfscan.cli", *args], capture_output=True, text=True, env=env, check=check)


def test_json_lists_every_model_type(inventory):
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    out = hfscan("discover", "--format", "json", check=True)
    data = json.loads(out.stdout)
    assert data["schema"] == "hfscan.discover/1"
    assert [m["model_type"] for m in data["model_types"]] == list(CONFIG_MAPPING_NAMES)
    bert = next(m for m in data["model_types"] if m["model_type"] == "bert")
    assert "BertForMaskedLM" in bert["tasks"]["masked-lm"]


def test_one_record_and_unknown_type():
    out = hfscan("discover", "clip_vision_model", check=True)
    assert "parents: clip" in out.stdout
    bad = hfscan("discover", "bertt")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()]  # one line, no traceback
    assert "unknown model type 'bertt'" in bad.stderr and "bert" in bad.stderr


def test_csv_and_filters():
    out = hfscan("discover", "--format", "csv", "--task", "ctc", check=True)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert rows and all("ctc=" in r["tasks"] for r in rows)
    out = hfscan("discover", "--format", "csv", "--search", "wav2vec2*", check=True)
    names = [r["model_type"] for r in csv.DictReader(io.StringIO(out.stdout))]
    assert "wav2vec2" in names and all(n.startswith("wav2vec2") for n in names)
    table = hfscan("discover", "--search", "wav2vec2", check=True)
    assert "wav2vec2" in table.stdout


def test_python_dash_m_hfscan_runs_the_same_cli():
    out = subprocess.run([sys.executable, "-m", "hfscan", "discover", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Usage: hfscan discover" in out.stdout
