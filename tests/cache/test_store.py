import multiprocessing as mp
import sqlite3

import pytest

from hfscan.cache.store import Store
from hfscan.errors import StoreError
from hfscan.harness.records import CheckResult, RunInfo, Status


def _run_info(**kw):
    base = dict(id=None, started_at="2026-11-20T10:00:00+00:00", hfscan_version="0.1.0", python_version="3.11",
                torch_version="2.13.0", transformers_version="5.24.0")
    base.update(kw)
    return RunInfo(**base)


def test_round_trip(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        run = store.begin_run(_run_info())
        r = CheckResult(model_type="bert", check="forward", status=Status.PASSED, model_class="BertModel",
                        key="k1", param_count=1234, details='{"a": 1}')
        store.add_result(run.id, r)
        store.finish_run(run.id)
        assert store.results(run.id) == [r]
        assert store.lookup("k1") == r
        assert store.lookup("nope") is None
        assert store.runs()[0].status == "finished"
        assert store.latest_run().id == run.id


def test_interrupted_results_are_never_reused(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        run = store.begin_run(_run_info())
        store.add_result(run.id, CheckResult(model_type="x", check="build", status=Status.INTERRUPTED, key="k"))
        assert store.lookup("k") is None
        assert store.lookup_many(["k"]) == {}


def test_corrupt_store_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.sqlite"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a usable hfscan store"):
        Store(path)
    assert path.read_bytes().startswith(b"this is not sqlite")  # nothing overwritten


def _writer(path, n, tag):
    with Store(path) as store:
        run = store.begin_run(_run_info(label=tag))
        for i in range(n):
            store.add_result(run.id, CheckResult(model_type=f"{tag}{i}", check="build", status=Status.PASSED, key=f"{tag}{i}"))


def test_two_writers_do_not_corrupt(tmp_path):
    path = tmp_path / "s.sqlite"
    Store(path).close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, 50, tag)) for tag in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Store(path) as store:
        assert sum(len(store.results(r.id)) for r in store.runs()) == 100
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_hub_metadata(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.put_hub("bert", {"downloads": 5}, fetched_at="2026-11-01T00:00:00+00:00")
        store.put_hub("bert", {"downloads": 7})
        assert store.hub()["bert"]["downloads"] == 7
