"""Turns an evaluation summary into report.md (tables a person reads) and report.png (a plot).

The markdown lists each metric's mean and interval, then every question worst first,
and, given a baseline summary.json (with its results.jsonl next to it), the metric
deltas and the questions that got worse, and last the answer sentences the grounding
check removed, with the reason. The plot shows the metric means with their
intervals beside a latency histogram.

Left out: running and scoring questions (`evaluation.py`), metric definitions
(`metrics.py`) and the metric names and summary it reads (`summary.py`).
"""

from __future__ import annotations

import json
from pathlib import Path

from qa.summary import LATENCY_METRICS, LOWER_IS_BETTER, METRICS, EvalSummary

# A per-question score must drop by more than this to count as a regression, so that
# tiny changes in continuous scores (F1, similarity) do not flood the list.
REGRESSION_TOLERANCE = 0.05
SHORT_NAMES = {
    "hit_at_k": "hit",
    "mrr": "mrr",
    "answer_accuracy": "acc",
    "lead_accuracy": "lead",
    "token_f1": "f1",
    "semantic_similarity": "sim",
    "citation_validity": "valid",
    "citation_precision": "c.prec",
    "citation_recall": "c.rec",
    "answer_supported": "supp",
    "abstention_accuracy": "abst",
    "unsupported_sentence_rate": "unsup.s",
    "unsupported_number_rate": "unsup.n",
}


def question_score(row: dict) -> float:
    """The mean of a row's applicable metrics (rates of unsupported text counted as 1 - rate), worst first."""
    values = [1 - row[name] if name in LOWER_IS_BETTER else row[name] for name in METRICS if row.get(name) is not None]
    return sum(values) / len(values) if values else 0.0


def worst_first(results: list[dict]) -> list[dict]:
    return sorted(results, key=lambda row: (question_score(row), row["id"]))


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _cell(text: str, limit: int = 80) -> str:
    """Text made safe for one markdown table cell, shortened to `limit` characters."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_baseline(summary_path: Path) -> tuple[dict, dict[str, dict] | None]:
    """A baseline summary.json and its results.jsonl rows by id (None when the file is missing)."""
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    results_path = summary_path.parent / "results.jsonl"
    if not results_path.exists():
        return summary, None
    lines = results_path.read_text(encoding="utf-8").splitlines()
    return summary, {row["id"]: row for row in map(json.loads, filter(str.strip, lines))}


def regressions(results: list[dict], baseline_rows: dict[str, dict]) -> list[tuple[dict, list[str]]]:
    """Questions present in both runs whose metrics dropped, with a line per dropped metric."""
    worse = []
    for row in worst_first(results):
        before = baseline_rows.get(row["id"])
        if before is None:
            continue
        drops = [
            f"{name} {before[name]:.2f}→{row[name]:.2f}"
            for name in METRICS
            if row.get(name) is not None and before.get(name) is not None and _got_worse(name, before[name], row[name])
        ]
        if drops:
            worse.append((row, drops))
    return worse


def _got_worse(name: str, before: float, now: float) -> bool:
    if name in LOWER_IS_BETTER:
        return now > before + REGRESSION_TOLERANCE
    return now < before - REGRESSION_TOLERANCE


def _header(summary: EvalSummary) -> list[str]:
    data = summary.to_dict()
    return [
        "# Evaluation report",
        "",
        f"- questions: {data['questions']} ({data['answerable']} answerable, {data['unanswerable']} unanswerable)"
        f" from `{data['questions_file']}`",
        f"- LLM: `{data['llm']}`; embedding model: `{data['embedding_model']}`;"
        f" index: {data['index_chunks']} chunks; k = {data['k']}",
        f"- latency: p50 {data['latency_p50_s']:.2f}s, p95 {data['latency_p95_s']:.2f}s",
        "",
    ]


def _metrics_table(summary: EvalSummary) -> list[str]:
    lines = ["## Metrics", "", "| metric | mean | 95% interval | questions |", "|---|---:|---|---:|"]
    for name in METRICS:
        m = summary.metrics[name]
        if m is None:
            lines.append(f"| {name} | – | – | 0 |")
        else:
            lines.append(f"| {name} | {m.mean:.3f} | {m.low:.3f}–{m.high:.3f} | {m.n} |")
    return lines + [""]


def _baseline_section(summary: EvalSummary, baseline_path: Path) -> list[str]:
    base, base_rows = load_baseline(baseline_path)
    lines = ["## Compared with the baseline", "", f"Baseline: `{baseline_path}`.", ""]
    if base.get("questions_file") != summary.meta.get("questions_file"):
        lines += [f"Note: the baseline used another questions file (`{base.get('questions_file')}`).", ""]
    lines += ["| metric | baseline | now | change |", "|---|---:|---:|---:|"]
    for name in METRICS:
        before = (base.get("metrics", {}).get(name) or {}).get("mean")
        now = summary.metrics[name].mean if summary.metrics[name] else None
        change = f"{now - before:+.3f}" if now is not None and before is not None else "–"
        lines.append(f"| {name} | {_number(before, 3)} | {_number(now, 3)} | {change} |")
    now_data = summary.to_dict()
    for name in LATENCY_METRICS:
        before = base.get(name)
        change = f"{now_data[name] - before:+.2f}s" if before is not None else "–"
        lines.append(f"| {name} | {_number(before)} | {now_data[name]:.2f} | {change} |")
    lines.append("")
    if base_rows is None:
        return lines + ["No results.jsonl next to the baseline, so per-question changes are not shown.", ""]
    worse = regressions(summary.results, base_rows)
    lines += [f"### Questions that got worse ({len(worse)})", ""]
    if not worse:
        return lines + ["None.", ""]
    lines += ["| id | question | what dropped |", "|---|---|---|"]
    lines += [f"| {row['id']} | {_cell(row['question'], 60)} | {', '.join(drops)} |" for row, drops in worse]
    return lines + [""]


def _questions_table(summary: EvalSummary) -> list[str]:
    names = [SHORT_NAMES[name] for name in METRICS]
    lines = [
        "## Questions, worst first",
        "",
        "Columns: " + ", ".join(f"{SHORT_NAMES[n]} = {n}" for n in METRICS) + "; – means not applicable.",
        "",
        "| id | score | question | answer | " + " | ".join(names) + " | s |",
        "|---|---:|---|---|" + "---:|" * (len(names) + 1),
    ]
    for row in worst_first(summary.results):
        # How the answer was made, and why, read from the row's route and reason (older rows have neither).
        how = "(abstained) " if row["abstained"] else ""
        if row.get("route"):
            how = f"({row['route']}: {row['reason']}) "
        answer = how + row["answer"]
        scores = " | ".join(_number(row.get(name)) for name in METRICS)
        lines.append(
            f"| {row['id']} | {question_score(row):.2f} | {_cell(row['question'], 60)} | {_cell(answer)} "
            f"| {scores} | {row['latency_s']:.2f} |"
        )
    return lines + [""]


def _removed_section(summary: EvalSummary) -> list[str]:
    """The answer sentences the grounding check took out, and why."""
    removed = [(row, r) for row in summary.results for r in row.get("removed") or []]
    if not removed:
        return []
    lines = [
        f"## Sentences removed by the grounding check ({len(removed)})",
        "",
        "| id | sentence | why |",
        "|---|---|---|",
    ]
    lines += [f"| {row['id']} | {_cell(r['text'])} | {_cell(r['reason'], 100)} |" for row, r in removed]
    return lines + [""]


def render_markdown(summary: EvalSummary, baseline: Path | None = None) -> str:
    lines = _header(summary) + _metrics_table(summary)
    if baseline is not None:
        lines += _baseline_section(summary, baseline)
    lines += _questions_table(summary) + _removed_section(summary)
    return "\n".join(lines)


def plot_summary(summary: EvalSummary, path: Path) -> None:
    """Metric means with their bootstrap intervals, and a histogram of latencies."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    measured = [(name, m) for name, m in summary.metrics.items() if m is not None]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [3, 2]})
    positions = range(len(measured))
    means = [m.mean for _, m in measured]
    errors = [[m.mean - m.low for _, m in measured], [m.high - m.mean for _, m in measured]]
    left.barh(positions, means, xerr=errors, color="tab:blue", alpha=0.7, capsize=4)
    left.set_yticks(list(positions), [name for name, _ in measured])
    left.invert_yaxis()
    left.set_xlim(min([0.0] + [m.low for _, m in measured]), 1.05)  # cosine similarity can be negative
    left.set_xlabel("mean (95% bootstrap interval)")
    left.set_title(f"{summary.questions} questions, k={summary.k}")
    latencies = [row["latency_s"] for row in summary.results]
    right.hist(latencies, bins=min(20, max(5, len(latencies) // 2)), color="tab:gray")
    right.axvline(summary.latency_p50_s, color="tab:green", linestyle="--", label=f"p50 {summary.latency_p50_s:.2f}s")
    right.axvline(summary.latency_p95_s, color="tab:red", linestyle="--", label=f"p95 {summary.latency_p95_s:.2f}s")
    right.set_xlim(left=0)
    right.set_xlabel("latency (s)")
    right.set_ylabel("questions")
    right.set_title("Latency")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_report(summary: EvalSummary, out_dir: Path, *, baseline: Path | None = None) -> list[Path]:
    """Write report.md and report.png into out_dir and return their paths."""
    markdown, image = out_dir / "report.md", out_dir / "report.png"
    markdown.write_text(render_markdown(summary, baseline), encoding="utf-8")
    plot_summary(summary, image)
    return [markdown, image]
