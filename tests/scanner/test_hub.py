"""The Hub client and `hub sync` against a real HTTP server on 127.0.0.1."""

import pytest

from hfscan.cache.store import Store
from hfscan.hubsync import load_thresholds, stored_hub, sync, tiers_from_hub
from hfscan.scanner.hub import HubClient, HubLimits, HubUnreachableError
from tests.scanner.hub_server import FakeHub, populate, start


@pytest.fixture(scope="module")
def repos_root(tmp_path_factory):
    return tmp_path_factory.mktemp("hub-repos")


@pytest.fixture
def hub(repos_root):
    hub = FakeHub()
    populate(hub, repos_root)
    start(hub)
    yield hub
    hub.stop()


@pytest.fixture
def online(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


def client(hub, **kw):
    return HubClient(endpoint=hub.url, token=False, max_retries=3, backoff_s=0.01, limits=HubLimits(page_size=2, **kw))


def test_type_info_counts_top_and_tiny(hub, online):
    c = client(hub)
    tiny_tests = c.tiny_test_repos()
    assert [cp.repo_id for cp in tiny_tests["llama"]] == ["hf-internal-testing/tiny-random-LlamaForCausalLM"]
    info = c.type_info("llama", tiny_tests)
    assert info.model_count == 4 and not info.count_capped
    assert info.downloads == 5_000_000 + 20_000 + 30 + 100
    assert info.top[0].repo_id == "meta/big-llama"
    # the well-known tiny test repo first, then the smallest by parameter count, each pinned
    assert [cp.repo_id for cp in info.tiny[:2]] == ["hf-internal-testing/tiny-random-LlamaForCausalLM", "acme/small-llama"]
    assert info.tiny[1].params < info.tiny[0].params
    for cp in info.tiny:
        assert cp.sha == hub.repos[cp.repo_id].sha and len(cp.sha) == 40
    assert any("num_parameters=max%3A20M" in path for _, path, _ in hub.requests)  # the Hub's own size syntax


def test_listing_limit_caps_counts(hub, online):
    info = client(hub, max_models=2).type_info("llama")
    assert info.model_count == 2 and info.count_capped


def test_remote_code_types(hub, online):
    found = client(hub).remote_code_types({"llama", "bert"})
    assert [(t.model_type, t.downloads, t.remote_code) for t in found] == [("fancy_remote", 777, True)]
    assert "AutoModel" in found[0].auto_map


def test_sync_fills_store_and_tiers_follow_downloads(hub, online, tmp_path):
    store = Store(tmp_path / "s.sqlite")
    report = sync(store, ["llama", "bert", "gpt2"], client(hub), known_types=["llama", "bert", "gpt2"])
    assert report.ok and report.fetched == ("llama", "bert", "gpt2") and report.remote_code == ("fancy_remote",)
    hub.stop()  # everything below reads the store only
    stored = stored_hub(store)
    assert stored["llama"].tiny_checkpoint.repo_id == "hf-internal-testing/tiny-random-LlamaForCausalLM"
    assert stored["gpt2"].model_count == 0
    assert stored["fancy_remote"].remote_code
    assert stored["llama"].fetched_at and stored["llama"].fetched_at.startswith("20")
    tiers = tiers_from_hub(store.hub(), load_thresholds())
    assert tiers == {"llama": "high", "bert": "medium", "gpt2": "low"}
    assert tiers_from_hub(store.hub(), {"high": 10**9, "medium": 40_000}) == {"llama": "medium", "bert": "medium", "gpt2": "low"}


def test_429_and_500_are_retried(hub, online, tmp_path):
    hub.fail(r"filter=llama", 429)
    hub.fail(r"filter=bert", 500, times=2)
    store = Store(tmp_path / "s.sqlite")
    report = sync(store, ["llama", "bert"], client(hub), remote_code=False)
    assert report.ok and set(store.hub()) == {"llama", "bert"}
    statuses = [p for m, p, _ in hub.requests if "filter=bert" in p]
    assert len(statuses) >= 3  # two failures, then the answer


def test_persistent_http_error_is_reported_and_sync_goes_on(hub, online, tmp_path):
    hub.fail(r"filter=llama", 503, times=100)
    store = Store(tmp_path / "s.sqlite")
    report = sync(store, ["llama", "bert"], client(hub), remote_code=False)
    assert [mt for mt, _ in report.failed] == ["llama"] and "HTTP 503" in report.failed[0][1]
    assert set(store.hub()) == {"bert"}


def test_dropped_connection_keeps_what_was_fetched(hub, online, tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.put_hub("t5", {"model_type": "t5", "model_count": 3, "downloads": 9})  # from an earlier sync
    hub.drop_after(6)  # tiny-test listing (1 page), llama (2 listings, 3 pages), bert (2 listings) ...
    report = sync(store, ["bert", "llama", "gpt2", "vit"], client(hub))
    assert report.stopped and "RemoteProtocolError" in report.stopped
    assert report.fetched and report.not_reached
    assert set(report.fetched) | set(report.not_reached) == {"bert", "llama", "gpt2", "vit"}
    assert set(store.hub()) == {"t5", *report.fetched}


def test_offline_mode_refuses_to_sync(hub, tmp_path):
    with pytest.raises(HubUnreachableError, match="HF_HUB_OFFLINE"):
        sync(Store(tmp_path / "s.sqlite"), ["bert"], client(hub))


def test_usage_tiers_feed_the_sweep_selection(hub, online, tmp_path, inventory):
    from hfscan.harness.selection import select
    from hfscan.hubsync import usage_tiers

    path = tmp_path / "s.sqlite"
    assert usage_tiers(path) is None  # nothing stored: the shipped tiers apply
    Store(path).close()
    assert usage_tiers(path) is None
    with Store(path) as store:
        sync(store, ["llama", "bert", "gpt2"], client(hub))
    tiers = usage_tiers(path)
    assert tiers == {"high": ("llama",), "medium": ("bert",)}
    assert select(inventory, priority="high", tiers=tiers).model_types == ("llama",)
    assert "gpt2" in select(inventory, priority="low", tiers=tiers).model_types


def test_server_answers_huggingface_hubs_own_client(hub, online, tmp_path):
    """The fake Hub speaks the routes and shapes HfApi itself reads: listing (paged), model info, file resolve."""
    from huggingface_hub import HfApi, hf_hub_download

    api = HfApi(endpoint=hub.url, token=False)
    listed = list(api.list_models(filter="llama", sort="downloads", expand=["downloads", "sha", "safetensors"]))
    assert [m.id for m in listed][:2] == ["meta/big-llama", "acme/mid-llama"] and len(listed) == 4  # 2 pages of 2
    assert listed[0].safetensors.total > listed[1].safetensors.total
    info = api.model_info("acme/small-llama")
    assert info.sha == hub.repos["acme/small-llama"].sha and "config.json" in [s.rfilename for s in info.siblings]
    path = hf_hub_download("acme/small-llama", "config.json", revision=info.sha, endpoint=hub.url, cache_dir=tmp_path)
    assert '"llama"' in open(path).read()
