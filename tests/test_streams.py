"""Standard output is hfscan's own: what transformers prints goes to stderr; machine-readable output parses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def test_prints_inside_the_block_reach_stderr_not_stdout():
    done = _python(
        "import os, json\n"
        "from hfscan.streams import stdout_to_stderr\n"
        "with stdout_to_stderr():\n"
        "    print('Config not found for parakeet')\n"
        "    os.write(1, b'native noise\\n')\n"
        "print(json.dumps({'ok': 1}))\n"
    )
    assert json.loads(done.stdout) == {"ok": 1}
    assert "Config not found for parakeet" in done.stderr and "native noise" in done.stderr


def test_without_the_block_the_noise_would_break_the_json():
    """The check above can fail: the same prints outside the block land in stdout."""
    done = _python("import os, json\nprint('Config not found for parakeet')\nprint(json.dumps({'ok': 1}))\n")
    try:
        json.loads(done.stdout)
    except ValueError:
        pass
    else:
        raise AssertionError("noise on stdout should not parse as JSON")


def test_cold_discover_explain_and_gaps_json_parse(tmp_path):
    """A fresh HFSCAN_HOME (discovery and classification run now, transformers' logging at its most verbose)."""
    for args in (["discover", "--format", "json"], ["explain", "bert", "--format", "json"], ["gaps", "--format", "json"]):
        done = subprocess.run([sys.executable, "-m", "hfscan.cli", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT), "HFSCAN_HOME": str(tmp_path),
                                                "TRANSFORMERS_VERBOSITY": "info"})
        assert done.returncode in (0, 1), done.stderr[-2000:]
        assert isinstance(json.loads(done.stdout), dict), args
