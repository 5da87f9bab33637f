"""The incremental key changes with everything that can change a result, and only with that."""

from __future__ import annotations

from dataclasses import replace

from hfscan.harness.keys import result_key
from hfscan.harness.records import Job

BASE = Job("bert", "BertModel", "base", device="cpu", dtype="float32")


def _key(job=BASE, check="forward", tf="5.24.0", torch="2.13.0", fn="hfscan.harness.smoke:run_job"):
    return result_key(job, check, tf, torch, fn)


def test_key_is_stable_and_ignores_what_cannot_change_a_result():
    assert _key() == _key()
    assert _key(replace(BASE, timeout_s=5)) == _key()
    assert _key(replace(BASE, checks=("build",))) == _key()


def test_key_changes_with_each_component():
    variants = [
        _key(replace(BASE, model_type="roberta")),
        _key(replace(BASE, model_class="BertForMaskedLM")),
        _key(check="build"),
        _key(tf="5.25.0"),
        _key(torch="2.14.0"),
        _key(replace(BASE, device="cuda")),
        _key(replace(BASE, dtype="bfloat16")),
        _key(replace(BASE, override_hash="abc")),
        _key(replace(BASE, source="checkpoint", checkpoint="x@1")),
        _key(fn="tests.harness.jobfns:behaving"),
    ]
    assert len(set(variants)) == len(variants) and _key() not in variants


def test_harness_version_is_part_of_the_key(monkeypatch):
    import hfscan.harness.keys as keys

    before = _key()
    monkeypatch.setattr(keys, "HARNESS_VERSION", keys.HARNESS_VERSION + "-next")
    assert _key() != before
