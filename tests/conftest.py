import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@pytest.fixture(autouse=True, scope="session")
def _hfscan_home(tmp_path_factory):
    """Every test session gets its own HFSCAN_HOME, so no test touches the user's store."""
    home = tmp_path_factory.mktemp("hfscan-home")
    old = os.environ.get("HFSCAN_HOME")
    os.environ["HFSCAN_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("HFSCAN_HOME", None)
    else:
        os.environ["HFSCAN_HOME"] = old


@pytest.fixture(scope="session")
def inventory(_hfscan_home):
    from hfscan.scanner.discover import discover

    return discover()


@pytest.fixture(scope="session")
def classifications(inventory):
    """Every model type of the installed transformers, classified (facts read once per session)."""
    from hfscan.classifiers import classify_all

    return classify_all(inventory)


@pytest.fixture(scope="session")
def tiny_sweep(_hfscan_home, tmp_path_factory):
    """One real, unsharded run of a few cheap model types (build, forward): the reference for sharded runs."""
    from tests import shard_jobs

    return shard_jobs.reference_run(tmp_path_factory.mktemp("tiny-sweep") / "reference.sqlite")
