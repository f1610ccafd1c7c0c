"""The served app's memory: start `qa serve` on a free loopback port, ask it questions, read its RSS, stop it.

Memory comes from /proc (VmRSS, VmHWM), summed over the server and any processes it
started. Questions go one at a time through `gradio_client` to the `/answer` API, as a
program would ask; nothing here ever leaves 127.0.0.1. Concurrency is the reliability
test's subject (tests/test_reliability.py), not this one's.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from _common import BenchError, bench_env, percentile

START_TIMEOUT = 600  # seconds; loading the models on a busy 2-core machine is slow
STOP_TIMEOUT = 30
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never route 127.0.0.1 through a proxy


def measure_served_app(index: Path, llm: str, questions: list[str], k: int, log: Path) -> dict[str, Any]:
    """RSS once `qa serve` over `index` answers, and after `questions`; latencies and errors of those requests."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = bench_env(QA_INDEX_DIR=str(index), QA_LLM=llm, QA_HOST="127.0.0.1", QA_PORT=str(port))
    command = [str(Path(sys.executable).parent / "qa"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as log_file:
        server = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_until_serving(server, url, log)
        rss_ready = tree_rss_mb(server.pid)
        latencies, errors = ask_through_api(url, questions, k)
        rss_after, rss_peak = tree_rss_mb(server.pid), tree_rss_mb(server.pid, "VmHWM")
    finally:
        stop(server)
    return {"llm": llm, "index": str(index), "questions": len(questions), "answered": len(latencies), "errors": errors,
            "rss_ready_mb": rss_ready, "rss_after_mb": rss_after, "rss_peak_mb": rss_peak,
            "p50_s": percentile(latencies, 50), "p95_s": percentile(latencies, 95), "latencies_s": latencies}


def wait_until_serving(server: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"qa serve exited with {server.returncode}; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with LOOPBACK.open(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass  # not listening yet
        time.sleep(1)
    raise BenchError(f"qa serve did not answer {url} within {START_TIMEOUT} s; see {log}.")


def ask_through_api(url: str, questions: list[str], k: int) -> tuple[list[float], list[str]]:
    """Seconds per answered question, and the errors, asking one question at a time."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    latencies, errors = [], []
    for question in questions:
        started = time.perf_counter()
        try:
            client.predict(question, k, api_name="/answer")
            latencies.append(time.perf_counter() - started)
        except Exception as error:  # counted and reported; one failed request should not end the part
            errors.append(f"{question!r}: {error!r}")
    return latencies, errors


def stop(server: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it lingers: only the server this benchmark started."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=STOP_TIMEOUT)


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants, from the parent ids in /proc/*/stat."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name may hold spaces and parentheses; the fields after its last ')' do not.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited while we looked
        parents[int(stat.parent.name)] = int(fields[1])
    tree = [pid]
    for candidate in tree:
        tree += [child for child, parent in parents.items() if parent == candidate]
    return tree


def status_mb(pid: int, field: str) -> float:
    """A memory field of /proc/<pid>/status (VmRSS, VmHWM) in MB; 0 for a process that has exited."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:  # the process exited between listing and reading
        return 0.0
    for line in lines:
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree_rss_mb(pid: int, field: str = "VmRSS") -> float:
    return sum(status_mb(p, field) for p in process_tree(pid))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
