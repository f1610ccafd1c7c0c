"""Retrieval quality of dense, BM25, hybrid and hybrid-with-dates search on the bundled question sets.

Usage: python bench/retrieval_modes.py [--out bench-out/retrieval] [--sets sample,bbc,reuters]

Each set gets its own index under --indexes (built on first use; re-running only
re-reads the files): the sample articles; the sample articles plus the BBC corpus;
Reuters-21578. Both corpora are read from ../shared/corpus and never copied. Every
question goes through `qa.api.evaluate` with the extractive LLM (retrieval metrics
do not depend on the LLM), once per retrieval mode. Prints a Markdown table and
writes it, with every run's summary, to --out/retrieval.json.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
QUESTIONS = REPO / "qa" / "questions"
SETS = {
    "sample": ([REPO / "articles"], QUESTIONS / "sample.jsonl"),
    "bbc": ([REPO / "articles", CORPUS / "bbc"], QUESTIONS / "bbc.jsonl"),
    "reuters": ([CORPUS / "reuters21578"], QUESTIONS / "reuters.jsonl"),
}
MODES = {  # name -> (QA_RETRIEVAL, QA_DATES)
    "dense": ("dense", False),
    "bm25": ("bm25", False),
    "hybrid": ("hybrid", False),
    "hybrid + dates": ("hybrid", True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-out/retrieval"))
    parser.add_argument("--indexes", type=Path, default=Path("bench-out/indexes"))
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--k", type=int, default=4)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from qa.api import evaluate, ingest
    from qa.settings import load_settings

    rows = []
    for name in args.sets.split(","):
        paths, questions = SETS[name]
        base = load_settings(index_dir=args.indexes / name, llm="extractive")
        print(f"{name}: {ingest(paths, settings=base).describe().splitlines()[0]}")
        for mode, (retrieval, dates) in MODES.items():
            settings = base.replace(retrieval=retrieval, dates=dates)
            out = args.out / name / mode.replace(" + ", "+")
            summary = evaluate(questions, k=args.k, out_dir=out, settings=settings, progress=False).to_dict()
            metrics = summary["metrics"]
            rows.append({"set": name, "mode": mode, "questions": summary["questions"],
                         "hit_at_k": metrics["hit_at_k"]["mean"], "mrr": metrics["mrr"]["mean"],
                         "hit_low": metrics["hit_at_k"]["low"], "hit_high": metrics["hit_at_k"]["high"]})
            print(f"  {mode:<15} hit@{args.k} {rows[-1]['hit_at_k']:.3f}  mrr {rows[-1]['mrr']:.3f}")
    table = [f"| set | mode | hit@{args.k} (95% CI) | MRR@10 |", "|---|---|---|---|"]
    table += [
        f"| {r['set']} ({r['questions']} q) | {r['mode']} "
        f"| {r['hit_at_k']:.3f} ({r['hit_low']:.2f}-{r['hit_high']:.2f}) | {r['mrr']:.3f} |"
        for r in rows
    ]
    print("\n".join(table))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "retrieval.json").write_text(json.dumps({"k": args.k, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
