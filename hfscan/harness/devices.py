"""`--device auto|cpu|cuda|mps|xpu`: which torch device a sweep runs on, and its name."""

from __future__ import annotations

import platform
from dataclasses import dataclass

from hfscan.errors import UsageError

DEVICES = ("auto", "cpu", "cuda", "mps", "xpu")
DTYPES = ("float32", "float16", "bfloat16")
#: torch.compile backends `--compile-backend` offers; the default per device kind: aot_eager on CPU keeps a sweep
#: cheap (dynamo + AOTAutograd, no code generation), inductor where it generates device kernels.
COMPILE_BACKENDS = ("aot_eager", "inductor", "eager")
_BACKEND_BY_DEVICE = {"cuda": "inductor"}


def default_backend(device: str) -> str:
    """The backend the ``compile`` check uses on ``device`` (a kind, or ``cuda:0``) unless told another."""
    return _BACKEND_BY_DEVICE.get(device.split(":")[0], "aot_eager")


class DeviceUnavailableError(UsageError):
    """The requested device is not available to the installed torch."""


@dataclass(frozen=True)
class Device:
    kind: str  # cpu, cuda, mps or xpu: what Job.device and torch take
    name: str  # human-readable hardware name, recorded with the run


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _cpu_only_build() -> bool:
    """Whether the installed torch is a CPU-only build (its version's local label says ``+cpu``): such a build
    has no CUDA or XPU, so ``auto`` needs no torch import to pick the CPU (MPS aside, on macOS)."""
    import importlib.metadata
    import sys

    try:
        local = importlib.metadata.version("torch").partition("+")[2]
    except importlib.metadata.PackageNotFoundError:
        return False
    return local == "cpu" and sys.platform != "darwin"


def _available(kind: str) -> str | None:
    """The device's name when torch can use it, else None."""
    if kind == "cpu":
        return _cpu_name()
    if _cpu_only_build():
        return None
    import torch

    if kind == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    if kind == "mps" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "Apple MPS"
    xpu = getattr(torch, "xpu", None)
    if kind == "xpu" and xpu is not None and xpu.is_available():
        return xpu.get_device_name(0)
    return None


def resolve_device(requested: str = "auto") -> Device:
    """The device to run on: ``auto`` picks CUDA, MPS, XPU, else CPU; an absent one is an error."""
    if requested not in DEVICES:
        raise UsageError(f"unknown device {requested!r}; choose from {', '.join(DEVICES)}")
    if requested == "auto":
        for kind in ("cuda", "mps", "xpu", "cpu"):
            name = _available(kind)
            if name is not None:
                return Device(kind, name)
    name = _available(requested)
    if name is None:
        import torch

        raise DeviceUnavailableError(
            f"device {requested!r} is not available to torch {torch.__version__} on this machine"
        )
    return Device(requested, name)
