"""Side indexes that follow the store, across machines and processes, for real.

Two "machines" are two index folders (each with its own BM25 index and duplicate
signatures) sharing one `chroma run` server; machine B is a long-running `qa serve`
asked through its API, machine A runs `qa ingest` and `qa remove` as subprocesses.
Also: one folder written by `qa ingest` while `qa serve` answers from it, and side
indexes that are damaged on disk.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ARTICLES, free_port
from qa import ingest
from qa.api import get_pipeline
from qa.settings import Settings
from qa.store import side_index_path
from qa.sync import SYNC_INTERVAL_SECONDS
from test_servers import BIN, ServerProcess, chroma_server, qa_env, server_settings  # noqa: F401 (fixture)

QA = [str(BIN / "qa")]
ZEBRA = "The zebra summit opened in Almaty on Monday. Delegates from twelve countries discussed grassland policy."
OKAPI = "The okapi conference opened in Almaty on Monday. Delegates from twelve countries discussed forest policy."
GIRAFFE = "The giraffe census counted 412 animals in the Tsavo reserve, the wildlife service said on Friday."


def write_article(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"Wildlife news\n\ndate 2024-05-06\n{body}\n", encoding="utf-8")
    return path


def run_qa(*args: str, env: dict, cwd: Path) -> str:
    done = subprocess.run(QA + list(args), env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def ask(server: ServerProcess, question: str) -> dict:
    from gradio_client import Client

    # The answer a user of B gets, after any write has had B's sync interval to arrive.
    time.sleep(SYNC_INTERVAL_SECONDS)
    client = Client(f"http://127.0.0.1:{server.port}/", verbose=False)
    return client.predict(question, 4, api_name="/answer")


def cited_texts(result: dict, source: str) -> list[str]:
    return [c["text"] for c in result["citations"] if c["source"] == source]


@pytest.fixture(scope="module")
def machines(chroma_server, tmp_path_factory):  # noqa: F811 (the fixture imported above)
    """Machine A's folder and environment, and machine B: `qa serve`, BM25 only, on the same server."""
    home = tmp_path_factory.mktemp("machines")
    _, variables = server_settings(chroma_server, "wildlife")
    env_a = qa_env(**variables, QA_INDEX_DIR=str(home / "a" / "index"), HF_HUB_OFFLINE="1")
    write_article(home / "a" / "art", "a.txt", ZEBRA)
    write_article(home / "a" / "art", "b.txt", GIRAFFE)
    assert "2 added" in run_qa("ingest", "art", "--quiet", env=env_a, cwd=home / "a")

    port = free_port()
    env_b = qa_env(
        **variables, QA_INDEX_DIR=str(home / "b" / "index"), QA_RETRIEVAL="bm25", QA_LLM="extractive",
        HF_HUB_OFFLINE="1",
    )
    (home / "b").mkdir()
    server = ServerProcess(QA + ["serve", "--port", str(port)], port, "/", home / "b" / "serve.log", env=env_b,
                           cwd=home / "b")
    try:
        yield home, env_a, server.start(timeout=300)
    finally:
        server.stop()


def test_adds_updates_and_deletes_on_one_machine_reach_the_others_bm25_on_its_next_question(machines):
    home, env_a, served = machines
    first = ask(served, "Where did the zebra summit open?")
    assert any("zebra summit" in text for text in cited_texts(first, "art/a.txt")), first

    # The same article rewritten: still one chunk, so the two machines' chunk counts stay equal.
    write_article(home / "a" / "art", "a.txt", OKAPI)
    assert "1 updated" in run_qa("ingest", "art", "--quiet", env=env_a, cwd=home / "a")
    updated = ask(served, "Where did the okapi conference open?")
    assert any("okapi conference" in text for text in cited_texts(updated, "art/a.txt")), updated
    stale = ask(served, "zebra grassland")
    assert not any("zebra" in text for c in stale["citations"] for text in [c["text"]]), stale

    census = ask(served, "How many animals did the giraffe census count?")
    assert cited_texts(census, "art/b.txt"), census
    (home / "a" / "art" / "b.txt").unlink()
    assert "Removed 1 article" in run_qa("remove", "art/b.txt", env=env_a, cwd=home / "a")
    removed = ask(served, "How many animals did the giraffe census count?")
    assert not cited_texts(removed, "art/b.txt"), removed

    written = home / "a" / "art" / "c.txt"
    write_article(written.parent, written.name, "The pangolin patrol found 37 snares near Arusha, rangers said.")
    assert "1 added" in run_qa("ingest", "art", "--quiet", env=env_a, cwd=home / "a")
    added = ask(served, "How many snares did the pangolin patrol find?")
    assert any("37 snares" in text for text in cited_texts(added, "art/c.txt")), added


def side_rows(index_dir: Path, settings: Settings) -> int:
    with sqlite3.connect(side_index_path(settings)) as db:
        return db.execute("SELECT COUNT(*) FROM chunk_meta").fetchone()[0]


def test_an_ingest_into_the_folder_a_running_server_answers_from_reaches_its_answers(tmp_path):
    """`qa ingest` from the command line while `qa serve` uses the same embedded index (issue 18, item 3)."""
    home = tmp_path / "home"
    write_article(home / "art", "a.txt", ZEBRA)
    env = qa_env(QA_INDEX_DIR=str(home / "index"), QA_LLM="extractive", HF_HUB_OFFLINE="1")
    assert "1 added" in run_qa("ingest", "art", "--quiet", env=env, cwd=home)
    port = free_port()
    server = ServerProcess(QA + ["serve", "--port", str(port)], port, "/", home / "serve.log", env=env, cwd=home)
    server.start(timeout=300)
    try:
        assert cited_texts(ask(server, "Where did the zebra summit open?"), "art/a.txt")
        write_article(home / "art", "c.txt", "The pangolin patrol found 37 snares near Arusha, rangers said.")
        assert "1 added" in run_qa("ingest", "art", "--quiet", env=env, cwd=home)
        for _ in range(2):  # dense and BM25 both reach the new passage; asked twice, as a user would retry
            found = ask(server, "How many snares did the pangolin patrol find?")
            assert any("37 snares" in text for text in cited_texts(found, "art/c.txt")), found
        log = (home / "serve.log").read_text()
        assert "Error finding id" not in log and "Traceback" not in log, log[-3000:]
    finally:
        server.stop()


@pytest.mark.parametrize("damage", ["cut in half", "overwritten"])
def test_a_damaged_side_index_is_rebuilt_from_chroma(tmp_path, damage):
    """A BM25 index cut short or overwritten is set aside and rebuilt on open (issue 18, item 6)."""
    home = tmp_path / "home"
    settings = Settings(index_dir=home / "index")
    summary = ingest([ARTICLES], settings=settings, progress=False)
    store = get_pipeline(settings).store
    for side in (store.lexical, store.duplicates, store.state):
        side.close()  # as at the end of a process: the WAL is folded into the file
    path = side_index_path(settings)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2] if damage == "cut in half" else b"\x00garbage" * (len(raw) // 8))
    env = qa_env(QA_INDEX_DIR=str(settings.index_dir), QA_LLM="extractive", QA_RETRIEVAL="bm25", HF_HUB_OFFLINE="1")
    out = run_qa("ask", "Who headed the EU delegation?", "--json", env=env, cwd=home)
    result = json.loads(out)
    assert result["citations"] and "Jankauskas" in out, out
    assert side_rows(settings.index_dir, settings) == summary.chunks_total
    assert path.with_name(path.name + ".damaged").exists()
    again = run_qa("ingest", str(ARTICLES), "--quiet", env=env, cwd=home)
    assert "2 unchanged" in again, again


def test_duplicate_signatures_of_an_earlier_layout_are_signed_again_on_open(tmp_path):
    """A side index whose signatures were stored in another layout (`duplicates.LAYOUT`) is rebuilt from Chroma
    when the store opens, and a copy is found again."""
    from qa.duplicates import LAYOUT

    home = tmp_path / "home"
    folder = home / "articles"
    folder.mkdir(parents=True)
    for article in ARTICLES.glob("*.txt"):
        (folder / article.name).write_text(article.read_text(encoding="utf-8"), encoding="utf-8")
    first = next(iter(sorted(ARTICLES.glob("*.txt"))))
    (folder / "copy.txt").write_text(first.read_text(encoding="utf-8") + "\n\nRepublished.", encoding="utf-8")
    settings = Settings(index_dir=home / "index")
    summary = ingest([folder], settings=settings, progress=False)
    assert summary.near_duplicates
    store = get_pipeline(settings).store
    for side in (store.lexical, store.duplicates, store.state):
        side.close()
    path = side_index_path(settings)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE duplicates_layout SET version = ?", (LAYOUT - 1,))
        db.execute("UPDATE article_sig SET sig = zeroblob(length(sig)), figures = ''")
        db.execute("DELETE FROM article_band")
    env = qa_env(QA_INDEX_DIR=str(settings.index_dir), QA_LLM="extractive", QA_RETRIEVAL="bm25", HF_HUB_OFFLINE="1")
    out = run_qa("ask", "Who headed the EU delegation?", "--json", env=env, cwd=home)
    assert json.loads(out)["citations"], out
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM duplicates_layout").fetchall() == [(LAYOUT,)]
        assert db.execute("SELECT COUNT(*) FROM article_band").fetchone()[0] > 0
    from qa.duplicates import DuplicateIndex

    members = {m.source for m in DuplicateIndex(path).group_of(f"articles/{first.name}")}
    assert any(source.endswith("copy.txt") for source in members), members


def test_a_damaged_chroma_file_gives_a_message_saying_what_to_do(tmp_path):
    home = tmp_path / "home"
    settings = Settings(index_dir=home / "index")
    ingest([ARTICLES], settings=settings, progress=False)
    chroma_file = settings.index_dir / "chroma.sqlite3"
    raw = chroma_file.read_bytes()
    chroma_file.write_bytes(raw[: len(raw) // 2])
    env = qa_env(QA_INDEX_DIR=str(settings.index_dir), QA_LLM="extractive", HF_HUB_OFFLINE="1")
    done = subprocess.run(QA + ["ask", "Who headed the EU delegation?"], env=env, cwd=home, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert "damaged" in done.stderr and "qa ingest" in done.stderr, done.stderr


def test_more_stamps_than_chroma_takes_in_one_call_are_all_written_and_read(tmp_path):
    import chromadb

    from qa.sync import Manifest

    client = chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=chromadb.Settings(anonymized_telemetry=False)
    )
    manifest = Manifest(client.get_or_create_collection("news-articles", embedding_function=None))
    # The embedded store takes 5,461 rows a call, and a `get` of more than 32,766 rows fails.
    articles = {f"wire/{n}.txt": f"hash{n}" for n in range(40_000)}
    stamps = manifest.stamp(articles)
    assert len(stamps) == manifest.count() == 40_000
    assert {s.source: s.article_hash for s in manifest.every()} == articles
    assert len(manifest.since(stamps[0].written)) == 40_000


def test_a_stamp_from_a_lagging_clock_waits_for_the_next_full_look_and_the_looks_between_stay_short(
    tmp_path, monkeypatch
):
    import qa.sync
    from qa.sync import FULL_LOOK_SECONDS, RECENT_LOOK_SECONDS

    settings = Settings(index_dir=tmp_path / "index")
    ingest([ARTICLES], settings=settings, progress=False)
    store = get_pipeline(settings).store  # opening made this process's first look, a full one
    opened_look = store.looked_at
    # Another machine, its clock 40 s behind this one's, stamps an article.
    with monkeypatch.context() as patched:
        lagging = time.time() - 40
        patched.setattr(qa.sync.time, "time", lambda: lagging)
        store.manifest.stamp({"elsewhere/late.txt": "hash-late"})
    read_from = []
    real_since = store.manifest.since
    monkeypatch.setattr(store.manifest, "since", lambda moment: read_from.append(moment) or real_since(moment))
    store.sync_side_indexes(progress=False)
    assert read_from[-1] >= opened_look - RECENT_LOOK_SECONDS - 0.01, "a look between full looks re-read the minute"
    assert store.state.applied(["elsewhere/late.txt"]) == {}
    store.full_look_at -= FULL_LOOK_SECONDS  # FULL_LOOK_SECONDS later
    store.sync_side_indexes(progress=False)
    assert read_from[-1] <= opened_look - qa.sync.CLOCK_SKEW_SECONDS
    assert "elsewhere/late.txt" in store.state.applied(["elsewhere/late.txt"])
