"""Overrides are validated data: every mistake is reported as file:line: what, exit status 2."""

from __future__ import annotations

import pytest

from hfscan.errors import DataFileError
from hfscan.harness.overrides import Override, load_file, load_overrides, parse

KNOWN = ["bert", "gpt2", "beit"]


def _error(text: str) -> DataFileError:
    with pytest.raises(DataFileError) as info:
        parse(text, "my.toml", KNOWN)
    assert info.value.exit_code == 2
    return info.value


def test_unknown_key_names_its_line():
    err = _error('[bert]\nreason = "x"\n\nconfg = { hidden_size = 8 }\n')
    assert str(err).startswith("my.toml:4: unknown key 'confg' in [bert]")


def test_unknown_model_type_names_its_line_and_closest():
    err = _error('# comment\n[bertt]\nreason = "x"\n')
    assert str(err).startswith("my.toml:2: unknown model type 'bertt'")
    assert "bert" in str(err)


def test_wrong_type_names_its_line():
    err = _error('[gpt2]\nreason = "x"\nxfail = 3\n')
    assert str(err) == "my.toml:3: [gpt2] xfail must be a str, not int"
    err = _error('[gpt2]\nreason = "x"\nconfig = "hidden_size=8"\n')
    assert str(err) == "my.toml:3: [gpt2] config must be a table, not str"


def test_xfail_check_must_name_a_check():
    err = _error('[gpt2]\nreason = "x"\nxfail = "bug"\nxfail_check = "forwrd"\n')
    from hfscan.harness.registry import registry

    assert str(err) == f"my.toml:4: [gpt2] xfail_check must be one of {', '.join(registry().names)}"
    assert ", ".join(("build", "forward", "save-load", "generate")) in str(err)
    assert parse('[gpt2]\nreason = "x"\nxfail = "bug"\nxfail_check = "build"\n', "my.toml", KNOWN)["gpt2"].expects_failure("build")


def test_reason_is_mandatory():
    err = _error('[gpt2]\nconfig = { n_layer = 1 }\n')
    assert str(err) == "my.toml:1: [gpt2] needs a non-empty 'reason'"


def test_invalid_toml_and_missing_file():
    err = _error('[gpt2\nreason = "x"\n')
    assert str(err).startswith("my.toml:1: not valid TOML")
    with pytest.raises(DataFileError, match="cannot read"):
        load_file("/nonexistent/overrides.toml")


def test_a_valid_entry_round_trips_with_a_stable_hash():
    entries = parse('[bert]\nreason = "why"\nconfig = { hidden_size = 48 }\ninputs = { token_type_ids = [[0, 1]] }\n',
                    "my.toml", KNOWN)
    entry = entries["bert"]
    assert entry.config == {"hidden_size": 48}
    assert Override.from_json(entry.to_json()) == entry
    assert entry.hash == Override.from_json(entry.to_json()).hash
    assert entry.hash != Override("bert", reason="why", config={"hidden_size": 64}).hash


def test_user_file_merges_over_ours(tmp_path, inventory):
    ours = load_overrides(known_types=inventory.model_types)
    assert all(o.reason.strip() for o in ours.values())
    user = tmp_path / "user.toml"
    user.write_text('[gpt2]\nreason = "local experiment"\nconfig = { n_layer = 1 }\n')
    merged = load_overrides(user, known_types=inventory.model_types)
    assert merged["gpt2"].config == {"n_layer": 1} and merged["gpt2"].reason == "local experiment"
    assert set(ours) <= set(merged)


def test_shipped_file_is_valid_and_small(inventory):
    ours = load_overrides(known_types=inventory.model_types)
    assert len(ours) <= 3 * len(inventory) / 100


def test_shipped_entries_for_types_an_older_transformers_lacks_do_not_apply(tmp_path, inventory):
    """The shipped file is written against one transformers version: on a version without one of its model types
    (transformers 4.50 has no granite4_vision) that entry is left out, while a user's unknown type stays an error."""
    ours = load_overrides(known_types=inventory.model_types)
    absent = sorted(ours)[0]
    older = [t for t in inventory.model_types if t != absent]
    assert absent not in load_overrides(known_types=older) and set(ours) - {absent} <= set(load_overrides(known_types=older))
    user = tmp_path / "user.toml"
    user.write_text(f'[{absent}]\nreason = "mine"\n')
    with pytest.raises(DataFileError, match="unknown model type"):
        load_overrides(user, known_types=older)


def test_an_entry_applies_only_to_the_transformers_versions_it_names(tmp_path, inventory):
    user = tmp_path / "user.toml"
    user.write_text('[gpt2]\nreason = "found in 5.24"\nxfail = "upstream"\ntransformers = ">=5.24"\n')
    assert "gpt2" in load_overrides(user, known_types=inventory.model_types, version="5.24.0")
    assert "gpt2" not in load_overrides(user, known_types=inventory.model_types, version="4.50.3")
    shipped = load_overrides(known_types=inventory.model_types, version="5.24.0")
    assert all(o.transformers for o in shipped.values() if o.xfail)  # every expected failure names its versions
    assert not any(o.xfail for o in load_overrides(known_types=inventory.model_types, version="5.0.0").values())
    user.write_text('[gpt2]\nreason = "r"\ntransformers = "five"\n')
    with pytest.raises(DataFileError, match=r"user.toml:3: \[gpt2\] transformers must be a version specifier"):
        load_overrides(user, known_types=inventory.model_types)
