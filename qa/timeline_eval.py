"""Scoring timelines against gold dated entries: entry recall and precision, date and figure accuracy.

A question file is JSON Lines, one topic a line: `{"id", "split": "dev"|"test", "corpus",
"topic", "date_from", "date_to", "entries": [{"date", "sources": [source suffixes],
"figure": {"value", "period_end"} | null}], "optional": [source suffixes], "conflicts":
[{"period_end", "values"}]}`. A returned entry matches a gold entry when one of its
sources (the shown copy or those listed beside it) ends with one of the gold sources.
Counts are pooled over the topics:
- entry recall: gold entries matched by some returned entry;
- entry precision: returned entries matching a gold entry, among those that match no
  optional source only (a story on the topic that the gold neither asks for nor forbids);
- date accuracy: matched entries dated as the gold says;
- figure accuracy: matched gold entries with a figure whose entry reads the same value
  (within 0.5%) for the same reference period (its end date; none when the gold has none);
- conflicts found: gold disagreements (period, values) that the timeline reports.
Left out: the wording of the chosen sentence, and units (a count, dlrs and $ are not told apart).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable

from .errors import QuestionFileError
from .timelines import Timeline

VALUE_TOLERANCE = 0.005  # rounding in the report ("32.8" for 32.80) but not a different figure
METRICS = ("entry_recall", "entry_precision", "date_accuracy", "figure_accuracy", "conflicts_found")


def load_timeline_questions(path: str | Path, *, split: str | None = None, corpus: str | None = None) -> list[dict]:
    """The topics of a timeline question file, optionally one split and one corpus."""
    records = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise QuestionFileError(f"Cannot read the timeline questions {path}: {error}.") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise QuestionFileError(f"{path}, line {number}: not JSON ({error}).") from None
        if not isinstance(record, dict) or not record.get("topic") or record.get("split") not in ("dev", "test"):
            raise QuestionFileError(f'{path}, line {number}: needs a "topic" and a "split" of "dev" or "test".')
        if (split is None or record["split"] == split) and (corpus is None or record.get("corpus") == corpus):
            records.append(record)
    return records


def _sources(entry) -> tuple[str, ...]:
    return (entry.citation.source, *entry.citation.also_reported_by)


def _matches(sources: tuple[str, ...], suffixes: list[str]) -> bool:
    return any(s.endswith(suffix) for s in sources for suffix in suffixes)


def _close(value: float, gold: float) -> bool:
    return math.isclose(value, gold, rel_tol=VALUE_TOLERANCE)


def _figure_right(entry, gold: dict) -> bool:
    reading = entry.reading
    if reading is None or not _close(reading.value, gold["value"]):
        return False
    end = reading.period.end if reading.period else None
    return end == gold.get("period_end")


def score_timeline(record: dict, timeline: Timeline) -> dict:
    """Counts for one topic (pooled by `summarise`) and the entries that missed, for the report."""
    gold, optional = record["entries"], record.get("optional", [])
    counts = dict.fromkeys(["gold", "found", "returned", "judged", "correct", "dated", "figures", "figures_right",
                            "conflicts", "conflicts_found"], 0)
    counts["gold"], counts["returned"] = len(gold), len(timeline.entries)
    missed = []
    for item in gold:
        hits = [e for e in timeline.entries if _matches(_sources(e), item["sources"])]
        counts["found"] += bool(hits)
        counts["dated"] += any(e.date == item["date"] for e in hits)
        if item.get("figure"):
            counts["figures"] += bool(hits)
            right = any(_figure_right(e, item["figure"]) for e in hits)
            counts["figures_right"] += right
            if hits and not right:
                got = hits[0].reading
                missed.append({"figure": item["figure"], "got": got and [got.value, got.period and got.period.end]})
        if not hits:
            missed.append({"entry": item["date"], "sources": item["sources"]})
    wrong = []
    for entry in timeline.entries:
        sources = _sources(entry)
        if any(_matches(sources, item["sources"]) for item in gold):
            counts["judged"] += 1
            counts["correct"] += 1
        elif not _matches(sources, optional):
            counts["judged"] += 1
            wrong.append({"date": entry.date, "source": entry.citation.source, "sentence": entry.sentence[:160]})
    for conflict in record.get("conflicts", []):
        counts["conflicts"] += 1
        counts["conflicts_found"] += any(
            d.period.end == conflict["period_end"]
            and all(any(_close(r.value, v) for r in d.readings) for v in conflict["values"])
            for d in timeline.disagreements
        )
    return {"id": record["id"], "split": record["split"], "topic": record["topic"], **counts, "missed": missed,
            "wrong": wrong}


def summarise(rows: list[dict]) -> dict:
    """The metrics pooled over the topics' counts (None where nothing was there to count)."""
    total = {key: sum(r[key] for r in rows) for key in rows[0] if isinstance(rows[0][key], int)} if rows else {}

    def share(part: str, whole: str) -> float | None:
        return round(total[part] / total[whole], 3) if total.get(whole) else None

    return {
        "topics": len(rows),
        "entry_recall": share("found", "gold"),
        "entry_precision": share("correct", "judged"),
        "date_accuracy": share("dated", "found"),
        "figure_accuracy": share("figures_right", "figures"),
        "conflicts_found": share("conflicts_found", "conflicts"),
        "counts": total,
        "latency_max_s": max((r["latency_s"] for r in rows), default=None),
    }


def run_timeline_eval(records: list[dict], build: Callable[[dict], Timeline], out_dir: str | Path) -> dict:
    """Build each topic's timeline, score it, and write results.jsonl and summary.json to `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for record in records:
        started = time.perf_counter()
        timeline = build(record)
        row = score_timeline(record, timeline)
        row["latency_s"] = round(time.perf_counter() - started, 3)
        rows.append(row)
    summary = summarise(rows)
    (out / "results.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                       encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
