"""`hfscan check` runs in an isolated worker, as `run` does: a timeout, a memory cap, usage errors still one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def hfscan(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "hfscan.cli", "check", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def _config(tmp_path: Path, **values) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(values))
    return str(path)


def test_a_config_too_big_to_read_is_killed_at_the_timeout(tmp_path):
    done = hfscan(_config(tmp_path, model_type="llama", num_hidden_layers=10**7), "--timeout", "3")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "config" in done.stdout and "timeout" in done.stdout and "timeout of 3 s" in done.stdout, done.stdout


def test_a_config_too_big_for_the_memory_cap_is_oom(tmp_path):
    done = hfscan(_config(tmp_path, model_type="llama", num_hidden_layers=10**7), "--mem-cap", "100", "--timeout", "120")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "oom" in done.stdout and "cap of 100 MB" in done.stdout, done.stdout


def test_usage_errors_from_the_worker_are_one_line_and_exit_2(tmp_path):
    done = hfscan(_config(tmp_path, model_type="llamma"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "unknown model type 'llamma'" in done.stderr
    bad = hfscan(_config(tmp_path, model_type="llama"), "--timeout", "nan")
    assert bad.returncode == 2 and "--timeout" in bad.stderr and "Traceback" not in bad.stderr


def test_a_small_config_still_passes(tmp_path):
    done = hfscan(_config(tmp_path, model_type="llama", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2, vocab_size=1000), "--checks", "build,forward")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "gqa_ratio = 2.0" in done.stdout and "hidden_size: 64 -> " in done.stdout
