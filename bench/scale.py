"""Retrieval and `qa serve` memory at 1x, 4x and 10x Reuters-21578 (55k to 550k passages), without re-embedding.

Usage: python bench/scale.py [--source bench-out/indexes/reuters] [--out bench-out/scale] [--sizes 1,4,10]
           [--questions N] [--serve-questions N]

The index under --out/index is made from the full Reuters index (`python bench/speed.py
--parts ingest --corpora reuters` builds it) by copying its stored vectors and texts:
copy n (n = 0 for the original) gets ids `<id>~<n>`, sources `<source>~<n>` and dates
moved n whole years on; no model runs. The side indexes (BM25, vectors, duplicate
signatures) are then brought in line by the store's own sync, as another machine's
would be. At each size, in fresh processes: retrieval p50/p95 of the Reuters set's
questions, dated (the question names a time) and undated apart, with window searches
scored from the side index's vectors (ours) and by Chroma's filtered search (the
baseline), in the same run; the time an open with current side indexes spends on the
sync check; and `qa serve`'s RSS after answering questions. Prints a Markdown table
and writes --out/scale.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 (after the path line above)
    REPO,
    WARM_UP,
    BenchError,
    fmt,
    has_index,
    load_questions,
    machine_info,
    markdown_table,
    percentile,
    run_child,
)
from _serve import measure_served_app  # noqa: E402

PAGE = 5000
MODES = ("side", "chroma")  # who scores a dense search inside a date window: ours, then the baseline


def shifted(day: str, years: int) -> str:
    """An ISO date `years` later (29 February becomes 28 February where the year has none)."""
    if not day or not years:
        return day
    year, rest = int(day[:4]) + years, day[4:]
    if rest == "-02-29" and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        rest = "-02-28"
    return f"{year:04d}{rest}"


def add_copies(source_dir: Path, target_dir: Path, copies: range) -> int:
    """Write copies `copies` of every chunk of the source index into the target's collection; returns rows written."""
    from qa.dates import date_number
    from qa.embeddings import make_embeddings
    from qa.settings import load_settings
    from qa.store import open_client, open_store

    source_settings = load_settings(index_dir=source_dir)
    source = open_client(source_settings).get_collection(source_settings.collection)
    settings = load_settings(index_dir=target_dir)
    # Opening creates the collection the way an ingest would (model name, cosine space); nothing is embedded.
    store = open_store(settings, make_embeddings(settings), settings.embedding_model)
    written, offset = 0, 0
    while True:
        page = source.get(include=["documents", "metadatas", "embeddings"], limit=PAGE, offset=offset)
        for n in copies:
            metadatas = []
            for metadata in page["metadatas"]:
                day = shifted(metadata.get("date", ""), n)
                metadatas.append({**metadata, "source": f"{metadata['source']}~{n}" if n else metadata["source"],
                                  "date": day, "date_num": date_number(day) or 0})
            store.collection.upsert(ids=[f"{i}~{n}" if n else i for i in page["ids"]], embeddings=page["embeddings"],
                                    documents=page["documents"], metadatas=metadatas)
            written += len(page["ids"])
        offset += PAGE
        if len(page["ids"]) < PAGE:
            return written


def sync_side_indexes(target_dir: Path) -> float:
    """Bring the target's side indexes in line with its collection, as any machine opening it would; seconds."""
    started = time.perf_counter()
    run_child("query", {"index_dir": str(target_dir), "questions": [], "warm_up": WARM_UP})
    return time.perf_counter() - started


def measure(target_dir: Path, questions: list[str], serve_questions: list[str], out: Path) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for mode in MODES:
        result = run_child("window_query", {"index_dir": str(target_dir), "questions": questions,
                                            "warm_up": WARM_UP, "filtered_dense": mode})
        row["chunks"] = result["chunks"]
        row[f"{mode}_open_s"], row[f"{mode}_sync_s"] = result["open_s"], result["sync_s"]
        row[f"{mode}_peak_rss_mb"] = result["peak_rss_mb"]
        for kind, wanted in (("dated", True), ("undated", False)):
            ms = [m for m, dated in zip(result["ms"], result["dated"], strict=True) if dated == wanted]
            row[f"{mode}_{kind}_questions"] = len(ms)
            row[f"{mode}_{kind}_p50_ms"], row[f"{mode}_{kind}_p95_ms"] = percentile(ms, 50), percentile(ms, 95)
        every = result["ms"]
        row[f"{mode}_all_p50_ms"], row[f"{mode}_all_p95_ms"] = percentile(every, 50), percentile(every, 95)
    served = measure_served_app(target_dir, "extractive", serve_questions, 4, out / f"serve-{row['chunks']}.log")
    row.update({"serve_rss_ready_mb": served["rss_ready_mb"], "serve_rss_after_mb": served["rss_after_mb"],
                "serve_rss_peak_mb": served["rss_peak_mb"], "serve_errors": served["errors"]})
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    print(markdown_table(
        ["passages", "questions dated/undated", "dated p50/p95 ms", "baseline dated p50/p95 ms",
         "undated p50/p95 ms", "all p50/p95 ms", "baseline all p50/p95 ms", "sync check ms", "serve RSS MB"],
        [[fmt(r["chunks"]), f"{r['side_dated_questions']}/{r['side_undated_questions']}",
          f"{fmt(r['side_dated_p50_ms'])} / {fmt(r['side_dated_p95_ms'])}",
          f"{fmt(r['chroma_dated_p50_ms'])} / {fmt(r['chroma_dated_p95_ms'])}",
          f"{fmt(r['side_undated_p50_ms'])} / {fmt(r['side_undated_p95_ms'])}",
          f"{fmt(r['side_all_p50_ms'])} / {fmt(r['side_all_p95_ms'])}",
          f"{fmt(r['chroma_all_p50_ms'])} / {fmt(r['chroma_all_p95_ms'])}",
          fmt(r["side_sync_s"] * 1000), fmt(r["serve_rss_peak_mb"], 0)] for r in rows]))
    print("\nRetrieval only (`Pipeline.retrieve`), each question's first ask, in a fresh process per mode after one "
          "warm-up. Baseline: the same code with window searches run by Chroma's filtered search. Sync check: "
          "`sync_side_indexes` on an open store whose side indexes are current. Serve RSS: peak (VmHWM) of "
          "`qa serve` and its children after answering the questions through its API (extractive).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=REPO / "bench-out" / "indexes" / "reuters")
    parser.add_argument("--out", type=Path, default=REPO / "bench-out" / "scale")
    parser.add_argument("--sizes", default="1,4,10", help="Copies of Reuters at which to measure, ascending.")
    parser.add_argument("--questions", type=int, default=None, help="Questions per run (default: the whole set).")
    parser.add_argument("--serve-questions", type=int, default=10)
    args = parser.parse_args()
    if not has_index(args.source):
        raise SystemExit(f"No Reuters index at {args.source}: build it with "
                         "`python bench/speed.py --parts ingest --corpora reuters` first.")
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    questions = load_questions("reuters", args.questions)
    target = args.out / "index"
    shutil.rmtree(target, ignore_errors=True)  # every run builds its copies afresh
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": machine_info(), "arguments": {k: str(v) for k, v in vars(args).items()},
                              "rows": []}
    done = 0
    for size in sizes:
        started = time.perf_counter()
        written = add_copies(args.source, target, range(done, size))
        copy_s = time.perf_counter() - started
        sync_s = sync_side_indexes(target)
        done = size
        print(f"{size}x: wrote {written:,} rows in {copy_s:.0f} s, side indexes synced in {sync_s:.0f} s", flush=True)
        try:
            row = measure(target, questions, questions[: args.serve_questions], args.out)
        except BenchError as error:
            raise SystemExit(str(error)) from None
        report["rows"].append({"copies": size, "copy_s": copy_s, "side_sync_s": sync_s, **row})
        (args.out / "scale.json").write_text(json.dumps(report, indent=2))
    print_table(report["rows"])
    print(f"\nWrote {args.out / 'scale.json'}")


if __name__ == "__main__":
    main()
