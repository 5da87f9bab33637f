"""End-to-end: the real `hfscan hub sync` against a real HTTP server, then every command offline."""

import json
import os
import subprocess
import sys

import pytest

from tests.scanner.hub_server import FakeHub, populate, start

pytestmark = pytest.mark.slow

TOKEN = "hf_secretTOKENvalue123"


@pytest.fixture
def home(tmp_path, _hfscan_home, inventory):
    """A fresh HFSCAN_HOME (own store) sharing the session's discovery cache."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "cache").symlink_to(_hfscan_home / "cache")
    return home


@pytest.fixture
def hub(tmp_path):
    hub = FakeHub()
    populate(hub, tmp_path / "repos")
    start(hub)
    yield hub
    hub.stop()


def hfscan(home, *args, online_at=None):
    env = {**os.environ, "HFSCAN_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_TOKEN": TOKEN, "COLUMNS": "300", "HF_HOME": str(home / "hf")}
    if online_at:
        env.update(HF_ENDPOINT=online_at, HF_HUB_OFFLINE="0", TRANSFORMERS_OFFLINE="0")
    return subprocess.run([sys.executable, "-m", "hfscan.cli", *args], capture_output=True, text=True, env=env, timeout=300)


def test_sync_then_offline(home, hub):
    hub.fail(r"filter=llama", 429)
    hub.fail(r"filter=bert", 500)
    out = hfscan(home, "hub", "sync", "llama", "bert", "gpt2", "--backoff", "0.01", online_at=hub.url)
    assert out.returncode == 0, out.stderr
    assert "3 of 3 model types stored" in out.stdout and "fancy_remote" in out.stdout
    # HF_TOKEN was sent to the server, and is printed and stored nowhere
    assert any({k.lower(): v for k, v in h.items()}.get("authorization") == f"Bearer {TOKEN}" for _, _, h in hub.requests)
    assert TOKEN not in out.stdout + out.stderr
    hub.stop()
    db = b"".join(p.read_bytes() for p in home.glob("hfscan.sqlite*"))
    assert TOKEN.encode() not in db

    table = hfscan(home, "discover", "--search", "llama")
    assert table.returncode == 0, table.stderr
    assert "5,020,130" in table.stdout and "tiny-random-LlamaForCausalLM" in table.stdout
    assert "fancy_remote" not in table.stdout
    assert "remote-code architecture: fancy_remote" in hfscan(home, "discover", "--hub", "--search", "llama").stdout
    one = hfscan(home, "discover", "llama").stdout
    assert "hub: 5,020,130 downloads over 4 models; top meta/big-llama; tiny checkpoint hf-internal-testing/tiny-random-LlamaForCausalLM@" in one and "(fetched 20" in one
    gaps = hfscan(home, "gaps")
    assert "remote-code architecture (not in transformers): fancy_remote  777 downloads" in gaps.stdout
    data = json.loads(hfscan(home, "discover", "--hub", "--format", "json").stdout)
    assert data["hub"]["llama"]["tiny"][0]["sha"] == hub.repos["hf-internal-testing/tiny-random-LlamaForCausalLM"].sha
    assert data["hub"]["fancy_remote"]["remote_code"] is True


def test_sync_offline_and_lost_connection_are_one_line_errors(home, hub):
    out = hfscan(home, "hub", "sync", "bert")
    assert out.returncode != 0 and out.stderr.strip().count("\n") == 0 and "HF_HUB_OFFLINE" in out.stderr
    hub.drop_after(3)
    other = home / "other.sqlite"
    out = hfscan(home, "hub", "sync", "bert", "llama", "gpt2", "--backoff", "0.01", "--max-retries", "1", "--store", str(other), online_at=hub.url)
    assert out.returncode != 0 and "sync stopped" in out.stderr and "Traceback" not in out.stderr
    assert "1 of 3 model types stored" in out.stdout
    from hfscan.cache.store import Store

    with Store(other) as store:
        assert list(store.hub()) == ["bert"]


def test_run_source_checkpoint_downloads_then_runs_offline(home, tmp_path):
    """`run --source checkpoint`: the pinned tiny checkpoint with its real tokenizer, fetched once, then from the cache."""
    import shutil

    from transformers import BertConfig

    from hfscan.cache.store import Store
    from tests.scanner.hub_server import save_tiny
    from tests.test_cli_check import MINILM

    hub = start(FakeHub())
    folder = save_tiny(tmp_path / "tiny-bert", BertConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2))
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(MINILM / name, folder / name)
    repo = hub.add_folder("hf-internal-testing/tiny-random-BertModel", folder, downloads=10)
    try:
        assert hfscan(home, "hub", "sync", "bert", "gpt2", "--no-remote-code", online_at=hub.url).returncode == 0
        args = ("run", "bert", "gpt2", "--source", "checkpoint", "--checks", "build,forward", "--jobs", "1")
        online = hfscan(home, *args, "--download", online_at=hub.url)
        assert online.returncode == 0, online.stdout + online.stderr
    finally:
        hub.stop()
    offline = hfscan(home, *args, "--fresh")
    assert offline.returncode == 0, offline.stdout + offline.stderr
    with Store(home / "hfscan.sqlite") as store:
        for run in store.runs()[-2:]:
            results = {(r.model_type, r.check): r for r in store.results(run.id)}
            for check in ("build", "forward"):
                r = results[("bert", check)]
                assert (r.status, r.source) == ("passed", "checkpoint"), r
            assert results[("gpt2", "build")].status == "skipped" and "no tiny checkpoint" in results[("gpt2", "build")].message
        assert f"hf-internal-testing/tiny-random-BertModel@{repo.sha}" in results[("bert", "forward")].details
