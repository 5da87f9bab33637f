"""Graph capture checks: ``compile`` (torch.compile), ``export`` (torch.export) and ``onnx`` (ONNX, run in
onnxruntime), plus ``openvino`` and ``executorch`` where their packages are installed.

Each is a registered check (``hfscan/data/checks.toml``) run on the tiny model that passed forward, fed the same
inputs less the training targets (export does not trace a loss). Where the installed transformers ships its own
export API (``transformers.exporters``, 5.x), ``export``, ``onnx``, ``openvino`` and ``executorch`` go through it, as
users call it; where it does not, plain ``torch.export`` / ``torch.onnx.export``. A failure is classified by the
capturing tool's exception type (:mod:`hfscan.harness.capture.common`) and located at the model source line it was
raised from, so ``hfscan gaps`` can rank the causes across architectures.
"""
