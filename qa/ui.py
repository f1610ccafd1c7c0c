"""The Gradio chat page: a thin layer over `stream_answer()` that formats answers and sources.

Each reply streams the answer text, then shows its numbered sources (title, date,
outlet, source path and the passage). Errors the user can act on appear as a
message in the chat. Article text is escaped before display, so HTML in an
article is shown, never run. Answering logic stays in the library.
"""

from __future__ import annotations

import html
from typing import Iterator

from .errors import QAError
from .settings import Settings
from .types import Answer, Citation, Passage

TITLE = "News QA"
DESCRIPTION = "Ask about the indexed news articles. Answers cite their passages as [n]; sources are listed under each answer."
EXAMPLES = ["What did Kazakhstan offer the EU on rare earths?", "Who headed the EU delegation?"]
PASSAGE_PREVIEW_CHARS = 600


def format_source(number: int | None, item: Citation | Passage) -> str:
    """One source as Markdown: number, title, date, outlet, source, and the passage quoted."""
    label = f"**[{number}]** " if number is not None else ""
    details = ", ".join(x for x in (item.date, item.outlet, item.place) if x)
    title = html.escape(item.title or item.source)
    text = html.escape(" ".join(item.text.split()))
    if len(text) > PASSAGE_PREVIEW_CHARS:
        text = text[:PASSAGE_PREVIEW_CHARS].rsplit(" ", 1)[0] + " …"
    head = f"{label}{title}" + (f" — {html.escape(details)}" if details else "")
    return f"{head}  \n`{html.escape(item.source)}`\n> {text}"


def format_answer(answer: Answer) -> str:
    """The full reply: answer text, then its sources (or the closest passages when it abstained)."""
    parts = [html.escape(answer.text)]
    if answer.citations:
        parts.append("**Sources**")
        parts += [format_source(c.number, c) for c in answer.citations]
    elif answer.abstained and answer.passages:
        parts.append("**Closest passages** (not enough to answer from)")
        parts += [format_source(None, p) for p in answer.passages[:3]]
    return "\n\n".join(parts)


def respond(settings: Settings, message: str, history: list) -> Iterator[str]:
    """The chat function: stream the text, then the formatted answer; errors become messages."""
    from .api import stream_answer

    try:
        for item in stream_answer(message, history=history_as_text(history), settings=settings):
            yield format_answer(item) if isinstance(item, Answer) else html.escape(item)
    except QAError as error:
        yield f"⚠️ {html.escape(str(error))}"


def history_as_text(history: list) -> list[dict]:
    """Gradio messages with plain-string content, whatever shape the content came in."""
    turns = []
    for message in history or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # Gradio may send content as a list of parts
            content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
        if isinstance(content, str):
            turns.append({"role": message.get("role", ""), "content": content})
    return turns


def build_app(settings: Settings):
    import gradio as gr

    def chat(message: str, history: list):
        yield from respond(settings, message, history)

    return gr.ChatInterface(
        fn=chat,
        title=TITLE,
        description=DESCRIPTION,
        examples=EXAMPLES,
        cache_examples=False,
        chatbot=gr.Chatbot(height=560, sanitize_html=True, label="Answers"),
        textbox=gr.Textbox(placeholder="Ask about the news…", max_length=4000, submit_btn=True),
        fill_height=True,
    )


def serve(settings: Settings) -> None:
    """Warm the models, then serve the page until interrupted."""
    from .api import get_pipeline

    pipeline = get_pipeline(settings)
    _ = pipeline.store, pipeline.llm  # load before the first visitor waits for it
    app = build_app(settings)
    app.queue(default_concurrency_limit=4).launch(
        server_name=settings.host, server_port=settings.port, show_error=False, quiet=False
    )
