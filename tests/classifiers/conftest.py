import pytest


@pytest.fixture(scope="session")
def classifications(inventory):
    """Every model type of the installed transformers, classified (facts read once per session)."""
    from hfscan.classifiers import classify_all

    return classify_all(inventory)
