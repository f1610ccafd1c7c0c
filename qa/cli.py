"""The `qa` command: thin wrappers over the library that parse options and print results.

Errors the user can act on (`QAError`) are printed as one message and exit code 1,
never as a traceback.
"""

from __future__ import annotations

import functools
import json
import sys

import click

from .errors import QAError
from .settings import LLM_MODES, SettingsError, load_settings


def reports_errors(command):
    """Print QAError/SettingsError as a message and exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (QAError, SettingsError) as error:
            click.secho(f"Error: {error}", fg="red", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="news-qa")
def main():
    """Question answering over news articles, with cited passages."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@reports_errors
def ingest(paths, quiet):
    """Add or update the articles in PATHS (files or folders) in the index."""
    from .api import ingest as ingest_paths

    settings = load_settings()
    summary = ingest_paths(paths, settings=settings, progress=not quiet)
    click.echo(f"Ingested {', '.join(paths)}: {summary.describe()}")


@main.command()
@click.argument("question")
@click.option("--k", type=int, default=None, help="Passages to retrieve (default QA_K).")
@click.option("--llm", type=click.Choice(LLM_MODES), default=None, help="Answer generator (default QA_LLM).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole Answer as JSON.")
@reports_errors
def ask(question, k, llm, as_json):
    """Answer QUESTION from the indexed articles."""
    from .api import answer

    result = answer(question, k=k, settings=load_settings(llm=llm))
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(str(result))


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
