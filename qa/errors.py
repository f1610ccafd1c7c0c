"""Errors meant for the person running the service: each says what went wrong and what to do.

The CLI and the UI print `str(error)` for these instead of a traceback; anything else
escaping is a bug.
"""


class QAError(Exception):
    """Base class of the errors the service reports to its user."""


class IndexMismatchError(QAError):
    """The index was built with another embedding model than the one configured."""


class EmptyIndexError(QAError):
    """The index holds no passages yet."""


class StoreUnavailableError(QAError):
    """The Chroma store (folder or server) cannot be opened."""


class LLMUnavailableError(QAError):
    """The configured LLM cannot be loaded or reached."""


class MissingDependencyError(QAError):
    """An optional package that this configuration needs is not installed."""


class PromptError(QAError):
    """A prompt template is missing or asks for a variable that was not given."""


class QuestionError(QAError):
    """The question cannot be answered as asked (empty, for example)."""


class SettingsError(QAError):
    """A `QA_*` variable holds a value that cannot be used."""


class QuestionFileError(QAError):
    """The questions file cannot be read or a line in it is malformed."""


class ThresholdError(QAError):
    """A --fail-under threshold is not of the form METRIC=VALUE with a known metric."""


class UploadError(QAError):
    """An upload that cannot be taken as it is (too large, or not an article)."""


class ArgumentError(QuestionError):
    """An argument of `answer()` other than the question's words (k, a date, the history, a filter) is unusable."""


class DiskFullError(QAError):
    """The disk holding the index is full, so a write to it failed."""
