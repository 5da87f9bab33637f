"""`hub sync` against a hostile or broken Hub (a real server on 127.0.0.1): no hang, no traceback, no leaked token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hfscan.cache.store import Store
from hfscan.hubsync import sync
from hfscan.scanner.hub import HubClient, HubLimits
from tests.scanner.hub_server import FakeHub, populate, start

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hf_secretTOKENvalue456"


@pytest.fixture(scope="module")
def repos_root(tmp_path_factory):
    return tmp_path_factory.mktemp("hub-repos")


@pytest.fixture
def hubs(repos_root):
    started = []

    def make() -> FakeHub:
        hub = FakeHub()
        populate(hub, repos_root)
        started.append(start(hub))
        return hub

    yield make
    for hub in started:
        hub.stop()


@pytest.fixture
def online(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


def _client(hub: FakeHub, token=False, **kw) -> HubClient:
    return HubClient(endpoint=hub.url, token=token, max_retries=kw.pop("max_retries", 1), backoff_s=0.01,
                     limits=HubLimits(page_size=2), **kw)


def _sync_bounded(path: Path, client: HubClient, types: list[str], limit_s: float = 60.0):
    """sync() into the store at ``path`` in a thread: a hang fails the test instead of hanging the suite."""
    out: dict = {}
    t0 = time.monotonic()

    def target() -> None:
        with Store(path) as store:
            out["report"] = sync(store, types, client, remote_code=False)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit_s)
    assert not thread.is_alive(), f"hub sync still hangs after {limit_s} s"
    return out["report"], time.monotonic() - t0


@pytest.mark.parametrize("how", ["silent", "trickle"])
def test_a_server_that_never_answers_or_trickles_cannot_hang_the_sync(hubs, online, tmp_path, how):
    hub = hubs()
    hub.trickle_s = 0.2  # the whole answer would take ~20 s; each byte comes well within the read timeout
    hub.stall(how)
    store = Store(tmp_path / "s.sqlite")
    report, took = _sync_bounded(store.path, _client(hub, connect_timeout_s=1.0, read_timeout_s=1.0), ["llama", "bert"])
    expected = {"silent": "timed out: no answer within 1 s (ReadTimeout) after 1 retries",
                "trickle": "timed out: no complete answer within 2 s after 1 retries"}[how]
    assert report.stopped and expected in report.stopped, report
    assert set(report.not_reached) == {"llama", "bert"} and store.hub() == {}
    assert took < 30  # two attempts of 2 s each, plus the backoff
    tries = [p for _, p, _ in hub.requests if p.startswith("/api/models")]
    assert len(tries) == 2  # retried like a 5xx


def test_timeouts_are_cli_flags_and_a_silent_hub_is_one_error_line(hubs, tmp_path):
    hub = hubs()
    hub.stall("silent")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_TOKEN": TOKEN,
           "HF_HOME": str(tmp_path / "hf")}
    cmd = [sys.executable, "-m", "hfscan.cli", "hub", "sync", "bert", "--store", str(tmp_path / "s.sqlite"),
           "--connect-timeout", "1", "--read-timeout", "1", "--max-retries", "0"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "timed out: no answer within 1 s" in done.stderr
    bad = subprocess.run(cmd[:-4] + ["--read-timeout", "nan"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "read-timeout" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("body, error", [
    ({"models": []}, "expected a list of models, got dict"),
    ([{"downloads": 3}], "expected an object with a string id"),
    (["meta/big-llama"], "expected an object with a string id, got str"),
    ([{"id": "a/b", "config": ["model_type"]}], "config is list"),
    ([{"id": "a/b", "config": {"model_type": ["llama"]}}], "config.model_type is list"),
    ([{"id": "a/b", "downloads": "many"}], "unexpected shape"),
])
def test_json_of_the_wrong_shape_is_one_error_per_type_and_the_sync_goes_on(hubs, online, tmp_path, body, error):
    hub = hubs()
    hub.answer(r"filter=llama", body)
    store = Store(tmp_path / "s.sqlite")
    report, _ = _sync_bounded(store.path, _client(hub), ["llama", "bert"])
    assert [mt for mt, _ in report.failed] == ["llama"] and error in report.failed[0][1], report.failed
    assert "\n" not in report.failed[0][1] and set(store.hub()) == {"bert"}


def test_wrong_shape_from_the_cli_has_no_traceback(hubs, tmp_path):
    hub = hubs()
    hub.answer(r"/api/models", {"error": "not a list"})
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run([sys.executable, "-m", "hfscan.cli", "hub", "sync", "bert", "--store", str(tmp_path / "s.sqlite")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "expected a list of models" in done.stdout


def test_the_token_goes_to_the_endpoints_own_host_only(hubs, online, tmp_path):
    endpoint, elsewhere = hubs(), hubs()
    endpoint.next_base = elsewhere.url  # page 2 of every listing is on another host
    store = Store(tmp_path / "s.sqlite")
    report, _ = _sync_bounded(store.path, _client(endpoint, token=TOKEN), ["llama"])
    assert report.ok and store.hub()["llama"]

    def auth(hub):
        return [{k.lower(): v for k, v in h.items()}.get("authorization") for _, _, h in hub.requests]

    assert auth(endpoint) and set(auth(endpoint)) == {f"Bearer {TOKEN}"}
    assert auth(elsewhere) and set(auth(elsewhere)) == {None}  # followed, without the token
    assert TOKEN not in json.dumps(store.hub())
