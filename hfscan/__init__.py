"""hfscan: introspective smoke coverage for every transformers architecture."""

__version__ = "0.1.0"
