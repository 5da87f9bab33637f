"""The incremental key changes with everything that can change a result, and only with that."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

import hfscan
from hfscan.harness import keys
from hfscan.harness.keys import code_digest, result_key, verdict_files
from hfscan.harness.runner import Runner, RunnerOptions
from hfscan.records import CheckResult, Job, Status

BASE = Job("bert", "BertModel", "base", device="cpu", dtype="float32")
ROOT = Path(hfscan.__file__).resolve().parent


def _key(job=BASE, check="forward", tf="5.24.0", torch="2.13.0", fn="hfscan.harness.smoke:run_job", digest=None):
    return result_key(job, check, tf, torch, fn, digest)


def test_key_is_stable_and_ignores_what_cannot_change_a_result():
    assert _key() == _key()
    assert _key(replace(BASE, timeout_s=5)) == _key()
    assert _key(replace(BASE, checks=("build",))) == _key()
    assert _key(replace(BASE, family="x")) == _key()


def test_key_changes_with_each_component():
    variants = [
        _key(replace(BASE, model_type="roberta")),
        _key(replace(BASE, model_class="BertForMaskedLM")),
        _key(replace(BASE, task="masked-lm")),
        _key(replace(BASE, template="causal-lm")),
        _key(check="build"),
        _key(tf="5.25.0"),
        _key(torch="2.14.0"),
        _key(replace(BASE, device="cuda")),
        _key(replace(BASE, dtype="bfloat16")),
        _key(replace(BASE, override_hash="abc")),
        _key(replace(BASE, source="checkpoint", checkpoint="x@1")),
        _key(fn="tests.harness.jobfns:behaving"),
        _key(digest="another tree"),
    ]
    assert len(set(variants)) == len(variants) and _key() not in variants


def test_hfscan_version_is_part_of_the_key_and_the_digest(monkeypatch):
    before, digest = _key(), code_digest()
    monkeypatch.setattr(keys, "__version__", "999")
    code_digest.cache_clear()
    try:
        assert code_digest() != digest and _key() != before
    finally:
        monkeypatch.undo()
        code_digest.cache_clear()


def test_the_digest_covers_the_harness_its_data_and_no_more():
    names = {p.relative_to(ROOT).as_posix() for p in verdict_files()}
    assert {"harness/smoke.py", "harness/keys.py", "records.py", "data/shrink_rules.toml", "data/templates.toml"} <= names
    assert not names & {"data/overrides.toml", "data/priorities.toml", "cli.py", "reports/report.py"}


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A copy of the package's harness, records and data: the tree a digest is computed over."""
    root = tmp_path_factory.mktemp("tree") / "hfscan"
    shutil.copytree(ROOT / "harness", root / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "data", root / "data")
    shutil.copy(ROOT / "records.py", root / "records.py")
    return root


def test_an_unchanged_tree_has_the_same_digest(tree):
    assert code_digest(root=tree) == code_digest(root=ROOT)
    (tree / "cli.py").write_text("# not a verdict file\n")
    (tree / "data" / "priorities.toml").write_text("[tiers]\nhigh = []\n")
    assert code_digest.__wrapped__(root=tree) == code_digest(root=ROOT)


@pytest.mark.parametrize("path, edit", [
    ("data/shrink_rules.toml", lambda text: text + "\n# one rule more\n"),
    ("harness/checks.py", lambda text: text.replace("atol: float = 1e-5", "atol: float = 1e-3")),
    ("harness/new_module.py", lambda text: "X = 1\n"),
])
def test_a_changed_rule_or_module_changes_the_digest(tmp_path, tree, path, edit):
    copy = tmp_path / "hfscan"
    shutil.copytree(tree, copy)
    target = copy / path
    target.write_text(edit(target.read_text() if target.exists() else ""))
    assert code_digest.__wrapped__(root=copy) != code_digest(root=ROOT)


def _runner(digest: str, **kw) -> Runner:
    runner = Runner(RunnerOptions(jobs=1, job_fn="tests.harness.jobfns:behaving", preload=("torch",), **kw))
    runner.digest = digest
    return runner


def test_a_changed_shrink_rule_reruns_the_jobs_and_an_unchanged_tree_reuses_them(tmp_path, tree):
    jobs = [Job(mt, "ok", "base", checks=("build", "forward")) for mt in ("a", "b")]
    first = _runner(code_digest.__wrapped__(root=tree)).run(jobs)
    stored = {r.key: r for r in first.results}
    lookup = lambda ks: {k: stored[k] for k in ks if k in stored}  # noqa: E731
    same = _runner(code_digest.__wrapped__(root=tree)).run(jobs, lookup=lookup)
    assert same.reused_jobs == 2 and same.ran_jobs == 0 and same.workers_started == 0
    copy = tmp_path / "hfscan"
    shutil.copytree(tree, copy)
    rules = copy / "data" / "shrink_rules.toml"
    rules.write_text(rules.read_text().replace("= 2", "= 3", 1))
    changed = _runner(code_digest.__wrapped__(root=copy)).run(jobs, lookup=lookup)
    assert changed.reused_jobs == 0 and changed.ran_jobs == 2
    assert {r.status for r in changed.results} == {Status.PASSED} and not any(r.reused for r in changed.results)


@pytest.mark.parametrize("status", [Status.CRASHED, Status.TIMEOUT, Status.OOM, Status.INTERRUPTED])
def test_a_stored_crash_timeout_oom_or_interruption_is_retried_unless_asked(status):
    retry, keep = _runner("d"), _runner("d", reuse_failures=True)
    bad = CheckResult("a", "build", status)
    for runner in (retry, keep):
        assert runner.reusable(CheckResult("a", "build", Status.PASSED))
        assert runner.reusable(CheckResult("a", "build", Status.FAILED))
    assert not retry.reusable(bad)
    assert keep.reusable(bad) is (status is not Status.INTERRUPTED)


def test_compile_backend_and_export_strict_are_in_the_keys_of_the_checks_that_read_them():
    aot, inductor = replace(BASE, compile_backend="aot_eager"), replace(BASE, compile_backend="inductor")
    assert _key(aot, "compile") != _key(inductor, "compile")
    assert _key(replace(BASE, export_strict=True), "export") != _key(BASE, "export")
    assert _key(replace(BASE, export_strict=True), "onnx") != _key(BASE, "onnx")
    # a check that reads neither keeps its key: a smoke result is reused whatever the backend
    assert _key(aot, "forward") == _key(inductor, "forward") == _key(replace(BASE, export_strict=True), "forward")
    assert _key(aot, "export") == _key(inductor, "export")


def test_a_result_stored_with_another_compile_backend_is_never_reused(tree):
    digest = code_digest.__wrapped__(root=tree)
    job = Job("a", "ok", "base", checks=("compile",), compile_backend="aot_eager")
    first = _runner(digest).run([job])
    stored = {r.key: r for r in first.results}
    lookup = lambda ks: {k: stored[k] for k in ks if k in stored}  # noqa: E731
    assert _runner(digest).run([job], lookup=lookup).reused_jobs == 1
    other = _runner(digest).run([replace(job, compile_backend="inductor")], lookup=lookup)
    assert other.reused_jobs == 0 and other.ran_jobs == 1
