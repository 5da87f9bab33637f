"""Priority tiers as data, selection by name, tier and family, and devices."""

from __future__ import annotations

import pytest

from hfscan.errors import DataFileError, UnknownModelTypeError, UsageError
from hfscan.harness.devices import DeviceUnavailableError, resolve_device
from hfscan.harness.selection import load_tiers, select, tier_of


def test_shipped_tiers_hold_the_issue_lists():
    tiers = load_tiers()
    assert len(tiers["high"]) == 24 and len(tiers["medium"]) == 29
    assert tier_of("bert") == "high" and tier_of("gpt_neo") == "medium" and tier_of("mamba") == "low"


def test_high_tier_is_all_present_and_medium_reports_what_is_missing(inventory):
    high = select(inventory, priority="high")
    assert len(high.model_types) == 24 and not high.missing
    medium = select(inventory, priority="medium")
    assert "imagebind" not in medium.model_types and len(medium.model_types) == 28
    assert medium.missing_lines() == [f"imagebind (medium): not in transformers {inventory.transformers_version}"]
    assert select(inventory, priority="all").missing == (("imagebind", "medium"),)


def test_low_tier_is_everything_else(inventory):
    low = select(inventory, priority="low").model_types
    listed = set(load_tiers()["high"]) | set(load_tiers()["medium"])
    assert len(low) == len(inventory) - 24 - 28 and not set(low) & listed


def test_named_model_types_and_unknown_ones(inventory):
    assert select(inventory, ["gpt2", "bert", "gpt2"]).model_types == ("gpt2", "bert")
    with pytest.raises(UnknownModelTypeError, match="closest: bert"):
        select(inventory, ["bertt"])
    with pytest.raises(UsageError, match="priority"):
        select(inventory, priority="urgent")


def test_family_filter_uses_the_classification_path(inventory):
    families = {"bert": ("encoder-only", "text-encoder"), "gpt2": ("decoder-only",), "vit": ("vision",)}
    chosen = select(inventory, priority="high", family="encoder-only", families=families)
    assert chosen.model_types == ("bert",)
    with pytest.raises(UsageError, match="unknown family 'nope'; known: decoder-only"):
        select(inventory, priority="high", family="nope", families=families)


def test_a_broken_tiers_file_names_file_and_line(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text("[tiers]\nhigh = [\"bert\"\nmedium = 3\n")
    with pytest.raises(DataFileError, match=r"p.toml:\d+"):
        load_tiers(bad)
    bad.write_text("[tiers]\nurgent = [\"bert\"]\n")
    with pytest.raises(DataFileError, match="unknown tier 'urgent'"):
        load_tiers(bad)


def test_cpu_is_always_there_and_an_absent_accelerator_is_a_clear_error():
    import torch

    cpu = resolve_device("cpu")
    assert cpu.kind == "cpu" and cpu.name
    assert resolve_device("auto").kind == ("cuda" if torch.cuda.is_available() else resolve_device("auto").kind)
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailableError, match="device 'cuda' is not available") as err:
            resolve_device("cuda")
        assert err.value.exit_code == 2
    with pytest.raises(UsageError, match="unknown device"):
        resolve_device("tpu")


def test_auto_on_a_cpu_only_torch_build_imports_no_torch():
    import importlib.metadata
    import subprocess
    import sys

    if not importlib.metadata.version("torch").endswith("+cpu"):
        pytest.skip("torch is not a CPU-only build here")
    code = ("import sys; from hfscan.harness.devices import resolve_device; d = resolve_device('auto'); "
            "print(d.kind, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["cpu", "False"]
