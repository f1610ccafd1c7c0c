"""Export a sentence-transformers model folder to ONNX, optionally with int8 weights.

`optimum` would do this, but its releases pin transformers below 5, which breaks
sentence-transformers 6. So the transformer is exported with `torch.onnx` (the
TorchScript exporter) and its MatMul weights are quantised per channel with ONNX
Runtime's dynamic quantiser; pooling and normalisation stay in numpy (`embeddings.py`).
Per-channel MatMul-only int8 keeps a mean cosine of about 0.99 to the PyTorch vectors;
quantising every operator per tensor measured 0.955, too far.

Exports happen once per model and are cached under `Settings.model_dir`; files are
written under a temporary name and renamed, so concurrent processes never read half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import MissingDependencyError, QAError

EXPORT_VERSION = 2  # bump when the export recipe changes, so cached files are remade (2: eager attention)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def onnx_model_file(model_path: str, cache_dir: Path, quantized: bool) -> Path:
    """The cached ONNX file for the model at `model_path`, exported on first use."""
    folder = Path(model_path)
    target = Path(cache_dir).expanduser() / f"onnx-{folder.name}-{_fingerprint(folder)}"
    fp32 = target / "model.onnx"
    if not fp32.exists():
        _export(folder, fp32)
    if not quantized:
        return fp32
    int8 = target / "model-int8.onnx"
    if not int8.exists():
        _quantize(fp32, int8)
    return int8


def _fingerprint(folder: Path) -> str:
    """Changes when the weights or the export recipe change."""
    weights = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin"))
    if not weights:
        raise QAError(f"No model weights (.safetensors or .bin) in {folder}.")
    stamp = [EXPORT_VERSION] + [(p.name, p.stat().st_size) for p in weights]
    return hashlib.sha1(json.dumps(stamp).encode()).hexdigest()[:12]


def _export(folder: Path, destination: Path) -> None:
    try:
        import onnx  # noqa: F401  (torch.onnx needs it to write the file)
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise MissingDependencyError(
            f"Exporting the embedding model to ONNX needs {exc.name}: pip install onnx torch transformers, "
            "or set QA_EMBEDDING_BACKEND=torch."
        ) from None

    # Eager attention, not transformers' default SDPA: SDPA traces into a masked-fill graph (Where,
    # IsNaN) that ONNX Runtime runs 13% slower. 600 BBC passages, int8, two one-thread sessions on
    # 2 cores: 17,437 tokens/s eager against 15,389 SDPA; cosine to PyTorch at least 0.986 either way.
    # ONNX Runtime's BERT fusion (Attention, SkipLayerNormalization, BiasGelu) on top ran slower
    # again (16,247 with QAttention, 12,717 with only MatMul quantised), so it is not applied.
    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()
    names = [n for n in INPUTS if n != "token_type_ids" or getattr(model.config, "type_vocab_size", 0)]

    class Encoder(torch.nn.Module):
        """Keyword-only call: transformers 5 changed the positional order of `forward`."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors):
            return self.inner(**dict(zip(names, tensors, strict=True))).last_hidden_state

    sample = tuple(torch.ones(2, 8, dtype=torch.long) for _ in names)
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    with _atomic(destination) as tmp, torch.no_grad(), _quiet():
        torch.onnx.export(
            Encoder(model),
            sample,
            str(tmp),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def _quantize(source: Path, destination: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _atomic(destination) as tmp, _quiet():
        quantize_dynamic(
            str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
        )


@contextmanager
def _atomic(destination: Path) -> Iterator[Path]:
    """A temporary path beside `destination`, renamed onto it when the block succeeds."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=".onnx.part", dir=destination.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _quiet() -> Iterator[None]:
    """Mute the exporter's warnings and the quantiser's pre-processing advice while they run."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)
