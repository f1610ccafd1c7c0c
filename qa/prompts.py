"""Prompt templates as files, rendered strictly with Jinja2.

Templates live in the repository's `prompts/` folder (shipped inside the wheel as
`qa/prompts/`), or in `QA_PROMPTS_DIR` when set. A variable the template uses but
the caller did not pass is an error, never an empty string. Which prompt a stage
uses is decided by that stage, not here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .errors import PromptError

PACKAGE_DIR = Path(__file__).resolve().parent


def prompt_dirs(override: str = "") -> list[Path]:
    """Folders searched for templates, first match wins."""
    dirs = [Path(override).expanduser()] if override else []
    return dirs + [PACKAGE_DIR / "prompts", PACKAGE_DIR.parent / "prompts"]


@lru_cache(maxsize=None)
def _environment(search_path: tuple[str, ...]):
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(search_path)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,  # prompts are plain text for a model, not HTML
    )


def render_prompt(name: str, *, prompts_dir: str = "", **variables) -> str:
    """Render `prompts/<name>.txt` with `variables`; missing variables raise PromptError."""
    import jinja2

    search_path = tuple(str(d) for d in prompt_dirs(prompts_dir) if d.is_dir())
    try:
        return _environment(search_path).get_template(f"{name}.txt").render(**variables)
    except jinja2.TemplateNotFound:
        raise PromptError(
            f"Prompt template {name}.txt not found in {', '.join(search_path) or 'any prompts folder'}."
        ) from None
    except jinja2.UndefinedError as error:
        raise PromptError(f"Prompt template {name}.txt needs a value the code did not pass: {error}.") from None
