"""The install hint of a "needs <package>" skip names an extra that really exists."""

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from hfscan.harness.smoke import _skip_message, templates

ROOT = Path(__file__).resolve().parents[2]


def test_every_extra_in_the_package_table_is_declared():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for package, extra in templates()["packages"].items():
        if extra:
            assert extra in extras, f"{package}: extra {extra!r} is not in pyproject.toml"


def test_a_package_no_extra_installs_gets_a_plain_pip_hint():
    assert _skip_message("timm") == "needs timm (pip install timm)"
    assert _skip_message("scipy") == "needs scipy (pip install 'hfscan[audio]')"
