"""What makes a re-ingest cheap must never hide a change: the ledger of file stats, and vectors reused within a run.

Real MiniLM (ONNX int8), real Chroma, real files in a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np

from conftest import ARTICLES, KAZINFORM, TREND
from qa import ingest
from qa.api import get_pipeline, remove
from qa.settings import Settings

# Imports a re-ingest of unchanged files must not make: the store's client and the model's runtime.
PROBE = """
import json, sys
from pathlib import Path
from qa.api import ingest
from qa.settings import Settings
summary = ingest([sys.argv[1]], settings=Settings(index_dir=Path(sys.argv[2])), progress=False)
print(json.dumps({"unchanged": summary.unchanged, "added": summary.added, "chunks_total": summary.chunks_total,
                  "loaded": sorted(m for m in ("chromadb", "onnxruntime", "torch") if m in sys.modules)}))
"""


def reingest_in_new_process(folder, index) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, str(folder), str(index)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_unchanged_reingest_opens_neither_store_nor_model_and_reports_what_is_indexed(tmp_path):
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    index = tmp_path / "index"
    first = ingest([folder], settings=Settings(index_dir=index), progress=False)
    assert first.added == 2 and first.tokens_embedded > 0

    again = reingest_in_new_process(folder, index)
    assert again == {"unchanged": 2, "added": 0, "chunks_total": first.chunks_total, "loaded": []}


def test_a_changed_added_or_removed_article_is_seen_after_a_recorded_ingest(tmp_path):
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    settings = Settings(index_dir=tmp_path / "index")
    ingest([folder], settings=settings, progress=False)

    # Another command removes an article: the next ingest puts it back.
    assert remove([f"articles/{TREND}"], settings=settings) == [f"articles/{TREND}"]
    back = ingest([folder], settings=settings, progress=False)
    assert (back.added, back.unchanged) == (1, 1)

    # An edited file (same size, even) is re-read and updated.
    path = folder / KAZINFORM
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("the", "The", 1), encoding="utf-8")
    edited = ingest([folder], settings=settings, progress=False)
    assert (edited.updated, edited.unchanged) == (1, 1)

    # A new file is added.
    (folder / "new.txt").write_text("Giraffes\n\nThe giraffe census counted 412 animals in Tsavo.", encoding="utf-8")
    grown = ingest([folder], settings=settings, progress=False)
    assert (grown.added, grown.unchanged) == (1, 2)
    assert reingest_in_new_process(folder, settings.index_dir)["unchanged"] == 3


def test_a_replaced_index_file_is_not_taken_for_the_recorded_one(tmp_path):
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    index = tmp_path / "index"
    ingest([folder], settings=Settings(index_dir=index), progress=False)
    chroma_file = index / "chroma.sqlite3"
    shutil.copy2(chroma_file, tmp_path / "backup.sqlite3")
    os.replace(tmp_path / "backup.sqlite3", chroma_file)  # restored from a backup, its times kept
    again = reingest_in_new_process(folder, index)
    assert again["loaded"] and again["unchanged"] == 2, "a replaced Chroma file must be opened and compared"


def test_a_text_repeated_in_a_run_is_embedded_once_and_gets_the_same_vector(tmp_path):
    folder = tmp_path / "wire"
    folder.mkdir()
    body = (ARTICLES / KAZINFORM).read_text(encoding="utf-8")
    for name in ("copy-a.txt", "copy-b.txt"):  # a wire story filed twice: same title, same passages
        (folder / name).write_text(body, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index")
    summary = ingest([folder], settings=settings, progress=False)
    per_copy = summary.chunks_written // 2
    assert summary.added == 2 and summary.passages_reused == per_copy > 0

    rows = get_pipeline(settings).store.collection.get(include=["embeddings", "metadatas"])
    by_copy = {}
    for metadata, vector in zip(rows["metadatas"], rows["embeddings"], strict=True):
        by_copy.setdefault(metadata["source"], {})[metadata["chunk_index"]] = np.asarray(vector)
    a, b = by_copy["wire/copy-a.txt"], by_copy["wire/copy-b.txt"]
    assert a.keys() == b.keys() and all(np.array_equal(a[i], b[i]) for i in a)
