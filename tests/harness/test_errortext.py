"""The regular expressions over upstream error text: one table, each pattern matching a message captured from a real
torch op or a real tiny model, and none outside the table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from hfscan.harness import errortext
from hfscan.harness.errortext import PATTERNS

ROOT = Path(errortext.__file__).resolve().parents[1]

#: Regular expressions of hfscan over error text that read no fact of it, with the reason (the lint allows them).
NOT_READING = {
    ("reports/gaps.py", "error_signature"): "masks addresses, paths, names and numbers to group failures",
    ("harness/capture/common.py", "_first_line"): "strips terminal colour codes before the first line is shown",
    ("classifiers/datafile.py", "toml_error"): "Python's tomllib, not torch or transformers: the line of a syntax "
                                               "error in a data file where the error has no lineno (before 3.14)",
}

#: Names that hold an exception or its text in hfscan's code.
_ERROR_NAMES = {"exc", "err", "error", "message", "msg", "raised", "cause"}
_RE_CALLS = {"search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split"}


def _mentions(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _error_regexes(tree: ast.AST) -> list[tuple[str, int]]:
    """(function, line) of every regular-expression call whose subject holds an exception or its text: a name of
    _ERROR_NAMES, or a local assigned from one (``text = str(exc)``)."""
    hits = []
    for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        tainted = set(_ERROR_NAMES)
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign) and _mentions(node.value, tainted):
                tainted |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        for node in ast.walk(fn):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in _RE_CALLS):
                continue
            owner = node.func.value
            module_call = isinstance(owner, ast.Name) and owner.id == "re"
            compiled = isinstance(owner, ast.Name) and owner.id.lstrip("_").isupper() or module_call
            if not compiled and not (isinstance(owner, ast.Name) and owner.id in {"pattern", "own_name"}):
                continue
            subjects = node.args[1:] if module_call else node.args
            if node.func.attr in {"sub", "subn"}:
                subjects = node.args[2:] if module_call else node.args[1:]
            if any(_mentions(s, tainted) for s in subjects):
                hits.append((fn.name, node.lineno))
    return hits


def test_no_regular_expression_reads_error_text_outside_the_table():
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "harness/errortext.py":
            continue
        for fn, line in _error_regexes(ast.parse(path.read_text())):
            if (rel, fn) not in NOT_READING:
                found[f"{rel}:{line}"] = fn
    assert not found, f"regular expressions over error text outside hfscan/harness/errortext.py: {found}"


def test_the_lint_sees_a_regular_expression_over_error_text():
    code = ("import re\n_X = re.compile('a')\n"
            "def f(exc):\n    text = str(exc)\n    return re.search('b', text) or _X.search(f'{exc}')\n")
    assert [line for _, line in _error_regexes(ast.parse(code))] == [5, 5]


def test_at_most_eight_patterns_each_named_and_documented():
    assert len(PATTERNS) <= 8
    assert all(p.name == name and p.doc for name, p in PATTERNS.items())


def _message(fn) -> str:
    with pytest.raises(Exception) as info:
        fn()
    return str(info.value)


#: pattern -> (a message captured from a real torch op or tiny model, the groups it reads)
CAPTURED: dict[str, tuple[str, tuple]] = {}


def captured(name: str):
    def register(fn):
        CAPTURED[name] = fn
        return fn
    return register


def _upstream(module: str, message: str, fragment: str) -> str:
    """``message`` as the sweep captured it from a tiny model of ``module``, after checking that the installed
    transformers still raises it: ``fragment``, the message's constant part, is in the module's source."""
    import importlib
    import inspect

    assert fragment in inspect.getsource(importlib.import_module(f"transformers.models.{module}")), module
    return message


@captured("size_mismatch")
def _size_mismatch():
    return _message(lambda: torch.zeros(2, 7) + torch.zeros(2, 4)), ("7", "4", "1")


@captured("mask_rows")
def _mask_rows():
    return _message(lambda: torch.zeros(32, 1176)[torch.ones(2, 1176, dtype=torch.bool)]), ("2", "1176", "32")


@captured("axis_size")
def _axis_size():
    return _upstream("efficientloftr.modeling_efficientloftr",
                     "Input must be a 5D tensor of shape (batch_size, 2, num_channels, height, width)",
                     "Input must be a 5D tensor of shape (batch_size, 2, num_channels, height, width)"), ("2",)


@captured("not_a_multiple")
def _not_a_multiple():
    return _upstream("muse_spark.modeling_muse_spark",
                     "`input_values` length 8000 is not a multiple of 1920. Prepare the audio with "
                     "`MuseSparkFeatureExtractor`, which pads up to a multiple of it.",
                     "is not a multiple of "), ("input_values", "8000", "1920")


@captured("image_too_small")
def _image_too_small():
    return _upstream("depth_pro.modeling_depth_pro",
                     "Image size 96x96 is too small to be scaled with scaled_images_ratios=[0.25, 0.5, 1] when "
                     "patch_size=96.", "is too small to be scaled "), ("96", "96")


@captured("placeholder_check")
def _placeholder_check():
    return _upstream("granite4_vision.modeling_granite4_vision",
                     "Image features and image tokens do not match, tokens: 1152, features: 104",
                     "Image features and image tokens do not match, tokens: "), ("Image", "1152", "104")


@captured("must_be")
def _must_be():
    from transformers import Gemma4AssistantConfig

    with pytest.raises(Exception) as info:
        Gemma4AssistantConfig()  # upstream: its default text config breaks its own validator
    return f"{info.value} {info.value.__cause__ or ''}", ("hidden_size_per_layer_input", "0", "256")


@captured("must_equal")
def _must_equal():
    from transformers import PocketTTSConfig

    with pytest.raises(Exception) as info:
        PocketTTSConfig(hidden_size=32)
    return str(info.value.__cause__ or info.value), ("flow_head_config.condition_dim", "1024", "32")


def test_every_pattern_is_fed_a_captured_message():
    assert sorted(CAPTURED) == sorted(PATTERNS)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_each_pattern_reads_its_captured_message(name):
    message, groups = CAPTURED[name]()
    m = errortext.search(name, message)
    assert m is not None and m.groups()[:len(groups)] == groups
    assert errortext.search(name, "an error no pattern reads") is None
