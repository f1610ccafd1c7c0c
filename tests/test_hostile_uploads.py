"""Hostile and careless uploads against a real `qa serve` (issue 18: items 1, 5, 7 and 8).

One `qa serve` per module (QA_LLM=extractive) over an operator's ingest of the sample
articles as `corpus/`, its index inside its working folder as an operator's usually is.
Files go in as the page sends them: `POST /gradio_api/upload`, then the Corpus tab's add
event through Gradio's queue (`/gradio_api/queue/join`, read back from
`/gradio_api/queue/data`), so each test reads the ingest summary and the article table
the page would show; one test drives the page itself in Debian's chromium. What is on
disk is read from the index folder. The fast tests at the end call `uploads.py`,
`incoming.py` and the loader directly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest

from conftest import ARTICLES, KAZINFORM, free_port
from qa import ingest
from qa.api import get_pipeline
from qa.incoming import MAX_INCOMING_BYTES, prune_incoming, release_incoming
from qa.loaders import iter_articles
from qa.settings import Settings
from qa.types import Article
from qa.uploads import MAX_NAME_CHARS, UploadError, safe_name, save_uploads
from test_servers import LOOPBACK, ServerProcess, qa_env

QA = [sys.executable, "-m", "qa.cli"]
OPERATOR_ARTICLE = f"corpus/{KAZINFORM}"
TOO_LARGE = "The upload is larger than 50 MB in all; split it up."


def story(place: str, what: str) -> bytes:
    return f"News from {place}\n\ndate 2024-03-0{len(place) % 9 + 1}\nIn {place}, {what}, officials said.\n".encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("hostile-uploads")
    shutil.copytree(ARTICLES, home / "corpus")
    settings = Settings(index_dir=home / "index")
    assert ingest([home / "corpus"], settings=settings, progress=False).added == 2
    operator_passages = get_pipeline(settings).store.article_counts()[OPERATOR_ARTICLE]
    port = free_port()
    env = qa_env(QA_INDEX_DIR=str(home / "index"), QA_LLM="extractive", HF_HUB_OFFLINE="1")
    process = ServerProcess(QA + ["serve", "--port", str(port)], port, "/", home / "serve.log", env=env, cwd=home)
    process.start(timeout=300)
    process.base = f"http://127.0.0.1:{port}/"
    process.uploads = home / "index" / "uploads"
    process.operator_passages = operator_passages
    config = json.loads(LOOPBACK.open(process.base + "config", timeout=30).read())
    adding = next(d for d in config["dependencies"] if d["api_name"] == "add_articles")
    process.add_event = (adding["id"], adding["targets"][0][0])
    try:
        yield process
    finally:
        process.stop()
    log = process.log.read_text()
    assert "InvalidPathError" not in log and "Traceback" not in log, log[-3000:]


def send_files(server, files: list[tuple[str, bytes]]) -> list[str]:
    """POST files to Gradio's upload route as the page does; the paths it kept them at."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
        for name, data in files
    ) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        server.base + "gradio_api/upload", data=body, method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with LOOPBACK.open(request, timeout=120) as response:
        return json.loads(response.read())


def add(server, paths: list[str]) -> tuple[str, dict[str, int]]:
    """Press "Add to the index" with these uploaded files: the summary shown, the article table (source -> passages)."""
    session = uuid.uuid4().hex
    files = [{"path": p, "orig_name": Path(p).name, "meta": {"_type": "gradio.FileData"}} for p in paths]
    fn_index, trigger = server.add_event
    join = {"data": [files], "event_data": None, "fn_index": fn_index, "trigger_id": trigger, "session_hash": session}
    request = urllib.request.Request(
        server.base + "gradio_api/queue/join", data=json.dumps(join).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    LOOPBACK.open(request, timeout=60).read()
    with LOOPBACK.open(server.base + f"gradio_api/queue/data?session_hash={session}", timeout=600) as stream:
        for line in stream:
            if line.startswith(b"data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    break
    assert message["success"], message  # a failed event is the page's bare red "Error"
    summary, _, table, _ = message["output"]["data"]
    return summary, {source: passages for source, passages in table["data"]}


def upload(server, files: list[tuple[str, bytes]]) -> tuple[str, dict[str, int]]:
    return add(server, send_files(server, files))


def files_on_disk(folder: Path) -> dict[str, int]:
    """Relative path -> size of every file under `folder`."""
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def stored(server) -> dict[str, int]:
    """The files under uploads/, without Gradio's cache."""
    return {path: size for path, size in files_on_disk(server.uploads).items() if not path.startswith(".incoming/")}


# ---- 1. Uploads live in their own namespace ---------------------------------------------------


def test_an_uploaded_record_cannot_replace_an_article_the_operator_ingested(server):
    record = {"id": OPERATOR_ARTICLE, "title": "EU delegation", "text": "The EU delegation was headed by Donald Duck."}
    summary, table = upload(server, [("feed.jsonl", json.dumps(record).encode() + b"\n")])
    assert summary.startswith("1 added, 0 updated"), summary
    assert table[OPERATOR_ARTICLE] == server.operator_passages  # 8 passages, not 1
    assert table[f"uploads/feed.jsonl#{OPERATOR_ARTICLE}"] == 1
    from gradio_client import Client

    result = Client(server.base, verbose=False).predict("Who headed the EU delegation?", 8, api_name="/answer")
    operator_passages = [p for p in result["passages"] if p["source"] == OPERATOR_ARTICLE]
    assert operator_passages and not any("Donald Duck" in p["text"] for p in operator_passages)


def test_two_different_uploads_named_alike_are_both_kept_and_the_same_one_again_is_unchanged(server):
    first, second = story("Narva", "the harbour got a new crane"), story("Tartu", "the river bridge reopened")
    summary, table = upload(server, [("report.txt", first)])
    assert summary.startswith("1 added"), summary
    summary, table = upload(server, [("report.txt", second)])
    assert summary.startswith("1 added, 0 updated"), summary
    assert "saved report.txt as uploads/report-2.txt: another upload is already called report.txt" in summary
    assert table["uploads/report.txt"] == 1 and table["uploads/report-2.txt"] == 1
    assert (server.uploads / "report.txt").read_bytes() == first
    assert (server.uploads / "report-2.txt").read_bytes() == second
    summary, _ = upload(server, [("report.txt", first)])
    assert summary.startswith("0 added, 0 updated, 1 unchanged"), summary
    assert "saved" not in summary


# ---- 5. Upload names keep their letters and extensions -----------------------------------------


def test_names_in_any_script_long_names_and_dot_names_are_kept_readable_and_ingested(server):
    long_name = "Very long headline about the harbour " * 4 + ".txt"
    sent = {
        "новости.txt": story("Riga", "the port opened a new terminal"),
        "статья.txt": story("Vilnius", "a new tram line opened"),
        long_name: story("Kaunas", "the old castle was repaired"),
        ".hidden.txt": story("Parnu", "the beach season began early"),
    }
    paths = send_files(server, list(sent.items()))
    assert not any(Path(p).name.startswith(".") for p in paths), paths  # Gradio would refuse a dot name later
    summary, table = add(server, paths)
    assert summary.startswith("4 added, 0 updated, 0 unchanged, 0 skipped"), summary
    kept = safe_name(long_name)
    assert kept.endswith(".txt") and len(kept) == MAX_NAME_CHARS
    for name, source in [("новости.txt", "новости.txt"), ("статья.txt", "статья.txt"), (long_name, kept),
                         (".hidden.txt", "hidden.txt")]:
        assert table[f"uploads/{source}"] == 1, (source, table)
        assert (server.uploads / source).read_bytes() == sent[name]
    assert not (server.uploads / "txt").exists()


# ---- 7. Broken zips --------------------------------------------------------------------------


def zip_with_bad_crc(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zipped:  # stored, so the entry's bytes can be changed in place
        zipped.writestr("good.txt", story("Tallinn", "a ferry terminal opened"))
        zipped.writestr("news/bad.txt", story("Haapsalu", "a new school was built"))
    data = path.read_bytes()
    path.write_bytes(data.replace(b"new school", b"new schoOl"))
    return path


def zip_with_unknown_method(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zipped:
        zipped.writestr("good.txt", story("Tartu", "the university opened a library"))
        zipped.writestr("odd.txt", story("Valga", "the border market reopened"))
        odd = zipped.getinfo("odd.txt")
    data = bytearray(path.read_bytes())
    data[odd.header_offset + 8 : odd.header_offset + 10] = (98).to_bytes(2, "little")  # 98: PPMd, which zipfile lacks
    central = data.rfind(b"PK\x01\x02")  # odd.txt is the last entry of the central directory
    data[central + 10 : central + 12] = (98).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


def zip_with_encrypted_entry(path: Path) -> Path:
    if not shutil.which("zip"):
        pytest.skip("needs Info-ZIP's zip (apt-get install zip) to write an encrypted entry")
    work = path.parent / "encrypting"
    work.mkdir()
    (work / "secret.txt").write_bytes(story("Narva", "the castle museum reopened"))
    (work / "open.txt").write_bytes(story("Rakvere", "a theatre festival began"))
    subprocess.run(["zip", "-q", "-P", "password", str(path), "secret.txt"], cwd=work, check=True)
    subprocess.run(["zip", "-q", str(path), "open.txt"], cwd=work, check=True)
    return path


def test_broken_zips_name_the_file_and_reason_keep_their_good_entries_and_leave_no_partial_files(server, tmp_path):
    before = stored(server)
    zips = [zip_with_bad_crc(tmp_path / "damaged.zip"), zip_with_encrypted_entry(tmp_path / "locked.zip"),
            zip_with_unknown_method(tmp_path / "odd.zip")]
    summary, table = upload(server, [(z.name, z.read_bytes()) for z in zips])
    assert summary.startswith("3 added, 0 updated, 0 unchanged, 0 skipped"), summary
    for line in [
        "skipped news/bad.txt in damaged.zip: damaged (its CRC-32 check failed); zip it again from the original file",
        "skipped secret.txt in locked.zip: encrypted; zip it again without a password",
        "skipped odd.txt in odd.zip: compressed with a method this server cannot read (zip method 98); use deflate",
        "the other entries of damaged.zip were read as usual",
    ]:
        assert line in summary, summary
    for source in ["uploads/damaged/good.txt", "uploads/locked/open.txt", "uploads/odd/good.txt"]:
        assert table[source] == 1, table
    added = {path: size for path, size in stored(server).items() if path not in before}
    assert sorted(added) == ["damaged/good.txt", "locked/open.txt", "odd/good.txt"], added
    assert all(added.values())


def test_a_zip_of_only_broken_entries_leaves_nothing_and_says_why(server, tmp_path):
    before = stored(server)
    archive = tmp_path / "only-bad.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("folder/bad.txt", story("Paide", "a bakery opened"))
    archive.write_bytes(archive.read_bytes().replace(b"bakery", b"bakerY"))
    summary, _ = upload(server, [(archive.name, archive.read_bytes())])
    assert summary.startswith("Nothing to ingest."), summary
    assert "skipped folder/bad.txt in only-bad.zip: damaged (its CRC-32 check failed)" in summary
    assert stored(server) == before and not (server.uploads / "only-bad").exists()


# ---- 8. Bounds on disk -----------------------------------------------------------------------


def test_a_pair_refused_together_leaves_nothing_of_either_on_disk(server):
    before = stored(server)
    pair = [("first-half.txt", b"a" * (30 * 2**20)), ("second-half.txt", b"b" * (30 * 2**20))]
    paths = send_files(server, pair[:1]) + send_files(server, pair[1:])  # each alone is under the limit
    assert all(Path(p).is_file() for p in paths)
    summary, _ = add(server, paths)
    assert summary == f"⚠️ {TOO_LARGE}"
    assert stored(server) == before
    assert not any(Path(p).exists() for p in paths)  # Gradio's copies too
    with pytest.raises(urllib.error.HTTPError) as refused:  # both in one request: refused before being written
        send_files(server, pair)
    assert refused.value.code == 413 and refused.value.read().decode() == TOO_LARGE
    assert not [p for p in files_on_disk(server.uploads) if "half" in p]


def test_files_sent_and_never_added_are_bounded_oldest_first(server):
    size = 45 * 2**20
    paths = []
    for number in range(5):  # 225 MB sent, never added
        paths += send_files(server, [(f"never-added-{number}.txt", bytes([65 + number]) * size)])
        time.sleep(0.05)  # distinct modification times
    incoming = server.uploads / ".incoming"
    assert sum(files_on_disk(incoming).values()) <= MAX_INCOMING_BYTES
    kept = [Path(p).exists() for p in paths]
    assert kept == [False, False, True, True, True], kept  # the newest three fit in 150 MB
    release_incoming(paths, incoming.resolve())


# ---- The page itself -------------------------------------------------------------------------


def test_the_page_adds_a_dot_name_and_a_broken_zip_with_a_message_not_a_bare_error(server, tmp_path):
    from test_browser import CHROMIUM, CHROMIUM_ARGS

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    dotted = tmp_path / ".page-hidden.txt"
    dotted.write_bytes(story("Viljandi", "a folk music festival was announced"))
    archive = zip_with_bad_crc(tmp_path / "page-damaged.zip")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(server.base)
            page.get_by_role("tab", name="Corpus").click()
            page.set_input_files("#upload input[type=file]", [str(dotted), str(archive)])
            # Both listed as chosen, each with its size once uploaded ("391.0 B ⇣").
            page.wait_for_function("""() => {
                const text = document.querySelector('#upload').innerText;
                return text.includes('.page-hidden') && text.includes('page-damaged') && text.split('⇣').length === 3;
            }""")
            page.click("#add-articles")
            summary = page.locator("#ingest-summary textarea")
            page.wait_for_function("el => el.value.length > 0", arg=summary.element_handle())
            text = summary.input_value()
            assert text.startswith("2 added"), text
            assert "skipped news/bad.txt in page-damaged.zip: damaged (its CRC-32 check failed)" in text
            assert page.get_by_text("Error", exact=True).count() == 0  # Gradio's badge for a failed event
            page.wait_for_selector("#articles :text('uploads/page-hidden.txt')")
        finally:
            browser.close()


# ---- Without a server ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("новости.txt", "новости.txt"),
        ("Harbour news!.txt", "Harbour_news.txt"),
        (".hidden.txt", "hidden.txt"),
        ("..\\..\\evil.txt", "evil.txt"),
        ("e\u0301te\u0301.md", "\u00e9t\u00e9.md"),  # one form of each letter, so names compare alike
        ("x" * 300 + ".jsonl", "x" * (MAX_NAME_CHARS - 6) + ".jsonl"),
        ("中" * 300 + ".txt", "中" * 65 + ".txt"),  # 3 bytes a character: within MAX_NAME_BYTES
        ("....", "article"),
        ("notes.tar.gz", "notes.tar.gz"),
    ],
)
def test_safe_names_keep_letters_and_extensions(given, kept):
    assert safe_name(given) == kept


def test_an_upload_refused_as_a_whole_leaves_nothing_in_the_uploads_folder(tmp_path, monkeypatch):
    from qa import uploads

    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 1000)
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_bytes(b"a" * 600)
    two.write_bytes(b"b" * 600)
    with pytest.raises(UploadError, match="larger than"):
        save_uploads([str(one), str(two)], tmp_path / "uploads")
    assert files_on_disk(tmp_path / "uploads") == {} and not list((tmp_path / "uploads").iterdir())


def test_the_same_bytes_keep_their_name_and_other_bytes_get_the_next_free_one(tmp_path):
    uploads = tmp_path / "uploads"
    sent = tmp_path / "sent"
    sent.mkdir()
    report = sent / "report.txt"
    names = []
    for content in [b"first", b"second", b"first", b"third", b"second"]:
        report.write_bytes(content)
        saved, _ = save_uploads([str(report)], uploads)
        names.append(saved[0].name)
    assert names == ["report.txt", "report-2.txt", "report.txt", "report-3.txt", "report-2.txt"]
    assert {n: (uploads / n).read_bytes() for n in set(names)} == {
        "report.txt": b"first", "report-2.txt": b"second", "report-3.txt": b"third"
    }


def test_uploaded_records_are_sourced_within_their_file(tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "feed.jsonl").write_text(json.dumps({"id": "corpus/a.txt", "text": "A story."}) + "\n")
    (folder / "sheet.csv").write_text("url,text\nhttps://example.com/x,Another story.\n,No id here.\n")
    (folder / "list.json").write_text(json.dumps([{"text": "No id either."}]))
    sources = sorted(a.source for a in iter_articles(sorted(folder.iterdir()), namespace="uploads")
                     if isinstance(a, Article))
    assert sources == ["uploads/feed.jsonl#corpus/a.txt", "uploads/list.json#1", "uploads/sheet.csv#2",
                       "uploads/sheet.csv#https://example.com/x"]
    operator = sorted(a.source for a in iter_articles([folder]) if isinstance(a, Article))
    assert operator == ["corpus/a.txt", "https://example.com/x", "uploads/list.json#1", "uploads/sheet.csv#2"]


def test_pruning_removes_the_oldest_files_first(tmp_path):
    for number in range(4):
        folder = tmp_path / f"sha{number}"
        folder.mkdir()
        (folder / "f.txt").write_bytes(b"x" * 100)
        os.utime(folder / "f.txt", (1000 + number, 1000 + number))
    removed = prune_incoming(tmp_path, limit=250)
    assert [p.parent.name for p in removed] == ["sha0", "sha1"]
    assert sorted(files_on_disk(tmp_path)) == ["sha2/f.txt", "sha3/f.txt"]
    assert not (tmp_path / "sha0").exists()
