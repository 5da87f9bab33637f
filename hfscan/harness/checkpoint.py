"""Smoke test of a real checkpoint: its weights, and inputs its own tokenizer / processor builds.

The inputs come from samples hfscan generates itself (two sentences, a gradient
image, a sine wave), never from files.  Weights load from a local directory or
the local Hugging Face cache only (``local_files_only``): fetching is the
caller's business, before the worker runs.  Safetensors only unless pickle is
allowed; custom code only when trusted.

``run_job`` is the worker entry point for ``hfscan run --source checkpoint``
(``Job.checkpoint`` is ``repo_id@sha``, pinned by ``hub sync``);
``run_checkpoint`` runs one directory and serves ``hfscan check --weights`` too.
"""

from __future__ import annotations

import json
import math
import time
import traceback
from pathlib import Path
from typing import Any, Iterator

from hfscan.harness.records import CheckResult, Job, Status

#: Sample text fed to real tokenizers: two different sentences, so outputs must differ.
SAMPLE_TEXT = ("The quick brown fox jumps over the lazy dog.", "Smoke tests check that every model runs.")
SAMPLE_RATE = 16_000
#: Files a checkpoint smoke test needs from a repo: configs, tokenizers, processors, safetensors weights.
CHECKPOINT_FILES = ("*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "tokenizer*")
#: Files that show a checkpoint ships its own tokenizer / image or audio processor (transformers
#: would otherwise build an empty default one).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.*", "*.model", "merges.txt", "*.tiktoken")
PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")
#: The checks a checkpoint job runs; others are reported as skipped.
CHECKPOINT_CHECKS = ("build", "forward")


def sample_image(inverted: bool = False) -> Any:
    """A 64x64 RGB gradient generated here (no file, no download); ``inverted`` gives a different one."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:64, 0:64]
    rgb = np.stack([x * 4, y * 4, (x + y) * 2], axis=-1).astype("uint8")
    return Image.fromarray(255 - rgb if inverted else rgb)


def sample_audio(seconds: float = 1.0) -> Any:
    """A 440 Hz sine at 16 kHz, generated here."""
    import numpy as np

    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    return (0.5 * np.sin(2 * math.pi * 440 * t)).astype("float32")


def _samples(params: set[str]) -> dict[str, Any]:
    """hfscan's samples for the modalities a forward() takes, as processor keyword arguments."""
    kwargs: dict[str, Any] = {}
    if "input_ids" in params:
        kwargs.update(text=list(SAMPLE_TEXT), padding=True)
    if "pixel_values" in params:
        kwargs["images"] = [sample_image(), sample_image(inverted=True)]  # one per sample text, different
    if params & {"input_values", "input_features"}:
        kwargs.update(audio=[sample_audio(), sample_audio(0.5)], sampling_rate=SAMPLE_RATE, padding=True)
    return kwargs


def processor_inputs(directory: Path, params: set[str], trust_remote_code: bool = False) -> dict:
    """Inputs built by the checkpoint's own processor from hfscan's samples.

    The joint processor (``AutoProcessor``) first, as it places image/audio tokens in
    the text; when the checkpoint has no complete one, its tokenizer, image
    processor and feature extractor each encode their own modality.
    """
    from transformers import AutoFeatureExtractor, AutoImageProcessor, AutoProcessor, AutoTokenizer

    from hfscan.harness.checks import CheckFailure

    kwargs = _samples(params)
    for modality, files in (("text", TOKENIZER_FILES), ("images", PROCESSOR_FILES), ("audio", PROCESSOR_FILES)):
        if modality in kwargs and not any(any(directory.glob(f)) for f in files):
            raise CheckFailure(f"the checkpoint ships no processor for its {modality} input (none of {', '.join(files)})", stage="inputs")
    opts = {"local_files_only": True, "trust_remote_code": trust_remote_code}
    try:
        encoded = dict(AutoProcessor.from_pretrained(directory, **opts)(**kwargs, return_tensors="pt"))
    except Exception:  # noqa: BLE001 - an incomplete joint processor: encode each modality on its own
        encoded = {}
        if "text" in kwargs:
            encoded.update(AutoTokenizer.from_pretrained(directory, **opts)(kwargs["text"], padding=True, return_tensors="pt"))
        if "images" in kwargs:
            encoded.update(AutoImageProcessor.from_pretrained(directory, **opts)(kwargs["images"], return_tensors="pt"))
        if "audio" in kwargs:
            extractor = AutoFeatureExtractor.from_pretrained(directory, **opts)
            encoded.update(extractor(kwargs["audio"], sampling_rate=SAMPLE_RATE, padding=True, return_tensors="pt"))
    return {k: v for k, v in encoded.items() if k in params}


def _result(job: Job, check: str, **kw: Any) -> CheckResult:
    return CheckResult(model_type=job.model_type, check=check, model_class=job.model_class, task=job.task,
                       family=job.family, source="checkpoint", override_hash=job.override_hash, **kw)


def _failed(job: Job, check: str, stage: str, exc: BaseException, t0: float, note: str = "") -> CheckResult:
    message = (str(exc).strip().splitlines() or [""])[0][:500] + note
    return _result(job, check, status=Status.FAILED, stage=getattr(exc, "stage", stage), error_type=type(exc).__name__,
                   message=message, traceback=traceback.format_exc(), duration_s=time.perf_counter() - t0)


def run_checkpoint(job: Job, directory: Path, allow_pickle: bool = False, trust_remote_code: bool = False,
                   all_weights: bool = False) -> Iterator[CheckResult]:
    """``build`` (load the real weights) then ``forward`` (processor-built inputs, asserted outputs); with
    ``all_weights`` (``hfscan check --weights``), build fails where a weight was newly initialised."""
    import torch
    import transformers

    from hfscan.harness import checks as C
    from hfscan.harness.inputs import forward_params

    t0 = time.perf_counter()
    try:
        cls = getattr(transformers, job.model_class)
        model, info = cls.from_pretrained(directory, local_files_only=True, use_safetensors=None if allow_pickle else True,
                                          trust_remote_code=trust_remote_code, output_loading_info=True)
        model.eval()
        if all_weights:
            _all_weights_loaded(info)
    except Exception as exc:  # noqa: BLE001 - a failing checkpoint is a result
        note = " (pickled weights are refused unless --allow-pickle)" if not allow_pickle and "safetensors" in str(exc).lower() else ""
        yield _failed(job, "build", "load", exc, t0, note)
        return
    params = sum(p.numel() for p in model.parameters())
    yield _result(job, "build", status=Status.PASSED, duration_s=time.perf_counter() - t0, param_count=params)
    t0, stage = time.perf_counter(), "inputs"
    try:
        inputs = processor_inputs(directory, set(forward_params(model)), trust_remote_code)
        if not inputs:
            raise C.CheckFailure("the processor built no input the model takes", stage="inputs")
        stage = "forward"
        with torch.no_grad():
            first, again = model(**inputs), model(**inputs)
        stage = "assert"
        C.check_finite(first)
        C.check_same(first, again)
        name, out = C.main_output(first)
        if out.shape[0] != len(SAMPLE_TEXT):
            raise C.CheckFailure(f"{name} has batch {out.shape[0]}, expected {len(SAMPLE_TEXT)}")
        if torch.allclose(out[0].flatten()[:16], out[1].flatten()[:16]):
            raise C.CheckFailure(f"{name} is the same for two different samples")
    except Exception as exc:  # noqa: BLE001
        yield _failed(job, "forward", stage, exc, t0)
        return
    yield _result(job, "forward", status=Status.PASSED, duration_s=time.perf_counter() - t0, param_count=params,
                  details=json.dumps({"checkpoint": job.checkpoint, "inputs": C.shapes_of(inputs), "outputs": C.shapes_of(first)}))


def _all_weights_loaded(info: dict) -> None:
    """Every weight of the model came from the checkpoint: none was newly initialised (missing from it, or
    there with another shape), else a CheckFailure at ``load`` naming them."""
    from hfscan.harness.checks import CheckFailure

    fresh = sorted(info.get("missing_keys") or ()) + sorted(str(k[0]) if isinstance(k, (list, tuple)) else str(k)
                                                           for k in info.get("mismatched_keys") or ())
    if fresh:
        shown = ", ".join(fresh[:5]) + (f" (+{len(fresh) - 5})" if len(fresh) > 5 else "")
        raise CheckFailure(f"{len(fresh)} weight(s) newly initialised, not in the checkpoint: {shown}", stage="load")


def local_snapshot(pinned: str) -> Path:
    """The local Hugging Face cache folder of ``repo_id@sha`` (LocalEntryNotFoundError when not cached)."""
    from huggingface_hub import snapshot_download

    repo_id, _, sha = pinned.partition("@")
    return Path(snapshot_download(repo_id, revision=sha or None, local_files_only=True, allow_patterns=list(CHECKPOINT_FILES)))


def run_job(job: Job) -> Iterator[CheckResult]:
    """Worker entry point: the pinned checkpoint of ``job`` from the local cache, its checks in order."""
    import torch
    from huggingface_hub.errors import LocalEntryNotFoundError

    torch.set_num_threads(1)
    wanted = [c for c in job.checks if c in CHECKPOINT_CHECKS]
    try:
        directory = local_snapshot(job.checkpoint or "")
    except (LocalEntryNotFoundError, ValueError) as exc:
        for check in wanted:
            yield _result(job, check, status=Status.SKIPPED, message=f"checkpoint {job.checkpoint} is not in the local "
                          f"Hugging Face cache ({type(exc).__name__}); fetch it with --download")
        directory = None
    if directory is not None:
        yield from (r for r in run_checkpoint(job, directory) if r.check in wanted)
    for check in job.checks:
        if check not in CHECKPOINT_CHECKS:
            yield _result(job, check, status=Status.SKIPPED, message="checkpoint runs check build and forward only")
