"""End-to-end tests of the real `hfscan explain`, `hfscan gaps` and the family column of `hfscan discover`."""

import csv
import io
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def hfscan(*args, check=False):
    return subprocess.run([sys.executable, "-m", "hfscan.cli", *args], capture_output=True, text=True, env=dict(os.environ), check=check)


@pytest.fixture(scope="module", autouse=True)
def warm_cache(inventory):
    from hfscan.classifiers import classify_all

    classify_all(inventory)  # one process reads the facts; the CLI runs below use the cache


def test_explain_table_and_json():
    out = hfscan("explain", "mixtral", check=True).stdout
    assert "family: moe-decoder  category: decoder-only  template: causal-lm" in out
    assert "task:causal-lm" in out and "rivals:" in out and "dense-decoder" in out
    data = json.loads(hfscan("explain", "clip_vision_model", "--format", "json", check=True).stdout)
    assert data["family"] == "image-encoder" and data["parents"] == ["clip"]
    assert data["path"] == ["vision", "image-encoder"]
    assert {"name": "vision-input", "value": "pixel_values", "source": "forward(CLIPVisionModel)"} in data["traits"]


def test_explain_unknown_type_is_one_line():
    bad = hfscan("explain", "lamma")
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "unknown model type 'lamma'" in bad.stderr and "llama" in bad.stderr


def test_gaps_exit_status_and_json(inventory, classifications):
    top = [r.model_type for r in inventory if not r.is_subconfig]
    expected = sorted(mt for mt in top if classifications[mt].outcome != "classified")
    out = hfscan("gaps", "--format", "json")
    data = json.loads(out.stdout)
    assert out.returncode == (1 if data["gaps"] else 0)
    classification = [g for g in data["groups"] if g["kind"] in ("unclassified", "ambiguous")]
    assert sorted(mt for g in classification for mt in g["model_types"]) == expected
    table = hfscan("gaps")
    assert table.returncode == out.returncode
    assert all(mt in table.stdout for mt in expected)


def test_discover_has_a_family_column(classifications):
    data = json.loads(hfscan("discover", "--format", "json", check=True).stdout)
    families = {m["model_type"]: m["family"] for m in data["model_types"]}
    assert families == {mt: c.family for mt, c in classifications.items()}
    rows = list(csv.DictReader(io.StringIO(hfscan("discover", "--search", "bert", "--format", "csv", check=True).stdout)))
    assert rows and all(r["family"] == (classifications[r["model_type"]].family or "") for r in rows)
    table = hfscan("discover", "--search", "mixtral", check=True).stdout
    assert "family" in table and "moe-decoder" in table
