"""The `qa` command: thin wrappers over the library that parse options and print results.

Errors the user can act on (`QAError`) are printed as one message and exit code 1,
never as a traceback. The `qa` loggers' lines (progress off a terminal, warnings) go
to stderr.
"""

from __future__ import annotations

import functools
import json
import logging
import sys

import click

from .errors import QAError
from .settings import LLM_MODES, MAX_K, load_settings


def reports_errors(command):
    """Print a QAError as a message and exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except QAError as error:
            click.secho(f"Error: {error}", fg="red", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper


class _StderrHandler(logging.Handler):
    """Writes log lines with click to whatever stderr is when they come (a test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


def log_to_stderr() -> None:
    """Send INFO and above from the `qa` loggers to stderr, once per process."""
    logger = logging.getLogger("qa")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
        logger.setLevel(logging.INFO)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="news-qa")
def main():
    """Question answering over news articles, with cited passages."""
    log_to_stderr()


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that embed chunks (default QA_INGEST_WORKERS, 1).",
)
@reports_errors
def ingest(paths, quiet, workers):
    """Add or update the articles in PATHS (files or folders) in the index."""
    from .api import ingest as ingest_paths

    settings = load_settings(ingest_workers=workers)
    summary = ingest_paths(paths, settings=settings, progress=not quiet)
    click.echo(f"Ingested {', '.join(paths)}: {summary.describe()}")


@main.command()
@click.argument("sources", nargs=-1, required=True)
@reports_errors
def remove(sources):
    """Delete the articles with these SOURCES (as `qa ingest` names them) from the index."""
    from .api import remove as remove_sources

    removed = remove_sources(sources)
    missing = [s for s in sources if s not in removed]
    click.echo(f"Removed {len(removed)} article(s)" + (f"; not in the index: {', '.join(missing)}" if missing else ""))


@main.command()
@click.argument("question")
@click.option("--k", type=int, default=None, help=f"Passages to retrieve, 1 to {MAX_K} (default QA_K).")
@click.option("--llm", type=click.Choice(LLM_MODES), default=None, help="Answer generator (default QA_LLM).")
@click.option(
    "--from", "date_from", metavar="YYYY-MM-DD", default=None, help="Only articles published on or after this date."
)
@click.option(
    "--to", "date_to", metavar="YYYY-MM-DD", default=None, help="Only articles published on or before this date."
)
@click.option(
    "--source", "sources", multiple=True, help="Only this article (its source as listed by the index). Repeatable."
)
@click.option("--outlet", "outlets", multiple=True, help="Only articles from this outlet, e.g. Reuters. Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole Answer as JSON.")
@reports_errors
def ask(question, k, llm, date_from, date_to, sources, outlets, as_json):
    """Answer QUESTION from the indexed articles."""
    from .api import answer

    result = answer(
        question,
        k=k,
        date_from=date_from,
        date_to=date_to,
        sources=list(sources),
        outlets=list(outlets),
        settings=load_settings(llm=llm),
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(str(result))


@main.command(name="timeline")
@click.argument("topic")
@click.option(
    "--from", "date_from", metavar="YYYY-MM-DD", default=None, help="Only articles published on or after this date."
)
@click.option(
    "--to", "date_to", metavar="YYYY-MM-DD", default=None, help="Only articles published on or before this date."
)
@click.option("--source", "sources", multiple=True, help="Only this article (its source). Repeatable.")
@click.option("--outlet", "outlets", multiple=True, help="Only articles from this outlet. Repeatable.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the whole timeline (entries, series, reports that differ) as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the figures over time as CSV.")
@reports_errors
def timeline_command(topic, date_from, date_to, sources, outlets, as_json, as_csv):
    """The dated reports on TOPIC in order, each cited, with the figures they give."""
    from .api import timeline

    result = timeline(topic, date_from=date_from, date_to=date_to, sources=list(sources), outlets=list(outlets))
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    elif as_csv:
        click.echo(result.series_csv(), nl=False)
    else:
        click.echo(str(result))


@main.command(name="eval")
@click.option(
    "--questions",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="JSON Lines question set (default: the bundled sample set).",
)
@click.option("--k", type=int, default=None, help="Passages to retrieve per question (default QA_K).")
@click.option("--llm", type=click.Choice(LLM_MODES), default=None, help="Answer generator (default QA_LLM).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="eval-out",
    show_default=True,
    help="Folder for results.jsonl, summary.json, report.md, report.png.",
)
@click.option(
    "--baseline",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="summary.json of an earlier run to compare against.",
)
@click.option(
    "--fail-under",
    "fail_under",
    multiple=True,
    metavar="METRIC=VALUE",
    help="Exit 1 when a metric's mean is below VALUE (latency and the unsupported rates: above). Repeatable.",
)
@click.option(
    "--split",
    type=click.Choice(["dev", "test"]),
    default=None,
    help="Only the dev part (tune on it) or the test part (report it); default both.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@reports_errors
def evaluate(questions, k, llm, out_dir, baseline, fail_under, split, quiet):
    """Score answers against a fixed question set."""
    from .api import evaluate as run_evaluation
    from .evaluation import failed_thresholds, parse_thresholds

    thresholds = parse_thresholds(fail_under)
    summary = run_evaluation(
        questions,
        k=k,
        out_dir=out_dir,
        baseline=baseline,
        settings=load_settings(llm=llm),
        progress=not quiet,
        split=split,
    )
    data = summary.to_dict()
    click.echo(f"{data['questions']} questions ({data['split']}), llm={data['llm']}, k={data['k']}:")
    for name, value in data["metrics"].items():
        if value is not None:
            click.echo(f"  {name:<22} {value['mean']:.3f}  [{value['low']:.3f}, {value['high']:.3f}]")
    click.echo(f"  latency p50/p95        {data['latency_p50_s']:.2f} s / {data['latency_p95_s']:.2f} s")
    click.echo(f"Wrote results.jsonl, summary.json, report.md and report.png to {out_dir}/")
    misses = failed_thresholds(summary, thresholds)
    for miss in misses:
        click.secho(f"FAIL: {miss}", fg="red", err=True)
    if misses:
        sys.exit(1)


@main.command(name="eval-timeline")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Timeline question set (default: the bundled qa/questions/timeline.jsonl).")
@click.option("--split", type=click.Choice(["dev", "test"]), default=None, help="Only the dev or the test part.")
@click.option("--corpus", default=None, help='Only the topics whose "corpus" is this (e.g. reuters, sample).')
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="eval-timeline", show_default=True,
              help="Folder for results.jsonl and summary.json.")
@reports_errors
def evaluate_timelines(questions, split, corpus, out_dir):
    """Score timelines against gold dated entries: entry recall and precision, date and figure accuracy."""
    from .api import evaluate_timelines as run_evaluation
    from .timeline_eval import METRICS

    summary = run_evaluation(questions, split=split, corpus=corpus, out_dir=out_dir)
    click.echo(f"{summary['topics']} topics ({summary['split']}, corpus {summary['corpus']}):")
    for name in METRICS:
        value = summary[name]
        click.echo(f"  {name:<18} {'–' if value is None else f'{value:.3f}'}")
    click.echo(f"  slowest timeline   {summary['latency_max_s'] or 0:.2f} s")
    click.echo(f"Wrote results.jsonl and summary.json to {out_dir}/")


@main.command()
@click.option("--host", default=None, help="Address to bind (default QA_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default QA_PORT, 7860).")
@reports_errors
def serve(host, port):
    """Serve the chat page."""
    from .ui import serve as serve_ui

    serve_ui(load_settings(host=host, port=port))


if __name__ == "__main__":
    main()
