"""`hfscan merge`: shard runs combined into one run; mismatches, conflicts and missing shards are one line each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hfscan.cache.merge import merge_stores
from hfscan.cache.store import Store
from hfscan.cli import cli
from hfscan.errors import MergeError
from hfscan.harness.records import CheckResult, RunInfo, Status, coverage_by_model_type

SPLIT = [["bert", "gpt2"], ["llama"], ["t5", "opt"]]
FAMILIES = {"bert": "text-encoder", "gpt2": "dense-decoder", "llama": "dense-decoder", "t5": "seq2seq", "opt": "dense-decoder"}
CHECKS = ["build", "forward"]


def _results(types, status=Status.PASSED) -> list[CheckResult]:
    return [CheckResult(mt, c, status, model_class=f"{mt}Model", family=FAMILIES[mt], duration_s=1.0, key=f"{mt}-{c}")
            for mt in types for c in CHECKS]


def shard_store(path: Path, index: int, results=None, status="finished", split=SPLIT, **run) -> Path:
    """A store holding one earlier unsharded run and then the shard run ``index`` of ``split``."""
    args = {"checks": CHECKS, "tasks": "default", "source": "config", "shard": [index, len(split)],
            "split": {"digest": json.dumps(split)[:16], "shards": split, "families": FAMILIES}}
    info = dict(id=None, started_at=f"2026-01-0{index}T00:00:00+00:00", hfscan_version="0.1.0", python_version="3.11",
                torch_version="2.13.0", transformers_version="5.24.0", device="cpu", dtype="float32",
                args=json.dumps(args), status=status, finished_at="2026-01-09T00:00:00+00:00")
    info.update(run)
    with Store(path) as store:
        store.add_run(RunInfo(**{**info, "args": "{}", "started_at": "2025-12-01T00:00:00+00:00"}), _results(["bert"], Status.FAILED))
        store.add_run(RunInfo(**info), _results(split[index - 1]) if results is None else results)
    return path


@pytest.fixture
def shards(tmp_path) -> list[Path]:
    return [shard_store(tmp_path / f"s{i}.sqlite", i) for i in (1, 2, 3)]


def _statuses(store_path: Path, run_id: int) -> dict[tuple[str, str], Status]:
    with Store(store_path) as store:
        return {(r.model_type, r.check): r.status for r in store.results(run_id)}


def test_merged_run_holds_every_shards_results_and_names_the_shard_runs(shards, tmp_path):
    into = tmp_path / "merged.sqlite"
    out = merge_stores([str(p) for p in shards], str(into))
    assert not out.already and out.not_run == ()
    assert _statuses(into, out.run.id) == {(mt, c): Status.PASSED for s in SPLIT for mt in s for c in CHECKS}
    args = json.loads(out.run.args)
    assert [(m["store"], m["run_id"], m["shard"]) for m in args["merged_from"]] == [(str(p), 2, f"{i}/3") for i, p in enumerate(shards, 1)]
    assert out.run.status == "finished" and out.run.label == "merged 3/3 shards" and args["shard"] is None


def test_merging_again_or_a_shard_twice_changes_nothing(shards, tmp_path):
    into = tmp_path / "merged.sqlite"
    first = merge_stores([str(p) for p in shards], str(into))
    again = merge_stores([str(p) for p in (*shards, shards[0])], str(into))
    assert again.already and again.run.id == first.run.id
    with Store(into) as store:
        assert len(store.runs()) == 1 and len(store.results(first.run.id)) == 10


def test_a_missing_shard_leaves_its_types_not_run_and_listed(shards, tmp_path):
    into = tmp_path / "merged.sqlite"
    out = merge_stores([str(shards[0]), str(shards[2])], str(into))
    assert out.not_run == (("shard 2/3 missing", ("llama",)),)
    with Store(into) as store:
        results = store.results(out.run.id)
    assert str(coverage_by_model_type(results)["llama"]) == "not run"
    assert {r.family for r in results if r.model_type == "llama"} == {"dense-decoder"}
    assert out.run.status == "interrupted"


def test_an_interrupted_shard_keeps_what_finished(tmp_path):
    partial = [*_results(["t5"]), *_results(["opt"], Status.INTERRUPTED)]
    stores = [shard_store(tmp_path / "s1.sqlite", 1), shard_store(tmp_path / "s2.sqlite", 2),
              shard_store(tmp_path / "s3.sqlite", 3, results=partial, status="interrupted")]
    out = merge_stores([str(p) for p in stores], str(tmp_path / "m.sqlite"))
    ((why, types),) = out.not_run
    assert why.startswith("shard 3/3 did not finish (interrupted") and types == ("opt",)
    # the same shard resumed elsewhere fills the gap: a finished result wins over an interrupted one
    resumed = shard_store(tmp_path / "s3b.sqlite", 3)
    out = merge_stores([str(p) for p in (*stores, resumed)], str(tmp_path / "m.sqlite"))
    assert out.not_run == () and set(_statuses(tmp_path / "m.sqlite", out.run.id).values()) == {Status.PASSED}


def test_a_killed_shard_with_types_never_started_lists_them(tmp_path):
    stores = [shard_store(tmp_path / "s1.sqlite", 1), shard_store(tmp_path / "s2.sqlite", 2),
              shard_store(tmp_path / "s3.sqlite", 3, results=_results(["t5"]), status="running", finished_at=None)]
    out = merge_stores([str(p) for p in stores], str(tmp_path / "m.sqlite"))
    assert [t for _, t in out.not_run] == [("opt",)]
    assert _statuses(tmp_path / "m.sqlite", out.run.id)[("opt", "forward")] is Status.INTERRUPTED


@pytest.mark.parametrize("change, message", [
    ({"transformers_version": "4.50.3"}, "shards differ in transformers version: .*s1.sqlite .* has 5.24.0, .*s2.sqlite .* has 4.50.3"),
    ({"torch_version": "2.11.0"}, "shards differ in torch version"),
    ({"device": "cuda"}, "shards differ in device"),
    ({"dtype": "bfloat16"}, "shards differ in dtype"),
])
def test_a_different_stack_is_refused(tmp_path, change, message):
    stores = [shard_store(tmp_path / "s1.sqlite", 1), shard_store(tmp_path / "s2.sqlite", 2, **change)]
    with pytest.raises(MergeError, match=message):
        merge_stores([str(p) for p in stores], str(tmp_path / "m.sqlite"))
    assert not (tmp_path / "m.sqlite").exists()


def test_a_different_split_is_refused(tmp_path):
    stores = [shard_store(tmp_path / "s1.sqlite", 1), shard_store(tmp_path / "s2.sqlite", 2, split=[["bert"], ["gpt2", "llama", "t5", "opt"]])]
    with pytest.raises(MergeError, match="shards come from different splits"):
        merge_stores([str(p) for p in stores], str(tmp_path / "m.sqlite"))


def test_conflicting_results_are_refused(tmp_path):
    failed = [r.with_(status=Status.FAILED, stage="forward", error_type="RuntimeError") if r.check == "forward" else r
              for r in _results(["llama"])]
    stores = [shard_store(tmp_path / "a.sqlite", 2), shard_store(tmp_path / "b.sqlite", 2, results=failed)]
    with pytest.raises(MergeError, match=r"conflicting results for llama forward: passed in .*a.sqlite.*, failed in .*b.sqlite"):
        merge_stores([str(p) for p in stores], str(tmp_path / "m.sqlite"))


def test_stores_without_a_shard_run(tmp_path):
    with Store(tmp_path / "plain.sqlite") as store:
        store.add_run(RunInfo(None, "2026-01-01T00:00:00", "0.1.0", "3.11", "2.13.0", "5.24.0"), _results(["bert"]))
    with pytest.raises(MergeError, match=r"no shard run \(`hfscan run --shard K/N`\) in .*plain.sqlite"):
        merge_stores([str(tmp_path / "plain.sqlite")], str(tmp_path / "m.sqlite"))
    shard = shard_store(tmp_path / "s1.sqlite", 1)  # beside a shard run, a store that holds none is passed over
    out = merge_stores([str(tmp_path / "plain.sqlite"), str(shard)], str(tmp_path / "m.sqlite"))
    assert out.skipped == (str(tmp_path / "plain.sqlite"),) and [s.index for s in out.shards] == [1]
    with pytest.raises(MergeError, match="nope.sqlite: no such store"):
        merge_stores([str(tmp_path / "nope.sqlite")], str(tmp_path / "m.sqlite"))
    assert not (tmp_path / "nope.sqlite").exists()


def _cli(*args: str):
    return CliRunner().invoke(cli, ["merge", *args])


def test_the_cli_says_each_problem_in_one_line(shards, tmp_path):
    into = str(tmp_path / "m.sqlite")
    ok = _cli(*map(str, shards), "--into", into)
    assert ok.exit_code == 0 and "as run 1" in ok.stdout
    missing = _cli(str(shards[0]), str(shards[2]), "--into", str(tmp_path / "m2.sqlite"))
    assert missing.exit_code == 1
    assert missing.stderr.splitlines() == ["hfscan: error: shard 2/3 missing: 1 model type not run: llama"]
    other = shard_store(tmp_path / "x.sqlite", 2, dtype="float16")
    bad = _cli(str(shards[0]), str(other), "--into", into)
    assert bad.exit_code == 2 and len(bad.stderr.splitlines()) == 1 and "shards differ in dtype" in bad.stderr
    assert "Traceback" not in bad.output
    failed = [r.with_(status=Status.FAILED, stage="build", error_type="ValueError") for r in _results(["llama"])]
    conflict = _cli(str(shards[1]), str(shard_store(tmp_path / "y.sqlite", 2, results=failed)), "--into", into)
    assert conflict.exit_code == 2 and conflict.stderr.startswith("hfscan: error: conflicting results for llama build: passed in ")
    assert len(conflict.stderr.splitlines()) == 1


def test_the_split_is_balanced_by_the_latest_run_that_is_no_shard_run(tmp_path):
    from hfscan.sharding import balance_run, split_for

    path = shard_store(tmp_path / "s.sqlite", 2)  # an unsharded run, then shard 2/3
    with Store(path) as store:
        assert balance_run(store).id == 1
        before = split_for(store, ("bert", "gpt2", "llama"), FAMILIES, 2)
        store.add_run(RunInfo(**{**store.run(2).__dict__, "id": None}), _results(["gpt2"], Status.INTERRUPTED))
        assert split_for(store, ("bert", "gpt2", "llama"), FAMILIES, 2) == before  # a resumed shard splits alike
    assert before.estimated == {"gpt2", "llama"}  # only bert ran in run 1: the others cost its family's median


def test_the_override_entries_the_results_name_come_along(tmp_path):
    overridden = [r.with_(override_hash="h1") for r in _results(["llama"])]
    stores = [shard_store(tmp_path / "s1.sqlite", 1), shard_store(tmp_path / "s2.sqlite", 2, results=overridden),
              shard_store(tmp_path / "s3.sqlite", 3)]
    with Store(stores[1]) as store:
        store.put_overrides([("h1", "llama", "a checkpoint value", "my.toml", "{}"), ("h2", "t5", "unused", "my.toml", "{}")])
    merge_stores([str(p) for p in stores], str(tmp_path / "m.sqlite"))
    with Store(tmp_path / "m.sqlite") as store:
        assert store.overrides() == {"h1": {"model_type": "llama", "reason": "a checkpoint value", "source": "my.toml", "body": "{}"}}
