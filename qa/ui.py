"""The Gradio chat page: a thin layer over `stream_answer()` and `ingest()`.

The Ask tab streams each answer into the chat: a "checking the sources" state until
the first verified sentence arrives, then the text as it grows, then the finished
answer, whose [n] and [n, m] markers link to a sources panel that shows every cited
passage with its supporting span highlighted (both drawn by `answer_view.py`, which
escapes every text so that no markup in it is run, rendered or fetched). The Corpus tab
takes uploaded articles (files or a zip), saves them under `<QA_INDEX_DIR>/uploads/`,
ingests them and lists what is indexed.
The Timeline tab shows `timeline()`'s result as `timeline_view.py` draws it.
`PageHandlers` holds what the page's events do, testable without a browser;
`build_app` lays out the page and wires the events to it. Answering and ingesting
stay in the library.
"""

from __future__ import annotations

import html
import logging
import os
from pathlib import Path
from typing import Callable, Iterator

from .answer_view import chat_text, link_citations, plain_text, sources_html
from .errors import QAError
from .incoming import IncomingGuard, incoming_folder, prune_incoming, release_incoming
from .loaders import SUPPORTED_SUFFIXES
from .logins import LoginThrottle, read_auth
from .settings import MAX_K, Settings
from .types import Answer
from .uploads import MAX_UPLOAD_BYTES, ingest_uploads

log = logging.getLogger(__name__)

TITLE = "News QA"
TAGLINE = "Answers from the indexed news articles. Every [n] links to the passage it comes from."
EXAMPLES = ["What did Kazakhstan offer the EU on rare earths?", "Who headed the EU delegation?"]
STATIC = Path(__file__).resolve().parent / "static"
CONCURRENCY = 4  # questions answered at once; the local LLM's own lock still runs one generation at a time
FILTERS = ("date_from", "date_to", "sources")  # the answer() parameters the filter controls feed, in order
GENERIC_ERROR = "Something went wrong while answering; the details are in the server log."
TIMELINE_FAILED = "Something went wrong while building the timeline; the details are in the server log."
UPLOAD_FAILED = "Something went wrong while adding the files; the details are in the server log."
HISTORY_REFUSED = "The chat history sent is not in Gradio's messages format; reload the page to start a new chat."
# Gradio keeps a copy of every component's settings for each session it has seen (each page load, each API
# client): about 70 KB here, measured as RSS over 900 new sessions, and 10,000 sessions by default, so 700 MB
# that a busy day fills and never gives back. The least recently used sessions beyond this many are dropped;
# their next event starts with an empty conversation state (the chat on the page stays, its sources go).
SESSIONS_KEPT = 200
# Shown in the assistant's bubble until the first verified sentence arrives; ui.css draws its spinner.
CHECKING = '<span class="qa-checking" role="status">Checking the sources…</span>'


def history_as_text(history: list) -> list[dict]:
    """Gradio messages as plain-text {"role", "content"} dicts, without our link markup."""
    turns = []
    for message in history or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # Gradio may send content as a list of parts
            content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
        if isinstance(content, str) and content != CHECKING:
            turns.append({"role": message.get("role", ""), "content": plain_text(content)})
    return turns


def with_reply(history: list, content: str) -> list:
    """The chat with its last (assistant) message replaced; a new list, so earlier states stay as they were."""
    return [*history[:-1], {"role": "assistant", "content": content}]


# ---- What the page does ------------------------------------------------------------------------

def llm_modes(settings: Settings) -> list[str]:
    return ["local", "extractive"] + (["openai"] if settings.llm_base_url else [])


def corpus_overview(settings: Settings) -> tuple[str, list[list], list[str]]:
    """The one-line index summary, the article table and the list of sources."""
    from .api import indexed_articles

    try:
        counts = indexed_articles(settings=settings)
    except QAError as error:
        return f"⚠️ {chat_text(str(error))}", [], []  # the summary is markdown too
    rows = [[source, n] for source, n in sorted(counts.items(), key=lambda item: item[0].lower())]
    summary = (
        f"**{len(counts)}** articles, **{sum(counts.values())}** passages in the index · default LLM `{settings.llm}`"
    )
    return summary, rows, sorted(counts)


class PageHandlers:
    """The page's events over one settings object: each takes the components' values and returns their new ones.

    `stream` is `qa.api.stream_answer` unless a caller hands in another with its signature.
    """

    def __init__(self, settings: Settings, *, stream: Callable[..., Iterator[str | Answer]] | None = None):
        if stream is None:
            from .api import stream_answer as stream
        self.settings = settings
        self.stream = stream

    def ask(self, question: str, history: list) -> tuple[str, list, str]:
        """Move the question into the chat (and into `pending` for `reply`) and clear the box."""
        history = history or []
        if question.strip():
            history = history + [{"role": "user", "content": chat_text(question)}]
        return "", history, question

    def reply(self, question: str, history: list, answers: list, k: float, llm: str, *filter_values) -> Iterator[tuple]:
        """The chat, the answers so far and the sources panel, at each step of answering `question`.

        The bubble says the sources are being checked until the first verified text arrives; each
        text after it extends the one before, and the final Answer shows the same text with links.
        """
        import gradio as gr

        earlier = history_as_text(history[:-1] if question.strip() else history)
        history = history + [{"role": "assistant", "content": CHECKING}]
        yield history, answers, gr.skip()
        options = {name: value for name, value in zip(FILTERS, filter_values, strict=False) if value}
        try:
            chosen = self.settings.replace(llm=llm) if llm in llm_modes(self.settings) else self.settings
            for item in self.stream(question, k=k, history=earlier, settings=chosen, **options):
                if isinstance(item, Answer):
                    answers = answers + [item]
                    history = with_reply(history, link_citations(item.text, len(answers) - 1))
                    yield history, answers, sources_html(answers)
                else:
                    history = with_reply(history, chat_text(item))
                    yield history, answers, gr.skip()
        except QAError as error:
            yield with_reply(history, f"⚠️ {chat_text(str(error))}"), answers, gr.skip()
        except Exception:
            log.exception("answering %r failed", question)
            yield with_reply(history, f"⚠️ {GENERIC_ERROR}"), answers, gr.skip()

    def add_articles(self, files: list[str] | None, progress: Callable | None = None) -> tuple:
        """Save and ingest uploaded files; the ingest summary (or what went wrong), then `refresh()`'s values.

        Gradio's copies of the files are deleted afterwards, taken or refused (`incoming.release_incoming`).
        """
        if not files:
            return "Choose article files or a .zip first.", *self.refresh()
        try:
            if progress is not None:
                progress(0, desc="Saving the upload")
            summary, notes = ingest_uploads(files, self.settings)
            message = "\n".join([summary.describe() if summary else "Nothing to ingest.", *notes])
        except QAError as error:
            message = f"⚠️ {error}"
        except OSError as error:
            log.exception("saving an upload failed")
            message = f"⚠️ The upload could not be read: {error}"
        except Exception:
            log.exception("adding an upload failed")
            message = f"⚠️ {UPLOAD_FAILED}"
        finally:
            release_incoming(files, incoming_folder(self.settings))
        return message, *self.refresh()

    def answer_api(self, question: str, k: int | None = None) -> dict:
        """The answer to `question` as a dict; a QAError becomes a gr.Error whose message the API client receives.

        `answer()` checks k and the question itself, so a refused value is one log line, not a traceback.
        """
        import gradio as gr

        from .api import answer

        try:
            return answer(question, k=k, settings=self.settings).to_dict()
        except QAError as error:
            log.info("/answer refused: %s", error)
            raise gr.Error(str(error), print_exception=False) from None

    def timeline(self, topic: str, date_from: str | None = None, date_to: str | None = None) -> str:
        """The Timeline tab's result for `topic` as HTML (`timeline_view.timeline_html`), or what went wrong."""
        from .api import timeline
        from .timeline_view import timeline_html

        try:
            built = timeline(topic, date_from=date_from or None, date_to=date_to or None, settings=self.settings)
            return timeline_html(built)
        except QAError as error:
            return f'<p class="tl-error">⚠️ {html.escape(str(error))}</p>'
        except Exception:
            log.exception("building the timeline of %r failed", topic)
            return f'<p class="tl-error">⚠️ {html.escape(TIMELINE_FAILED)}</p>'

    def refresh(self) -> tuple:
        """The index summary, the article table and the choices of the article filter."""
        import gradio as gr

        summary, rows, names = corpus_overview(self.settings)
        return summary, rows, gr.update(choices=names)


# ---- The page -----------------------------------------------------------------------------------

def build_app(settings: Settings, *, stream: Callable[..., Iterator[str | Answer]] | None = None):
    """The Blocks app: the layout, wired to `PageHandlers`; `launch()` serves it with the page's CSS and JS."""
    import gradio as gr

    handlers = PageHandlers(settings, stream=stream)

    def ask_example(history: list, example: gr.SelectData):
        return handlers.ask(example.value["text"], history)

    # Annotations are strings here (__future__); Gradio needs the class itself to pass the clicked example.
    ask_example.__annotations__["example"] = gr.SelectData

    def add_articles(files: list[str] | None, progress=gr.Progress(track_tqdm=True)):
        return handlers.add_articles(files, progress)

    def answer(question: str, k: int = settings.k) -> dict:
        """Answer a question from the indexed articles; returns the answer with its citations and retrieved passages."""
        return handlers.answer_api(question, k)

    private = {"api_visibility": "private"}
    # Gradio's copies of uploads (inside the index folder, see serve) are dropped after an hour.
    with gr.Blocks(title=TITLE, fill_width=True, delete_cache=(3600, 3600)) as app:
        with gr.Row(elem_classes="qa-header"):
            gr.HTML(f"<h1>{TITLE}</h1><p>{html.escape(TAGLINE)}</p>", elem_classes="qa-title", js_on_load=None)
            overview = gr.Markdown(elem_id="corpus-count", elem_classes="qa-status")
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        # No maths delimiters: "$$" in an article is text, like everything else in it.
                        chatbot = gr.Chatbot(
                            elem_id="chat", label="Answers", show_label=False, height="58vh", sanitize_html=True,
                            feedback_options=None, buttons=["copy"], layout="panel", latex_delimiters=[],
                            placeholder="**Ask about the indexed articles.** Follow-up questions use the conversation.",
                            examples=[{"text": e} for e in EXAMPLES],
                        )
                        chatbot.data_model = messages_or_one_error()
                        with gr.Row(elem_classes="qa-ask"):
                            question = gr.Textbox(
                                elem_id="question", show_label=False, placeholder="Ask about the news…",
                                max_length=4000, scale=6, autofocus=True, submit_btn="Ask",
                            )
                        with gr.Accordion("Search options", open=False, elem_id="options"):
                            with gr.Row():
                                k = gr.Slider(1, MAX_K, value=settings.k, step=1, label="Passages to retrieve (k)")
                                llm = gr.Radio(
                                    llm_modes(settings), value=settings.llm, label="Answer with", elem_id="llm-mode"
                                )
                            with gr.Row():
                                date_from = gr.DateTime(include_time=False, type="string", label="From date")
                                date_to = gr.DateTime(include_time=False, type="string", label="To date")
                                sources_choice = gr.Dropdown(multiselect=True, label="Only these articles")
                            filter_inputs = [date_from, date_to, sources_choice]
                    with gr.Column(scale=2, min_width=320, elem_classes="src-column"):
                        sources = gr.HTML(sources_html([]), elem_id="sources", js_on_load=None)
            with gr.Tab("Timeline", id="timeline"):
                with gr.Row(equal_height=True):
                    topic = gr.Textbox(elem_id="timeline-topic", label="Topic", scale=4, max_length=1000,
                                       placeholder="A story or a measure, e.g. U.S. M-1 money supply")
                    timeline_from = gr.DateTime(include_time=False, type="string", label="From date")
                    timeline_to = gr.DateTime(include_time=False, type="string", label="To date")
                    build_timeline = gr.Button("Build timeline", variant="primary", elem_id="build-timeline")
                timeline_view = gr.HTML(elem_id="timeline", js_on_load=None)
            with gr.Tab("Corpus", id="corpus"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=320):
                        files = gr.File(
                            label="Articles to add (.txt, .md, .html, .json, .jsonl, .csv, or a .zip of them)",
                            file_count="multiple", file_types=[*SUPPORTED_SUFFIXES, ".zip"], elem_id="upload",
                        )
                        add = gr.Button("Add to the index", variant="primary", elem_id="add-articles")
                        ingest_log = gr.Textbox(
                            label="Ingest summary", lines=4, interactive=False, elem_id="ingest-summary"
                        )
                    with gr.Column(scale=3):
                        table = gr.Dataframe(
                            headers=["Source", "Passages"], datatype=["str", "number"], interactive=False,
                            label="Indexed articles", elem_id="articles", max_height=520,
                        )
        answers = gr.State([])
        pending = gr.State("")

        refresh_outputs = [overview, table, sources_choice]
        app.load(handlers.refresh, None, refresh_outputs, **private)
        asked = [
            question.submit(handlers.ask, [question, chatbot], [question, chatbot, pending], queue=False, **private),
            chatbot.example_select(ask_example, chatbot, [question, chatbot, pending], queue=False, **private),
        ]
        for event in asked:
            event.then(handlers.reply, [pending, chatbot, answers, k, llm, *filter_inputs], [chatbot, answers, sources],
                       **private)
        chatbot.clear(lambda: ([], sources_html([])), None, [answers, sources], queue=False, **private)
        add.click(
            add_articles, files, [ingest_log, *refresh_outputs], concurrency_limit=1, concurrency_id="ingest", **private
        ).then(lambda: None, None, files, queue=False, **private)
        for event in (build_timeline.click, topic.submit):
            event(handlers.timeline, [topic, timeline_from, timeline_to], timeline_view, **private)
        gr.api(answer, api_name="answer")
    return app


def messages_or_one_error():
    """Gradio's chat-messages model, refusing a client's history of another shape with one message and one log line.

    Gradio validates the chat a client sends with pydantic and logs the whole error, a few lines for every
    item: a history of 10,000 numbers wrote 30,000 lines per request.
    """
    import gradio as gr
    from gradio.components.chatbot import ChatbotDataMessages
    from pydantic import ValidationError

    class Messages(ChatbotDataMessages):
        @classmethod
        def model_validate(cls, obj, **options):
            try:
                return super().model_validate(obj, **options)
            except ValidationError as error:
                log.warning("refused a chat history that is not in the messages format (%d problems)",
                            error.error_count())
                raise gr.Error(HISTORY_REFUSED, print_exception=False) from None

    return Messages


def launch(app, settings: Settings, *, auth: list[tuple[str, str]] | None = None, block: bool = True) -> None:
    """Serve `app` on settings.host:port with the page's theme, CSS and JS; `block=False` returns once it is up.

    With `auth`, failed logins are slowed down per client address (`logins.LoginThrottle`).
    """
    import gradio as gr
    from starlette.middleware import Middleware

    # IBM Plex ships with Gradio, so the page asks no web-font server; Default's semibold lacks some capitals.
    plex = [gr.themes.LocalFont("IBM Plex Sans", weights=(400, 600, 700)), gr.themes.Font("sans-serif")]
    theme = gr.themes.Default(primary_hue="blue", neutral_hue="slate", font=plex)
    # Gradio's upload route writes files before any handler runs; IncomingGuard bounds them (incoming.py).
    middleware = [Middleware(IncomingGuard, folder=incoming_folder(settings))]
    if auth:
        middleware.insert(0, Middleware(LoginThrottle))
    app.queue(default_concurrency_limit=CONCURRENCY).launch(
        server_name=settings.host, server_port=settings.port, auth=auth, show_error=False, quiet=False,
        max_file_size=MAX_UPLOAD_BYTES, footer_links=["api"], theme=theme, prevent_thread_lock=not block,
        css_paths=[STATIC / "ui.css"], js=(STATIC / "ui.js").read_text(encoding="utf-8"),
        state_session_capacity=SESSIONS_KEPT, app_kwargs={"middleware": middleware},
    )


def serve(settings: Settings) -> None:
    """Warm the models, then serve the page on settings.host:port until interrupted."""
    auth = read_auth(settings.ui_auth)
    # Gradio keeps uploaded files in its own cache, read when gradio is imported; keep it inside the index folder,
    # within MAX_INCOMING_BYTES from the start (IncomingGuard keeps it there).
    os.environ["GRADIO_TEMP_DIR"] = str(incoming_folder(settings))
    prune_incoming(incoming_folder(settings))
    from .api import get_pipeline

    pipeline = get_pipeline(settings)
    # Load the store and models now, not while the first visitor waits (llama.cpp loads its file lazily).
    _ = pipeline.store
    if hasattr(pipeline.llm, "load"):
        pipeline.llm.load()
    launch(build_app(settings), settings, auth=auth)
