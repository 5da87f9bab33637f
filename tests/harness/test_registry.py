"""The check registry: checks and presets as validated data; applicability from the job and the built model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hfscan.errors import DataFileError, UsageError
from hfscan.harness.records import Job
from hfscan.harness.registry import CHECKS_FILE, load_registry, not_applicable, registry, unmet_requirement


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "checks.toml"
    path.write_text(text)
    return path


def test_the_shipped_registry_validates_and_smoke_is_the_default_four():
    reg = load_registry(CHECKS_FILE)
    assert reg.presets["smoke"] == ("build", "forward", "fidelity", "save-load", "generate")
    assert set(reg.presets["all"]) >= set(reg.presets["smoke"])
    assert reg.names[:2] == ("build", "forward")


def test_resolve_takes_checks_and_presets_in_run_order_and_rejects_unknown_names():
    reg = registry()
    assert reg.resolve("generate,build") == ("build", "generate")
    assert reg.resolve("smoke") == reg.presets["smoke"]
    with pytest.raises(UsageError, match="did you mean smoke"):
        reg.resolve("smok")
    with pytest.raises(UsageError, match="no check given"):
        reg.resolve(" , ")


@pytest.mark.parametrize("body, what", [
    ('[check.a]\nsummary = "x"\nrun = "builtin"\nstage = "a"\nfrobnicate = 1\n', "unknown key"),
    ('[check.a]\nsummary = "x"\nrun = "nomodule"\nstage = "a"\n', "module:function"),
    ('[check.a]\nsummary = "x"\nrun = "builtin"\nstage = "a"\napplies = { generatve = true }\n', "unknown applies"),
    ('[check.a]\nsummary = "x"\nrun = "builtin"\nstage = "a"\nrequires = { methods = "generate" }\n', "list of names"),
    ('[check.a]\nsummary = "x"\nrun = "builtin"\nstage = "a"\nneeds = ["b"]\n', "not a check listed before"),
    ('[check.a]\nsummary = "x"\nrun = "builtin"\nstage = "a"\n[check.a.tolerance]\nfloat32 = { atol = -1, rtol = 0 }\n',
     "tolerance.float32"),
    ('[check.a]\nsummary = "x"\nrun = "builtin"\nstage = "a"\noptions = ["backend"]\n', "options must be a list of"),
    ('[check.a]\nsummary = "x"\nrun = "builtin"\nstage = "a"\n[check.a.tolerance]\nfloat32 = { atol = 0, rtol = 0, '
     'round = 3 }\n', "tolerance.float32"),
    ('[preset]\nfast = ["nope"]\n[check.a]\nsummary = "x"\nrun = "builtin"\nstage = "a"\n', "no check nor a preset"),
])
def test_a_mistyped_entry_is_an_error_naming_file_and_line(tmp_path, body, what):
    path = _write(tmp_path, body)
    with pytest.raises(DataFileError, match=what) as err:
        load_registry(path)
    assert err.value.path == str(path) and err.value.line is not None
    assert err.value.exit_code == 2


def _job(**kw) -> Job:
    return replace(Job(model_type="t", model_class="C", task="causal-lm"), **kw)


def test_applies_and_requires_say_why_a_check_does_not_apply():
    spec = registry().checks["generate"]
    assert not_applicable(spec, _job(), generative=True) is None
    assert "not generative" in not_applicable(spec, _job(task="masked-lm"), generative=False)

    class NoGenerate:
        pass

    class Generates:
        def generate(self):
            pass

    assert unmet_requirement(spec, Generates(), "forward", set()) is None
    assert unmet_requirement(spec, NoGenerate(), "forward", set()) == "NoGenerate has no generate()"


def test_cli_rejects_an_unknown_check_with_exit_2():
    from click.testing import CliRunner

    from hfscan.cli import cli

    res = CliRunner().invoke(cli, ["run", "bert", "--checks", "forwrd"])
    assert res.exit_code == 2
    assert "unknown check 'forwrd'" in res.output


def test_cli_rejects_an_unknown_compile_backend_with_exit_2():
    from click.testing import CliRunner

    from hfscan.cli import cli

    for command in (["run", "bert"], ["check", "nowhere/config.json"]):
        res = CliRunner().invoke(cli, [*command, "--compile-backend", "tvm"])
        assert res.exit_code == 2 and "'tvm' is not one of 'aot_eager', 'inductor', 'eager'" in res.output


def test_the_capture_checks_declare_the_options_that_key_them():
    reg = registry()
    assert reg.checks["compile"].options == ("compile_backend",)
    assert all(reg.checks[c].options == ("export_strict",) for c in ("export", "onnx", "openvino", "executorch"))
    assert reg.checks["forward"].options == ()


def test_the_consistency_preset_is_in_all_and_every_check_has_a_tolerance_or_none_needed():
    reg = registry()
    consistency = set(reg.presets["consistency"])
    assert {"attention", "batch", "cache", "backward", "dtype"} <= consistency
    assert consistency <= set(reg.presets["all"]) and {"attention-flex", "outputs"} <= set(reg.presets["all"])
    assert not {"attention-flex", "outputs"} & consistency  # costly (compiles per shape; 3 forwards): kept out of the timed preset
    for name in ("attention", "batch", "cache", "backward"):
        assert reg.checks[name].tolerance("float32").atol > 0
    assert reg.checks["dtype"].tolerance("bfloat16").rtol > 0
    assert reg.checks["dtype"].tolerance("bfloat16").rounding > 1  # and the rounding factor is data too
    assert reg.checks["batch"].tolerance("float32").rounding == 0
    for spec in reg.checks.values():
        if spec.run != "builtin":
            assert callable(spec.function())


def test_rule_text_reads_as_words_not_python_tuples(tmp_path):
    body = ('[check.a]\nsummary = "x"\nrun = "builtin"\nstage = "a"\n'
            'applies = { tasks = ["causal-lm", "masked-lm"], generative = true }\n'
            'requires = { methods = ["generate", "forward"], forward_takes = ["labels"] }\n')
    text = load_registry(_write(tmp_path, body)).checks["a"].rule_text()
    assert "(" not in text and "'" not in text, text
    assert "tasks = causal-lm or masked-lm" in text and "generative = yes" in text
    assert "model methods = generate and forward" in text and "model forward_takes = labels" in text
