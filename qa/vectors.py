"""The passages' embeddings in a flat file beside the side index, for dense search inside a filter.

Chroma runs a filtered search by turning every matching row into an HNSW label one
at a time and walking the graph with that allow-list, so a dated question's search
costs more the more passages its window holds (408 ms p50 on Reuters-21578, where
the window searches were nearly all of it). Here the BM25 index's chunk table,
which already knows every passage's date, source and outlet, picks the rows, and
their vectors are read from a memory-mapped float32 file, slot = the row's rowid in
that table, and scored exactly: a few milliseconds for tens of thousands of rows.
Undated, unfiltered searches stay with Chroma's HNSW. The file is derived from
Chroma like the rest of the side index and is written in the same transaction as
the chunk's row. Left out: compression (int8 or PCA) of the vectors.
"""

from __future__ import annotations

import mmap
import os
import threading
from pathlib import Path

import numpy as np

ITEM = np.dtype("<f4")
MAGIC = b"QAVECTOR"
HEADER_BYTES = 16  # MAGIC, then the dimension as a little-endian uint32, then padding
# Slots that come in runs of consecutive rows at least this long on average (an archive ingested in date
# order, searched by date) are scored in place, run by run; scattered ones are first copied together.
# A 30,042-row window of Reuters-21578 in 18 runs: 11.2 ms copied, 2.8 ms in place.
MIN_MEAN_RUN = 64


class VectorFile:
    """Fixed-width float32 vectors addressed by slot, readable while other processes write.

    The file only ever grows: a process that rewrites it (a rebuild) overwrites slots in
    place, so a reader's memory map never points past the end of the file.
    """

    def __init__(self, path: Path):
        self.path = path
        self._map: np.memmap | None = None
        self._lock = threading.Lock()
        path.touch(exist_ok=True)

    def dim(self) -> int:
        """The vectors' dimension, from the header; 0 before the first vector."""
        with open(self.path, "rb") as file:
            header = file.read(HEADER_BYTES)
        return int.from_bytes(header[8:12], "little") if header[:8] == MAGIC else 0

    def write(self, slots: list[int], vectors) -> None:
        """Store each vector at its slot, growing the file as needed."""
        if not len(slots):
            return
        matrix = np.asarray(vectors, dtype=ITEM).reshape(len(slots), -1)
        # Unit length, so a dot product is the cosine the Chroma collection (cosine space) reports.
        matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        dim = self.dim()
        with open(self.path, "r+b") as file:
            if not dim:
                dim = matrix.shape[1]
                file.write(MAGIC + dim.to_bytes(4, "little") + bytes(HEADER_BYTES - len(MAGIC) - 4))
            if dim != matrix.shape[1]:
                raise ValueError(f"{self.path} holds {dim}-dimensional vectors, not {matrix.shape[1]}")
            width = dim * ITEM.itemsize
            for slot, row in zip(slots, matrix, strict=True):
                file.seek(HEADER_BYTES + slot * width)
                file.write(row.tobytes())

    def slots(self) -> int:
        """How many whole slots the file holds; 0 before the first vector."""
        dim = self.dim()
        return max(os.path.getsize(self.path) - HEADER_BYTES, 0) // (dim * ITEM.itemsize) if dim else 0

    def nearest(self, query: list[float], slots: np.ndarray, k: int) -> list[tuple[int, float]] | None:
        """(index into `slots`, cosine) of the k rows nearest the query, best first; None if a slot is missing."""
        if len(slots) == 0:
            return []
        matrix = self._matrix(int(slots.max()) + 1)
        if matrix is None:
            return None
        q = np.asarray(query, dtype=ITEM)
        q /= np.linalg.norm(q) or 1.0
        order = np.argsort(slots, kind="stable")  # read the file front to back: the kernel reads ahead
        scores = np.empty(len(slots), dtype=ITEM)
        scores[order] = _products(matrix, slots[order], q)
        top = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top]

    def _matrix(self, rows: int) -> np.ndarray | None:
        """The file as a (slots, dim) array covering at least `rows` slots, remapped when it has grown."""
        with self._lock:
            if self._map is None or len(self._map) < rows:
                slots = self.slots()
                if slots < rows:
                    return None  # not written yet, or cut short: the side index is rebuilt on the next sync
                self._map = np.memmap(self.path, dtype=ITEM, mode="r", offset=HEADER_BYTES, shape=(slots, self.dim()))
                # Ask the kernel to read the file in ahead of the first searches, which else fault page by page.
                self._map._mmap.madvise(mmap.MADV_WILLNEED)
            return self._map


def _products(matrix: np.ndarray, ascending: np.ndarray, query: np.ndarray) -> np.ndarray:
    """`matrix[ascending] @ query`, reading runs of consecutive slots in place instead of copying them."""
    breaks = np.flatnonzero(np.diff(ascending) != 1) + 1
    if len(ascending) < MIN_MEAN_RUN * (len(breaks) + 1):
        return matrix[ascending] @ query
    starts, ends = np.concatenate(([0], breaks)), np.concatenate((breaks, [len(ascending)]))
    return np.concatenate(
        [matrix[ascending[start] : ascending[end - 1] + 1] @ query for start, end in zip(starts, ends, strict=True)]
    )
