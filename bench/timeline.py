"""How long a timeline takes over full Reuters-21578 (goal: under 3 s on 2 cores).

Opens the Reuters index (read only: nothing is ingested), builds one warm-up timeline,
then times every Reuters topic of qa/questions/timeline.jsonl and a few wide topics
that match hundreds of stories, each `--repeats` times in this process (models loaded
once, as in `qa serve`). Prints a table and writes JSON to `--out`.

    QA_INDEX_DIR=bench-out/indexes/reuters python bench/timeline.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import QUIET_ENV, REPO, fmt, machine_info, markdown_table  # noqa: E402

# Topics that match hundreds of stories, with no date window: the case "retrieve wide, then select" is for.
WIDE_TOPICS = ["oil prices", "U.S. trade deficit", "interest rates", "coffee export quotas"]
GOAL_S = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=os.environ.get("QA_INDEX_DIR", str(REPO / "bench-out/indexes/reuters")))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(REPO / "bench-out" / "timeline.json"))
    args = parser.parse_args()
    os.environ.update(QUIET_ENV)

    from qa.api import get_pipeline, timeline
    from qa.settings import load_settings
    from qa.timeline_eval import load_timeline_questions

    settings = load_settings(index_dir=Path(args.index))
    started = time.perf_counter()
    pipeline = get_pipeline(settings)
    passages = pipeline.store.count()
    load_s = time.perf_counter() - started
    records = load_timeline_questions(REPO / "qa" / "questions" / "timeline.jsonl", corpus="reuters")
    topics = [(r["topic"], r.get("date_from"), r.get("date_to")) for r in records] + [(t, None, None)
                                                                                    for t in WIDE_TOPICS]
    started = time.perf_counter()
    timeline("money supply", settings=settings)
    warm_s = time.perf_counter() - started
    rows = []
    for topic, date_from, date_to in topics:
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            result = timeline(topic, date_from=date_from, date_to=date_to, settings=settings)
            times.append(time.perf_counter() - started)
        rows.append({"topic": topic, "date_from": date_from, "date_to": date_to, "entries": len(result.entries),
                     "candidates": result.candidates, "figures": len(result.series),
                     "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)})
    worst = max(r["max_s"] for r in rows)
    report = {"index": args.index, "passages": passages, "load_s": round(load_s, 2), "warm_up_s": round(warm_s, 2),
              "repeats": args.repeats, "goal_s": GOAL_S, "worst_s": worst, "met": worst < GOAL_S, "rows": rows,
              "machine": machine_info()}
    print(f"Reuters index: {passages:,} passages; pipeline opened in {load_s:.1f} s, first timeline {warm_s:.2f} s")
    print(markdown_table(
        ["topic", "window", "articles retrieved", "entries", "figures", "median s", "max s"],
        [[r["topic"], f"{r['date_from'] or '…'} – {r['date_to'] or '…'}", fmt(r["candidates"]), fmt(r["entries"]),
          fmt(r["figures"]), fmt(r["median_s"], 2), fmt(r["max_s"], 2)] for r in rows]))
    print(f"worst {worst:.2f} s against the goal of {GOAL_S:.0f} s: {'met' if worst < GOAL_S else 'MISSED'}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
