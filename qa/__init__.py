"""Question answering over news articles, with cited passages.

    from qa import answer, ingest
    ingest(["articles/"])
    print(answer("What did Kazakhstan offer the EU on rare earths?"))

Importing `qa` is cheap: models, Chroma and LangChain load on first use.
"""

from .errors import QAError
from .settings import Settings, load_settings
from .types import Answer, Article, Citation, Passage

__all__ = [
    "answer",
    "stream_answer",
    "timeline",
    "ingest",
    "remove",
    "Answer",
    "Article",
    "Citation",
    "Passage",
    "QAError",
    "Settings",
    "load_settings",
]


def __getattr__(name: str):
    if name in ("answer", "stream_answer", "timeline", "ingest", "remove", "get_pipeline"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
