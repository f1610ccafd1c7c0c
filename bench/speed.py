"""Speed and memory of ingest, retrieval, answers and the served app, with LangChain's RAG tutorial as a baseline.

Usage: python bench/speed.py [--parts ingest,baseline,query,answer,serve] [--corpora bbc,reuters]
           [--backends onnx-int8,torch] [--limit N] [--questions N] [--llm local] [--reuse]
           [--indexes bench-out/indexes] [--out bench-out/speed]

Every measured run is a fresh process (bench/_child.py), so model loading counts and
memory is per run. The corpora are read from ../shared/corpus in place. The index the
default embedding backend builds for each corpus is kept in --indexes/<corpus>, where
bench/retrieval_modes.py looks too; --limit runs keep theirs under --out instead. Prints
a Markdown table per part and writes all rows, machine info and settings to
--out/speed.json (rewritten after each part). Quality is bench/retrieval_modes.py's job
and `qa eval`'s; see bench/README.md for what each figure covers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from fnmatch import fnmatch
from itertools import cycle, islice
from pathlib import Path
from typing import Any, Callable

from _common import (
    CORPORA,
    NEWS_SOURCES,
    REPO,
    SAMPLE_ARTICLES,
    WARM_UP,
    BenchError,
    embedding_backend,
    fmt,
    has_index,
    load_questions,
    machine_info,
    markdown_table,
    percentile,
    rate,
    ratio,
    run_child,
)
from _serve import measure_served_app
from qa.settings import LLM_MODES

BACKENDS = ("onnx-int8", "onnx", "torch")
DEFAULT_QUESTIONS = {"query": None, "answer": 20, "serve": 100}  # None: the whole set
TIMED_NOTE = (
    "Timed span: ours, the whole `ingest()` call (reading and parsing files, chunking, model load, embedding, "
    "writing Chroma and BM25); the baseline, model load + split + embed + store, with parsing excluded (its "
    "articles are parsed by qa.loaders before the timer starts). Our passages are sentence-packed (~700 characters) "
    "and the baseline's run up to 1,000, so chunk counts differ: articles/s is the fairer ratio."
)


@dataclass
class Bench:
    """What to run, where the indexes live, and the rows measured so far."""

    parts: list[str]
    corpora: list[str]
    backends: list[str]
    default_backend: str
    limit: int | None
    questions: int | None
    llm: str
    reuse: bool
    index_root: Path
    out: Path
    scratch: Path
    results: dict[str, Any] = field(default_factory=dict)

    def index(self, name: str) -> Path:
        return self.index_root / name

    def corpus_paths(self, corpus: str) -> list[str]:
        """The corpus folder; with --limit, a JSON Lines file of its first N news articles as our loaders read them."""
        if self.limit is None:
            return [str(CORPORA[corpus])]
        from qa.loaders import iter_articles
        from qa.types import Article

        subset = self.scratch / f"{corpus}-first{self.limit}.jsonl"
        if not subset.exists():
            articles = (a for a in iter_articles([CORPORA[corpus]])
                        if isinstance(a, Article) and fnmatch(a.source, NEWS_SOURCES[corpus]))
            records = [{"id": a.source, "title": a.title, "date": a.date, "place": a.place, "outlet": a.outlet,
                        "text": a.text} for a in islice(articles, self.limit)]
            subset.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        return [str(subset)]

    def questions_for(self, part: str, name: str) -> list[str]:
        wanted = self.questions or DEFAULT_QUESTIONS[part]
        questions = load_questions(name)
        if part == "serve":  # more requests than the set has questions: ask them again in turn
            return list(islice(cycle(questions), wanted))
        return questions[:wanted]

    def require_index(self, name: str) -> Path:
        index = self.index(name)
        if not has_index(index):
            raise BenchError(f"no {name} index at {index}: build it first with --parts ingest --corpora {name}"
                             + (f" --limit {self.limit}" if self.limit else "") + ".")
        return index


# ---- 1. Ingest ------------------------------------------------------------------------------------

def part_ingest(bench: Bench) -> list[dict[str, Any]]:
    for backend in bench.backends:
        run_child("prepare", {}, backend=backend)  # a first ONNX use exports the model: not part of any ingest
    limit = run_child("limit", {})
    rows = []
    for corpus in bench.corpora:
        paths = bench.corpus_paths(corpus)
        for backend in bench.backends:
            kept = bench.index(corpus) if backend == bench.default_backend else None
            for row in ingest_twice(bench, corpus, paths, backend, kept):
                tokens_per_s = rate(row["tokens_embedded"], row["embed_s"]) if row.get("tokens_embedded") else None
                rows.append({**row, "articles_per_s": rate(row["articles"], row["seconds"]),
                             "chunks_per_s": rate(row["chunks_written"], row["seconds"]),
                             "tokens_per_s": tokens_per_s})
    print(markdown_table(
        ["corpus", "backend", "run", "articles", "chunks written", "reused vectors", "ingest s", "process s",
         "articles/s", "chunks/s", "embedding tokens/s", "peak RSS MB"],
        [[r["corpus"], r["backend"], r["run"], fmt(r["articles"]), fmt(r["chunks_written"]),
          fmt(r.get("passages_reused")), fmt(r["seconds"]), fmt(r["process_s"]), fmt(r["articles_per_s"]),
          fmt(r["chunks_per_s"]), fmt(r["tokens_per_s"]), fmt(r["peak_rss_mb"], 0)] for r in rows]))
    print("\nprocess s: the child process from start to exit (imports included); "
          "ingest s: the `ingest()` call, model load included; reused vectors: passages written with the vector of "
          "the same embedded text earlier in the run; embedding tokens/s: tokens the model ran over the seconds "
          "spent waiting for vectors.")
    for first, again in zip(rows[::2], rows[1::2], strict=False):
        if first["run"] == "cold" and again["run"] == "re-ingest":
            print(f"{first['corpus']} ({first['backend']}): the unchanged re-ingest took {fmt(again['seconds'], 2)} s, "
                  f"{fmt(ratio(first['seconds'], again['seconds']), 0)}x faster than the first ingest.")
    print(f"\nMachine limit through ONNX Runtime (tokens x {limit['shape'][0]} times {limit['shape'][0]} x "
          f"{limit['shape'][1]} matrix products for {', '.join(map(str, limit['tokens_tried']))} tokens, all cores, "
          f"the best): fp32 {fmt(limit['fp32_gflops'])} GFLOP/s = {fmt(limit['fp32_tokens_per_s'])} MiniLM "
          f"tokens/s; int8 {fmt(limit['int8_gops'])} GOP/s = {fmt(limit['int8_tokens_per_s'])} tokens/s "
          f"({fmt(limit['flops_per_token'] / 1e6, 1)} MFLOP of matrix products per token).")
    for r in rows:
        if r["tokens_per_s"]:
            bound = limit["int8_tokens_per_s" if r["backend"] == "onnx-int8" else "fp32_tokens_per_s"]
            print(f"{r['corpus']} {r['run']} ({r['backend']}): embedding ran {fmt(r['tokens_per_s'])} tokens/s, "
                  f"{fmt(100 * r['tokens_per_s'] / bound, 0)}% of that limit.")
    return [*rows, {"run": "limit", **limit}]


def ingest_twice(bench: Bench, corpus: str, paths: list[str], backend: str, kept: Path | None) -> list[dict[str, Any]]:
    """A cold ingest into a fresh folder, then the unchanged corpus again; each in its own process.

    The folder replaces `kept` only once both runs succeeded, so an interrupted run never costs the old index.
    """
    label = {"corpus": corpus, "backend": backend}
    if kept is not None and bench.reuse and has_index(kept):
        print(f"{corpus} ({backend}): reusing {kept} (--reuse); the cold ingest is not run.")
        again = run_child("ingest", {"paths": paths, "index_dir": str(kept)}, backend=backend)
        return [{**label, "run": "re-ingest", **again}]
    bench.index_root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{corpus}-{backend}-", dir=bench.index_root))
    folder.chmod(0o755)  # mkdtemp makes it private; as a kept index it should look like any other
    try:
        task = {"paths": paths, "index_dir": str(folder)}
        rows = [{**label, "run": run, **run_child("ingest", task, backend=backend)} for run in ("cold", "re-ingest")]
        if kept is not None:
            shutil.rmtree(kept, ignore_errors=True)
            folder.rename(kept)
        return rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---- 2. Baseline ----------------------------------------------------------------------------------

def part_baseline(bench: Bench) -> list[dict[str, Any]]:
    ours = [r for r in bench.results.get("ingest", []) if isinstance(r, dict) and r.get("run") == "cold"]
    rows = []
    for corpus in bench.corpora:
        bench.out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"baseline-{corpus}-", dir=bench.out) as folder:
            result = run_child("baseline", {"paths": bench.corpus_paths(corpus), "persist_dir": folder})
        baseline = {"corpus": corpus, "pipeline": "LangChain tutorial", "backend": "torch", **result,
                    "articles_per_s": rate(result["articles"], result["seconds"]),
                    "chunks_per_s": rate(result["chunks"], result["seconds"])}
        rows.append(baseline)
        for run in (r for r in ours if r["corpus"] == corpus):
            rows.append({"corpus": corpus, "pipeline": "ours", "backend": run["backend"], "articles": run["articles"],
                         "chunks": run["chunks_written"], "seconds": run["seconds"], "process_s": run["process_s"],
                         "peak_rss_mb": run["peak_rss_mb"], "articles_per_s": run["articles_per_s"],
                         "chunks_per_s": run["chunks_per_s"],
                         "articles_per_s_ratio": ratio(run["articles_per_s"], baseline["articles_per_s"]),
                         "chunks_per_s_ratio": ratio(run["chunks_per_s"], baseline["chunks_per_s"])})
    print(markdown_table(
        ["corpus", "pipeline", "backend", "articles", "chunks", "timed s", "process s", "articles/s", "chunks/s",
         "peak RSS MB", "articles/s ours÷baseline (fairer)", "chunks/s ours÷baseline"],
        [[r["corpus"], r["pipeline"], r["backend"], fmt(r["articles"]), fmt(r["chunks"]), fmt(r["seconds"]),
          fmt(r["process_s"]), fmt(r["articles_per_s"]), fmt(r["chunks_per_s"]), fmt(r["peak_rss_mb"], 0),
          fmt(r.get("articles_per_s_ratio"), 2), fmt(r.get("chunks_per_s_ratio"), 2)] for r in rows]))
    print(f"\n{TIMED_NOTE}" + ("" if ours else " (Run --parts ingest in the same run for our rows and the ratios.)"))
    return rows


# ---- 3. Query -------------------------------------------------------------------------------------

def part_query(bench: Bench) -> list[dict[str, Any]]:
    rows = []
    for name in ["sample", *bench.corpora]:
        index = bench.index(name)
        if name == "sample" and not has_index(index):
            run_child("ingest", {"paths": [str(SAMPLE_ARTICLES)], "index_dir": str(index)})
        try:
            bench.require_index(name)
        except BenchError as error:
            print(error)
            continue
        questions = bench.questions_for("query", name)
        result = run_child("query", {"index_dir": str(index), "questions": questions, "warm_up": WARM_UP})
        rows.append({"index": name, "questions": len(questions), **result,
                     "p50_ms": percentile(result["uncached_ms"], 50), "p95_ms": percentile(result["uncached_ms"], 95),
                     "cached_p50_ms": percentile(result["cached_ms"], 50),
                     "cached_p95_ms": percentile(result["cached_ms"], 95)})
    print(markdown_table(
        ["index", "backend", "chunks", "questions", "p50 ms", "p95 ms", "cached p50 ms", "peak RSS MB"],
        [[r["index"], r["backend"], fmt(r["chunks"]), r["questions"], fmt(r["p50_ms"]), fmt(r["p95_ms"]),
          fmt(r["cached_p50_ms"]), fmt(r["peak_rss_mb"], 0)] for r in rows]))
    print("\nRetrieval only (`Pipeline.retrieve`, what `answer()` prompts with), after one warm-up; "
          "p50/p95 over each question's first, uncached ask; cached: the same questions asked again.")
    return rows


# ---- 4. Answer ------------------------------------------------------------------------------------

def part_answer(bench: Bench) -> list[dict[str, Any]]:
    index = bench.require_index("bbc")
    questions = bench.questions_for("answer", "bbc")
    options = {"index_dir": str(index), "questions": questions, "warm_up": WARM_UP, "llm": bench.llm}
    result = run_child("answer", options)
    row = {"llm": bench.llm, "questions": len(questions), **result,
           "answer_p50_s": percentile(result["answer_s"], 50), "answer_p95_s": percentile(result["answer_s"], 95),
           "first_text_p50_s": percentile(result["first_text_s"], 50),
           "first_text_p95_s": percentile(result["first_text_s"], 95)}
    print(markdown_table(
        ["llm", "index chunks", "questions", "answer p50 s", "answer p95 s", "first text p50 s", "first text p95 s",
         "streamed", "abstained", "peak RSS MB"],
        [[", ".join(row["llm_used"]), fmt(row["chunks"]), row["questions"], fmt(row["answer_p50_s"], 2),
          fmt(row["answer_p95_s"], 2), fmt(row["first_text_p50_s"], 2), fmt(row["first_text_p95_s"], 2),
          len(row["first_text_s"]), row["abstained"], fmt(row["peak_rss_mb"], 0)]]))
    print("\n`answer()` end to end after one warm-up call; first text: from calling `stream_answer()` to its first "
          "text, over the answers that streamed any (an abstention yields only the final Answer).")
    return [row]


# ---- 5. Serve memory ------------------------------------------------------------------------------

def part_serve(bench: Bench) -> list[dict[str, Any]]:
    from qa.settings import load_settings

    index = bench.require_index("bbc")
    bench.out.mkdir(parents=True, exist_ok=True)
    questions = bench.questions_for("serve", "bbc")
    row = measure_served_app(index, bench.llm, questions, load_settings().k, bench.out / "serve.log")
    print(markdown_table(
        ["llm", "questions", "RSS ready MB", "RSS after MB", "peak RSS MB", "p50 s", "p95 s", "errors"],
        [[row["llm"], row["questions"], fmt(row["rss_ready_mb"], 0), fmt(row["rss_after_mb"], 0),
          fmt(row["rss_peak_mb"], 0), fmt(row["p50_s"], 2), fmt(row["p95_s"], 2), len(row["errors"])]]))
    print(f"\n`qa serve` over {index}, asked one question at a time through gradio_client (/answer); RSS summed over "
          "the server and its child processes; peak: their VmHWM. The questions cycle through the BBC set.")
    return [row]


# ---- Running it -----------------------------------------------------------------------------------

PARTS: dict[str, Callable[[Bench], list[dict[str, Any]]]] = {
    "ingest": part_ingest, "baseline": part_baseline, "query": part_query, "answer": part_answer, "serve": part_serve,
}
TITLES = {
    "ingest": "Ingest", "baseline": "Baseline: LangChain's RAG tutorial indexing", "query": "Query (retrieval only)",
    "answer": "Answer", "serve": "Serve memory",
}


def split_list(value: str, allowed: tuple[str, ...], what: str) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    unknown = [item for item in items if item not in allowed]
    if unknown or not items:
        raise SystemExit(f"--{what}: {', '.join(unknown) or 'nothing given'}; choose from {', '.join(allowed)}.")
    return items


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help="Comma-separated parts to run (default: all).")
    parser.add_argument("--corpora", default=",".join(CORPORA), help="Comma-separated corpora (default: bbc,reuters).")
    parser.add_argument(
        "--backends", default="onnx-int8,torch", help="Embedding backends to ingest with (QA_EMBEDDING_BACKEND)."
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="Only the first N articles/stories per corpus (smoke runs)."
    )
    parser.add_argument(
        "--questions", type=int, default=None,
        help="At most N questions per set (default: query all, answer 20, serve 100).",
    )
    parser.add_argument(
        "--llm", default="local", choices=LLM_MODES, help="LLM for the answer and serve parts (default: local)."
    )
    parser.add_argument("--reuse", action="store_true", help="Keep an existing full index instead of rebuilding it.")
    parser.add_argument(
        "--indexes", type=Path, default=REPO / "bench-out" / "indexes", help="Where the full indexes live."
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench-out" / "speed", help="Folder for speed.json and serve.log."
    )
    return parser.parse_args(argv)


def make_bench(args: argparse.Namespace, scratch: Path) -> tuple[Bench, list[str]]:
    """The run's configuration, and notes on what differs from what was asked."""
    notes = []
    backends = split_list(args.backends, BACKENDS, "backends")
    default = embedding_backend()
    if args.limit is not None and args.limit < 1:
        raise SystemExit("--limit must be at least 1.")
    out = args.out.resolve()
    index_root = out / f"indexes-limit{args.limit}" if args.limit else args.indexes.resolve()
    bench = Bench(parts=split_list(args.parts, tuple(PARTS), "parts"),
                  corpora=split_list(args.corpora, tuple(CORPORA), "corpora"),
                  backends=backends, default_backend=default, limit=args.limit, questions=args.questions, llm=args.llm,
                  reuse=args.reuse, index_root=index_root, out=out, scratch=scratch)
    if "ingest" in bench.parts and default not in backends:
        notes.append(f"The kept indexes are built by the default backend ({default}), which --backends leaves out: "
                     f"{index_root} is not rebuilt.")
    return bench, notes


def write_report(bench: Bench, report: dict[str, Any]) -> Path:
    bench.out.mkdir(parents=True, exist_ok=True)
    path = bench.out / "speed.json"
    path.write_text(json.dumps({**report, "parts": bench.results}, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as scratch:
        bench, notes = make_bench(args, Path(scratch))
        for note in notes:
            print(f"Note: {note}")
        report = {"machine": machine_info(), "arguments": {k: str(v) for k, v in vars(args).items()},
                  "default_backend": bench.default_backend, "backends": bench.backends,
                  "index_root": str(bench.index_root), "notes": notes}
        for part in bench.parts:
            print(f"\n### {TITLES[part]}\n", flush=True)
            try:
                bench.results[part] = PARTS[part](bench)
            except BenchError as error:
                print(f"{part} did not run: {error}", file=sys.stderr)
                bench.results[part] = {"error": str(error)}
            path = write_report(bench, report)
        print(f"\nWrote {path}")


if __name__ == "__main__":
    main()
