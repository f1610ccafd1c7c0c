"""A hostile or careless user against a real `qa serve`: wrong passwords, bad arguments, a full disk.

One `qa serve` per module (QA_LLM=extractive, a login required) over the sample articles,
reached through `gradio_client`, through raw HTTP as the page's own script talks to it, and
from several loopback addresses (127.0.0.2 and up reach a server bound to 127.0.0.1), so the
per-address login throttle can be tried without locking out the other tests. `qa ask` and
`qa ingest` run as subprocesses; the full disk is a small tmpfs mounted for the test (it is
skipped when mounting is not allowed). Each test checks what the user is shown, the server
log or what is on disk.
"""

from __future__ import annotations

import contextlib
import http.client
import http.cookiejar
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest

from conftest import ARTICLES, CORPUS, free_port
from qa import answer, ingest
from qa.arguments import check_arguments
from qa.errors import ArgumentError, DiskFullError
from qa.logins import LOGIN_FIRST_DELAY, LOGIN_FREE_FAILURES, LOGIN_MAX_WAIT, login_delay
from qa.settings import MAX_K, Settings
from qa.ui import HISTORY_REFUSED, plain_text
from qa.uploads import ingest_uploads
from test_reliability import QA, RARE_EARTHS, expected_chunks, index_rows, run_qa
from test_servers import ServerProcess, qa_env

USER, PASSWORD = "ana", "correct horse battery staple"
REVERSED = "The date range is reversed: date_from 2024-02-01 is after date_to 2024-01-01"
K_MESSAGE = f"k (passages to retrieve) must be a whole number from 1 to {MAX_K}"


# ---- The validation itself: fast --------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"k": -1}, f"{K_MESSAGE}, not -1."),
        ({"k": 0}, f"{K_MESSAGE}, not 0."),
        ({"k": MAX_K + 1}, f"{K_MESSAGE}, not {MAX_K + 1}."),
        ({"k": 100000}, f"{K_MESSAGE}, not 100000."),
        ({"k": "abc"}, f"{K_MESSAGE}, not 'abc'."),
        ({"k": 1e12}, f"{K_MESSAGE}, not 1000000000000.0."),
        ({"k": [1, 2]}, f"{K_MESSAGE}, not [1, 2] (list)."),
        ({"k": 4.5}, f"{K_MESSAGE}, not 4.5."),
        ({"k": True}, f"{K_MESSAGE}, not True."),
        ({"k": float("nan")}, f"{K_MESSAGE}, not nan."),
        ({"history": [1, 2, 3]}, "history must be a list of {\"role\": ..., \"content\": \"text\"} messages"),
        ({"history": [{"role": "user"}]}, "item 1 is {'role': 'user'} (dict)."),
        ({"history": "Who?"}, "history must be a list of"),
        ({"date_from": "2024-02-01", "date_to": "2024-01-01"}, REVERSED),
        ({"date_from": "last week"}, "date_from='last week' is not a date; write it as YYYY-MM-DD."),
        ({"date_to": [2024]}, "date_to must be a date or YYYY-MM-DD text, not [2024] (list)."),
        ({"sources": "articles/000.txt"}, "sources must be a list of names (text), not 'articles/000.txt'."),
        ({"outlets": [7]}, "outlets must be a list of names (text), not [7] (list)."),
    ],
)
def test_unusable_arguments_are_refused_with_what_is_wrong(arguments, message):
    with pytest.raises(ArgumentError) as refused:
        check_arguments("Who headed the EU delegation?", **arguments)
    assert message in str(refused.value)


def test_usable_arguments_pass_as_answer_uses_them():
    checked = check_arguments(
        "Who?", k=4.0, history=[("Who?", None), {"role": "user", "content": "Who?"}],
        date_from=datetime(2024, 1, 1, 12), date_to=date(2024, 1, 1), sources=["a.txt"],
    )
    assert checked.k == 4 and type(checked.k) is int and len(checked.history) == 2
    assert (checked.filters.date_from, checked.filters.date_to, checked.filters.sources) == (
        "2024-01-01", "2024-01-01", ("a.txt",))
    assert check_arguments("Who?").k is None  # the settings' k
    with pytest.raises(ArgumentError, match="The question must be text, not 5."):
        check_arguments(5)


def test_three_hundred_wrong_passwords_at_the_allowed_pace_take_more_than_a_day():
    assert [login_delay(n) for n in range(LOGIN_FREE_FAILURES + 3)] == [0.0] * LOGIN_FREE_FAILURES + [1.0, 2.0, 4.0]
    assert sum(login_delay(n) for n in range(300)) > 24 * 3600


# ---- The served app ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """`qa serve` with a login, over the sample articles (QA_LLM=extractive)."""
    home = tmp_path_factory.mktemp("hostile")
    shutil.copytree(ARTICLES, home / "articles")
    summary = ingest([home / "articles"], settings=Settings(index_dir=home / "index"), progress=False)
    assert summary.added == 2
    port = free_port()
    env = qa_env(
        QA_INDEX_DIR=str(home / "index"), QA_LLM="extractive", QA_UI_AUTH=f"{USER}:{PASSWORD}", HF_HUB_OFFLINE="1"
    )
    server = ServerProcess(QA + ["serve", "--port", str(port)], port, "/", home / "serve.log", env=env, cwd=home)
    try:
        yield server.start(timeout=300)
    finally:
        server.stop()


def log_after(server, mark: int) -> list[str]:
    """The server log's lines written since `mark` (a length of the log in bytes)."""
    time.sleep(0.5)  # the server writes its line after it has answered
    return server.log.read_bytes()[mark:].decode(errors="replace").splitlines()


def try_login(port: int, password: str, source: str) -> tuple[int, str]:
    """POST the login form from the loopback address `source`: the status and the message shown."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        body = urllib.parse.urlencode({"username": USER, "password": password})
        connection.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())["detail" if response.status != 200 else "success"]
    finally:
        connection.close()


def client(server):
    from gradio_client import Client

    return Client(f"http://127.0.0.1:{server.port}/", auth=(USER, PASSWORD), verbose=False)


class Page:
    """The chat page's own calls, as its script makes them: logged in, one session, events by name."""

    def __init__(self, server):
        self.base = f"http://127.0.0.1:{server.port}"
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), cookies)
        login = urllib.parse.urlencode({"username": USER, "password": PASSWORD}).encode()
        self.opener.open(f"{self.base}/login", login, timeout=60)
        config = json.load(self.opener.open(f"{self.base}/config", timeout=60))
        self.events = {d["api_name"]: d["id"] for d in config["dependencies"]}
        self.session = uuid.uuid4().hex

    def _post(self, path: str, event: str, data: list):
        body = {"data": data, "fn_index": self.events[event], "session_hash": self.session, "trigger_id": None}
        request = urllib.request.Request(
            f"{self.base}{path}", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        return json.load(self.opener.open(request, timeout=60))

    def run(self, event: str, data: list) -> list:
        """An event the page runs outside the queue (asking): its outputs."""
        return self._post("/gradio_api/run/predict", event, data)["data"]

    def queued(self, event: str, data: list) -> dict:
        """A queued event (answering): the server's last message about it."""
        self._post("/gradio_api/queue/join", event, data)
        with self.opener.open(f"{self.base}/gradio_api/queue/data?session_hash={self.session}", timeout=120) as sse:
            for line in sse:
                if line.startswith(b"data:"):
                    message = json.loads(line[5:])
                    if message.get("msg") == "process_completed":
                        return message
        raise AssertionError("the event never completed")

    def reply(self, question: str, history=None, date_from=None, date_to=None) -> dict:
        """Ask `question` as the page does: `ask` moves it into the chat, `reply` answers it."""
        _, asked, _ = self.run("ask", [question, []])
        return self.queued("reply", [None, asked if history is None else history, None, 4, "extractive",
                                     date_from, date_to, []])


def test_k_that_is_not_a_whole_number_from_1_to_max_k_gets_a_message_and_no_traceback(hostile):
    from gradio_client.exceptions import AppError

    api = client(hostile)
    mark = hostile.log.stat().st_size
    refused = [-1, 0, MAX_K + 1, 100000, "abc", 1e12, [1, 2]]
    for k in refused:
        with pytest.raises(AppError) as error:
            api.predict(RARE_EARTHS, k, api_name="/answer")
        assert K_MESSAGE in str(error.value), (k, error.value)
    lines = log_after(hostile, mark)
    assert not [line for line in lines if "Traceback" in line or "Error" in line], lines
    assert len([line for line in lines if line.startswith("/answer refused: k")]) == len(refused), lines
    # The bound itself, and no k at all, are answered.
    widest = api.predict(RARE_EARTHS, MAX_K, api_name="/answer")
    assert "rare earth" in widest["text"].lower() and 4 <= len(widest["passages"]) <= MAX_K
    assert len(api.predict(RARE_EARTHS, None, api_name="/answer")["passages"]) == 4  # QA_K


def test_a_history_in_the_wrong_format_is_refused_with_one_message_and_one_log_line(hostile):
    page = Page(hostile)
    mark = hostile.log.stat().st_size
    for history in [list(range(10_000)), [{"role": "user"}] * 1000, [{"content": "hi"}]]:
        reply = page.reply(RARE_EARTHS, history=history)
        assert reply["success"] is False and reply["output"]["error"] == HISTORY_REFUSED, reply
    lines = log_after(hostile, mark)
    assert len(lines) == 3 and all("refused a chat history" in line for line in lines), lines[:10]
    # A history in the page's own format is still answered.
    reply = page.reply(RARE_EARTHS)
    assert reply["success"] is True and "rare earth" in plain_text(last_bubble(reply)).lower(), reply


def last_bubble(reply: dict) -> str:
    """The text of the chat's last message in an answered `reply`."""
    chat = reply["output"]["data"][0]
    return " ".join(part["text"] for part in chat[-1]["content"] if part.get("type") == "text")


def test_a_reversed_date_range_says_so_on_the_page_in_the_cli_and_the_api(hostile):
    reply = Page(hostile).reply(RARE_EARTHS, date_from="2024-02-01", date_to="2024-01-01")
    assert reply["success"] is True
    assert plain_text(last_bubble(reply)) == f"⚠️ {REVERSED}, so no article could match; swap the two dates."

    index = hostile.log.parent / "index"
    run = run_qa("ask", RARE_EARTHS, "--from", "2024-02-01", "--to", "2024-01-01", index=index, QA_LLM="extractive")
    assert run.returncode == 1 and run.stderr.startswith(f"Error: {REVERSED}"), run.stderr
    assert "Traceback" not in run.stderr

    with pytest.raises(ArgumentError, match=REVERSED):
        answer(RARE_EARTHS, date_from="2024-02-01", date_to="2024-01-01", settings=Settings(index_dir=index))


def test_a_right_password_after_a_few_wrong_ones_logs_in_soon(hostile):
    source = "127.0.0.3"
    for _ in range(LOGIN_FREE_FAILURES):
        assert try_login(hostile.port, "wrong", source) == (400, "Incorrect credentials.")
    started = time.monotonic()
    assert try_login(hostile.port, PASSWORD, source) == (200, True)
    assert time.monotonic() - started < LOGIN_FIRST_DELAY + 2


def test_three_hundred_wrong_passwords_are_slowed_then_refused_without_checking_them(hostile):
    source = "127.0.0.2"
    started = time.monotonic()
    outcomes = [try_login(hostile.port, f"guess-{n}", source) for n in range(300)]
    elapsed = time.monotonic() - started
    checked = [detail for status, detail in outcomes if status == 400]
    refused = [detail for status, detail in outcomes if status == 429]
    # Tried while the wait after the last failure is at most LOGIN_MAX_WAIT: the free ones, then 1, 2 and 4 s.
    allowed = [n for n in range(300) if login_delay(n) <= LOGIN_MAX_WAIT]
    assert checked == ["Incorrect credentials."] * len(allowed), outcomes[:10]
    assert len(refused) == 300 - len(allowed)
    assert all(d.startswith("Too many failed logins from this address: try again in") for d in refused), refused[:3]
    assert elapsed >= sum(login_delay(n) for n in allowed) - 0.5, elapsed
    # Even the right password waits its turn from that address; another address is not held up.
    assert try_login(hostile.port, PASSWORD, source)[0] == 429
    started = time.monotonic()
    assert try_login(hostile.port, PASSWORD, "127.0.0.1") == (200, True)
    assert time.monotonic() - started < 2


# ---- A full disk -------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs at tmp_path/disk, unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        # Lazily: this process may still hold the store's files open.
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path, leave_kb: int) -> Path:
    """Fill `disk` until `leave_kb` KB are left."""
    free = os.statvfs(disk)
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as out, contextlib.suppress(OSError):
        remaining = free.f_bavail * free.f_frsize - leave_kb * 1024
        while remaining > 0:
            remaining -= out.write(b"\0" * min(remaining, 1 << 20))
    return filler


def test_a_full_disk_gives_a_message_and_after_freeing_space_the_ingest_ends_as_a_clean_one(small_disk, tmp_path):
    sport = CORPUS / "bbc" / "sport"
    if not sport.is_dir():
        pytest.skip(f"needs {sport}")
    first, more = tmp_path / "first", tmp_path / "more"
    shutil.copytree(ARTICLES, first)
    more.mkdir()
    for path in sorted(sport.glob("*.txt"))[:60]:
        shutil.copy(path, more)
    index = small_disk / "index"
    assert run_qa("ingest", str(first), "--quiet", index=index).returncode == 0

    filler = fill(small_disk, leave_kb=200)  # room for some of the new articles, not all
    run = run_qa("ingest", str(more), "--quiet", index=index)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"Error: The disk holding the index ({index}) is full" in run.stderr, run.stderr
    assert "Free some space there" in run.stderr and "Traceback" not in run.stderr, run.stderr

    asked = run_qa("ask", RARE_EARTHS, index=index, QA_LLM="extractive")
    assert "Traceback" not in asked.stderr, asked.stderr
    if asked.returncode:  # opening the store writes; if it could not, the message says why
        assert f"Error: The disk holding the index ({index}) is full" in asked.stderr, asked.stderr
        assert "then ask again" in asked.stderr
    else:
        assert "rare earth" in asked.stdout.lower(), asked.stdout

    upload = tmp_path / "upload.txt"  # larger than the room left: saving it, not only ingesting, needs space
    upload.write_text("A long report\n\n" + "The harbour reopened on Monday. " * 20000, encoding="utf-8")
    with pytest.raises(DiskFullError, match=r"is full .* then add the files again"):
        ingest_uploads([str(upload)], Settings(index_dir=index), progress=False)
    assert not [p for p in (index / "uploads").rglob("*") if p.is_file() and "upload" in p.name], "nothing half-saved"

    filler.unlink()
    rerun = run_qa("ingest", str(first), str(more), "--quiet", index=index)
    assert rerun.returncode == 0, rerun.stderr
    assert ", 0 skipped;" in rerun.stdout and "Traceback" not in rerun.stderr, rerun.stdout
    expected = expected_chunks([first, more])
    ids, sources, lexical, signatures = index_rows(Settings(index_dir=index))
    assert sorted(ids) == sorted(expected), "the index differs from a clean ingest"
    assert lexical == len(ids) and signatures == len(sources) == 62
