"""One check of what `answer()` and `stream_answer()` are given, before any work is done.

The Python API, `qa ask`, the chat page and the Gradio `/answer` endpoint all pass their
arguments through `check_arguments`, so a bad k, date, history or filter gets the same
`ArgumentError` message everywhere, naming the argument and what it should be. The
question's own words are cleaned (and refused when empty) by `retrieval.clean_question`;
what a date means is `retrieval.Filters`' business.
"""

from __future__ import annotations

import numbers
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import ArgumentError, QuestionError
from .settings import MAX_K

if TYPE_CHECKING:
    from .retrieval import Filters

SHOWN_CHARS = 60  # how much of a refused value the message repeats
HISTORY_FORMAT = 'a list of {"role": ..., "content": "text"} messages or (user, bot) pairs of text'


class Arguments(NamedTuple):
    """`answer()`'s arguments once checked: k as an int (None: the settings' k), the history, the filters."""

    k: int | None
    history: list | None
    filters: "Filters"


def check_arguments(
    question: Any,
    *,
    k: Any = None,
    history: Any = None,
    date_from: Any = None,
    date_to: Any = None,
    sources: Any = None,
    outlets: Any = None,
) -> Arguments:
    """The arguments as `answer()` uses them, or an `ArgumentError` saying which one is wrong and how."""
    from .retrieval import Filters

    if not isinstance(question, str):
        raise ArgumentError(f"The question must be text, not {shown(question)}.")
    k, history = checked_k(k), checked_history(history)
    try:
        filters = Filters.build(
            checked_date(date_from, "date_from"), checked_date(date_to, "date_to"), checked_names(sources, "sources"),
            checked_names(outlets, "outlets"),
        )
    except ArgumentError:
        raise
    except QuestionError as error:  # Filters' own message for a date it cannot read
        raise ArgumentError(str(error)) from None
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ArgumentError(
            f"The date range is reversed: date_from {filters.date_from} is after date_to {filters.date_to}, "
            "so no article could match; swap the two dates."
        )
    return Arguments(k, history, filters)


def checked_k(k: Any) -> int | None:
    """k as an int from 1 to MAX_K; None stays None (the settings' k). 4.0 is 4; 4.5, "4", True are refused."""
    if k is None:
        return None
    whole = isinstance(k, numbers.Integral) or (isinstance(k, numbers.Real) and float(k).is_integer())
    if isinstance(k, bool) or not whole or not 1 <= k <= MAX_K:
        raise ArgumentError(f"k (passages to retrieve) must be a whole number from 1 to {MAX_K}, not {shown(k)}.")
    return int(k)


def checked_history(history: Any) -> list | None:
    """The history as given, when it is a list of messages or (user, bot) pairs of text."""
    if history is None:
        return None
    if not isinstance(history, (list, tuple)):
        raise ArgumentError(f"history must be {HISTORY_FORMAT}, not {shown(history)}.")
    for number, turn in enumerate(history, start=1):
        if not _is_turn(turn):
            raise ArgumentError(f"history must be {HISTORY_FORMAT}; item {number} is {shown(turn)}.")
    return list(history)


def _is_turn(turn: Any) -> bool:
    if isinstance(turn, dict):
        return isinstance(turn.get("role"), str) and isinstance(turn.get("content"), str)
    if isinstance(turn, (list, tuple)):
        return len(turn) == 2 and all(part is None or isinstance(part, str) for part in turn)
    return False


def checked_date(value: Any, name: str) -> Any:
    """A date argument as `Filters.build` reads it: empty, a `date`, or text (a datetime counts as its day)."""
    if isinstance(value, datetime):
        return value.date()
    if value is None or isinstance(value, (str, date)):
        return value
    raise ArgumentError(f"{name} must be a date or YYYY-MM-DD text, not {shown(value)}.")


def checked_names(value: Any, name: str) -> list[str] | None:
    """A `sources` / `outlets` argument: a list of names (a lone name would be read letter by letter)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ArgumentError(f"{name} must be a list of names (text), not {shown(value)}.")


def shown(value: Any) -> str:
    """A refused value as the message repeats it: its repr, cut short, and its type when that is not obvious."""
    text = repr(value)
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 1] + "…"
    return text if isinstance(value, (str, int, float)) or value is None else f"{text} ({type(value).__name__})"
