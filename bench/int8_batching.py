"""Would batching pay for the int8 embedding model on this CPU?

Usage: python bench/int8_batching.py [--passages 300] [--tokens 150] [--out bench-out/int8_batching.json]

Ingest embeds one text a call, on one one-thread ONNX Runtime session per core, because
today's int8 model quantises each layer's input with one scale per call: a batch would make
a passage's vector depend on its neighbours. A model whose activation scales are fixed by
calibration (static quantisation) is batch-independent and could batch. This measures what
that would buy, on one thread, for batches of 1 to 16 texts of `--tokens` tokens each (the
best of 5 rounds, the models and batch sizes taking turns within each):

- `dynamic int8`: the model ingest runs (`qa.onnx_export`, per-channel MatMul weights);
- `static int8`: MatMul inputs and weights quantised with scales calibrated (min/max) on
  150 BBC passages, written to a temporary folder;

and how close each one's vectors come to the fp32 model's over `--passages` other BBC
passages (title and date prefixed, as ingest embeds them). BBC is read from ../shared/corpus.
Then it profiles ingest's int8 model on one text a call: the share of a call spent in the
quantised matrix products, and their speed against the machine's int8 limit per core (the
speed bench's limit, `_child.run_limit`), which bounds what any faster product could give.
Prints a Markdown table and writes every figure to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

from _child import run_limit
from _common import CORPORA, fmt, machine_info, markdown_table

ROWS = (1, 2, 4, 8, 16)
CALIBRATION_PASSAGES = 150
SEED = 20261208
ROUNDS = 5
PROFILED_CALLS = 20
QUANTISED_PRODUCTS = {"DynamicQuantizeMatMul", "MatMulIntegerToFloat", "DynamicQuantizeLinear", "MatMulInteger"}


def bbc_passages(count: int) -> tuple[list[str], list[str]]:
    """Disjoint calibration and evaluation passages (what ingest embeds), drawn at random (seeded) from BBC."""
    from qa.chunking import chunk_article
    from qa.loaders import iter_articles
    from qa.types import Article

    articles = [a for a in iter_articles([CORPORA["bbc"]]) if isinstance(a, Article)]
    random.Random(SEED).shuffle(articles)
    passages = [c.embedded_text for a in articles[: (count + CALIBRATION_PASSAGES) // 2] for c in chunk_article(a)]
    random.Random(SEED).shuffle(passages)
    return passages[:CALIBRATION_PASSAGES], passages[CALIBRATION_PASSAGES : CALIBRATION_PASSAGES + count]


def static_model(fp32: Path, model, calibration: list[str], folder: Path) -> Path:
    """The fp32 model with MatMul inputs and weights quantised at scales calibrated on `calibration`."""
    import numpy as np
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Passages(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter(
                model.feeds(np.array([e.ids], dtype=np.int64)) for e in model.tokenizer.encode_batch(calibration)
            )

        def get_next(self):
            return next(self.feeds, None)

    target = folder / "model-static-int8.onnx"
    quantize_static(str(fp32), str(target), Passages(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["MatMul"],
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)
    return target


def random_feeds(model, rows: int, tokens: int) -> dict:
    """The model's inputs for `rows` texts of `tokens` random token ids each (speed does not depend on the ids)."""
    import numpy as np

    return model.feeds(np.random.default_rng(SEED).integers(1000, 20000, (rows, tokens), dtype=np.int64))


def tokens_per_s(session, model, rows: int, tokens: int) -> float:
    """A session's tokens/s over batches of `rows` equal-length texts (about a second of calls)."""
    feeds = random_feeds(model, rows, tokens)
    session.run(None, feeds)
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < 1.0 or calls < 3:
        session.run(None, feeds)
        calls += 1
    return calls * rows * tokens / elapsed


def quantised_share(model, path: Path, tokens: int) -> dict:
    """ONNX Runtime's profile of one-thread calls on one text: the share of kernel time in the quantised matrix
    products (their input's quantisation included) and the milliseconds a call takes."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.log_severity_level, options.enable_profiling = 1, 3, True
    with tempfile.TemporaryDirectory() as folder:
        options.profile_file_prefix = str(Path(folder) / "profile")
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feeds = random_feeds(model, 1, tokens)
        session.run(None, feeds)
        start = time.perf_counter()
        for _ in range(PROFILED_CALLS):
            session.run(None, feeds)
        call_ms = (time.perf_counter() - start) / PROFILED_CALLS * 1000
        events = json.loads(Path(session.end_profiling()).read_text())
    kernels = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    quantised = sum(e["dur"] for e in kernels if e["args"]["op_name"] in QUANTISED_PRODUCTS)
    return {"quantised_share": quantised / sum(e["dur"] for e in kernels), "call_ms": call_ms}


def session_for(model, path: Path):
    """A one-thread ONNX Runtime session of the model file at `path`, made as ingest makes its sessions."""
    model.path = path
    return model._session(1)


def vectors(model, path: Path, quantized: bool, texts: list[str]):
    """Unit vectors of `texts` from the model at `path`, pooled as ingest pools them."""
    model.quantized, model.session = quantized, session_for(model, path)
    return model.embed(texts, 64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=300, help="BBC passages to compare with fp32")
    parser.add_argument("--tokens", type=int, default=150, help="tokens per text in the timed batches")
    parser.add_argument("--out", type=Path, default=Path("bench-out/int8_batching.json"))
    args = parser.parse_args()
    import numpy as np

    from qa.embeddings import _OnnxModel, resolve_model_path
    from qa.onnx_export import onnx_model_file
    from qa.settings import load_settings

    settings = load_settings()
    folder = resolve_model_path(settings.embedding_model)
    fp32 = onnx_model_file(folder, settings.model_dir, False)
    dynamic = onnx_model_file(folder, settings.model_dir, True)
    model = _OnnxModel(folder, settings.model_dir, quantized=True, threads=1)
    calibration, texts = bbc_passages(args.passages)
    reference = vectors(model, fp32, False, texts)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        print(f"calibrating a static int8 model on {len(calibration)} BBC passages ...", flush=True)
        static = static_model(fp32, model, calibration, Path(scratch))
        models = {"dynamic int8 (ingest's)": dynamic, "static int8 (calibrated)": static}
        for name, path in models.items():
            cosine = (vectors(model, path, True, texts) * reference).sum(axis=1)
            results.append({"model": name, "cosine_min": float(cosine.min()), "cosine_mean": float(np.mean(cosine)),
                            "tokens_per_s_by_rows": {rows: 0.0 for rows in ROWS}})
        # The CPU's speed drifts by a fifth from minute to minute here: every model and batch size is timed in each
        # of the rounds, in turn, and keeps its best, so drift cannot favour one of them.
        sessions = {name: session_for(model, path) for name, path in models.items()}
        for round_ in range(1, ROUNDS + 1):
            for result in results:
                for rows in ROWS:
                    speed = tokens_per_s(sessions[result["model"]], model, rows, args.tokens)
                    result["tokens_per_s_by_rows"][rows] = max(result["tokens_per_s_by_rows"][rows], speed)
            print(f"  timing round {round_} of {ROUNDS} done", flush=True)
    print("profiling one-text calls and measuring the machine's int8 limit ...", flush=True)
    profile = quantised_share(model, dynamic, args.tokens)
    limit = run_limit()
    # GOP/s of the quantised products on one thread, against the int8 limit (all cores) per core.
    products_s = profile["quantised_share"] * profile["call_ms"] / 1000
    profile["products_gops_one_thread"] = limit["flops_per_token"] * args.tokens / products_s / 1e9
    profile["limit_gops_per_core"] = limit["int8_gops"] / (os.cpu_count() or 1)
    profile["share_of_limit"] = profile["products_gops_one_thread"] / profile["limit_gops_per_core"]
    one_a_call = results[0]["tokens_per_s_by_rows"][1]
    headers = ["model", "cosine to fp32, least", "mean", *[f"{r} a call" for r in ROWS], "best ÷ ingest's"]
    rows = [[r["model"], fmt(r["cosine_min"], 3), fmt(r["cosine_mean"], 3),
             *[fmt(r["tokens_per_s_by_rows"][n], 0) for n in ROWS],
             fmt(max(r["tokens_per_s_by_rows"].values()) / one_a_call, 2) + "x"] for r in results]
    print(f"\nMiniLM tokens/s on one thread, texts of {args.tokens} tokens; cosine over {len(texts)} BBC passages:\n")
    print(markdown_table(headers, rows))
    print(f"\nIngest's int8 model, one {args.tokens}-token text a call on one thread: {fmt(profile['call_ms'])} ms a "
          f"call, {profile['quantised_share']:.0%} of it in the quantised matrix products, which run at "
          f"{fmt(profile['products_gops_one_thread'])} GOP/s, {profile['share_of_limit']:.0%} of the int8 limit per "
          f"core ({fmt(profile['limit_gops_per_core'])} GOP/s); products at the limit would make a call "
          f"{1 / (1 - profile['quantised_share'] * (1 - profile['share_of_limit'])):.2f}x as fast.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine_info(), "arguments": {k: str(v) for k, v in vars(args).items()},
              "passages": len(texts), "calibration_passages": len(calibration), "results": results,
              "profile": profile, "limit": limit}
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
