"""The names of the evaluation metrics and the summary of a run, shared by `evaluation.py` and `report.py`.

`METRICS` lists every per-question metric in report order; `LOWER_IS_BETTER` names the
ones whose thresholds are ceilings. `summarise` turns scored result rows into an
`EvalSummary`: each metric's mean over the questions it applied to, with a bootstrap
95% interval, and the latency percentiles. `EvalSummary.to_dict()` is summary.json.

Left out: scoring an answer (`evaluation.py`, with `metrics.py`) and writing the
report (`report.py`); both import this module, so neither imports the other's internals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from qa import metrics

RETRIEVAL_METRICS = ("hit_at_k", "mrr")
ANSWER_METRICS = ("answer_accuracy", "lead_accuracy", "token_f1", "semantic_similarity")
CITATION_METRICS = ("citation_validity", "citation_precision", "citation_recall", "answer_supported")
GROUNDING_METRICS = ("unsupported_sentence_rate", "unsupported_number_rate")
METRICS = RETRIEVAL_METRICS + ANSWER_METRICS + CITATION_METRICS + ("abstention_accuracy",) + GROUNDING_METRICS
LATENCY_METRICS = ("latency_p50_s", "latency_p95_s")
# Thresholds on these are ceilings; every other threshold is a floor.
LOWER_IS_BETTER = GROUNDING_METRICS + LATENCY_METRICS
BOOTSTRAP = {"resamples": 1000, "confidence": 0.95, "seed": 0}


@dataclass(frozen=True)
class MetricSummary:
    mean: float
    low: float  # bootstrap interval of the mean
    high: float
    n: int  # questions the metric applied to


@dataclass
class EvalSummary:
    """What summary.json holds, plus the per-question rows behind it."""

    k: int
    meta: dict
    metrics: dict[str, MetricSummary | None]
    latency_p50_s: float
    latency_p95_s: float
    results: list[dict] = field(default_factory=list, repr=False)

    @property
    def questions(self) -> int:
        return len(self.results)

    def to_dict(self) -> dict:
        answerable = sum(1 for r in self.results if r["answerable"])
        return {
            **self.meta,
            "questions": self.questions,
            "answerable": answerable,
            "unanswerable": self.questions - answerable,
            "k": self.k,
            "metrics": {name: (vars(m) if m else None) for name, m in self.metrics.items()},
            "latency_p50_s": self.latency_p50_s,
            "latency_p95_s": self.latency_p95_s,
            "bootstrap": BOOTSTRAP,
        }


def summarise_metric(values: Iterable[float | None]) -> MetricSummary | None:
    """Mean and bootstrap interval of the values that are not None; None if there are none."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    low, high = metrics.bootstrap_interval(
        present, resamples=BOOTSTRAP["resamples"], confidence=BOOTSTRAP["confidence"], seed=BOOTSTRAP["seed"]
    )
    return MetricSummary(round(sum(present) / len(present), 4), round(low, 4), round(high, 4), len(present))


def summarise(results: Sequence[dict], *, k: int, meta: dict) -> EvalSummary:
    """Aggregate scored rows into an EvalSummary."""
    latencies = [r["latency_s"] for r in results]
    return EvalSummary(
        k=k,
        meta=dict(meta),
        metrics={name: summarise_metric(r[name] for r in results) for name in METRICS},
        latency_p50_s=round(metrics.percentile(latencies, 50), 4),
        latency_p95_s=round(metrics.percentile(latencies, 95), 4),
        results=list(results),
    )
