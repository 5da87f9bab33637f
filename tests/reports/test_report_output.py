"""`report --output` never changes what the path is: devices, symlinks and FIFOs stay what they were; the umask holds."""

from __future__ import annotations

import os
import stat
import threading

import pytest
from click.testing import CliRunner

from hfscan.cli import cli
from tests.reports.report_store import build_history_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_history_store(tmp_path_factory.mktemp("out") / "store.sqlite")[0]


def _report(store, output) -> object:
    return CliRunner().invoke(cli, ["report", "--store", str(store), "--format", "json", "-o", str(output)])


def test_a_device_stays_a_device(store, tmp_path):
    # a null device of the test's own (never the machine's /dev/null: the defect would replace it)
    null = tmp_path / "null"
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    res = _report(store, null)
    assert res.exit_code == 0, res.output
    assert stat.S_ISCHR(os.lstat(null).st_mode) and sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_a_symlink_stays_a_link_and_its_target_gets_the_report(store, tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    res = _report(store, link)
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("{") and sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]


def test_a_fifo_is_written_not_replaced(store, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    res = _report(store, fifo)
    reader.join(timeout=30)
    assert res.exit_code == 0, res.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and got and got[0].startswith(b"{")


def test_a_link_to_standard_output_writes_to_it(store, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")  # what `-o /dev/stdout` is, without risking the machine's /dev/stdout
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "hfscan.cli", "report", "--store", str(store), "--format", "json", "-o", str(link)],
                          cwd=root, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("{") and link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["stdout"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_report_file_honours_the_umask(store, tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        res = _report(store, tmp_path / "new.json")
    finally:
        os.umask(old)
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == mode


def test_an_existing_file_keeps_its_mode(store, tmp_path):
    out = tmp_path / "kept.json"
    out.write_text("old")
    out.chmod(0o640)
    assert _report(store, out).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640 and out.read_text().startswith("{")


def test_a_directory_is_one_line_exit_2(store, tmp_path):
    res = _report(store, tmp_path)
    assert res.exit_code == 2 and "cannot write" in res.output and len(res.output.strip().splitlines()) == 1
