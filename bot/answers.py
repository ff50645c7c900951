"""Answering readers' questions (/ask and plain-text questions): the service handlers call.

``AnswerFinder`` owns the embedding model's life in the bot process: it is loaded in the
background after start (so the first updates are not held up), every turn without an embedding
is then embedded in the background, a few at a time in a worker thread, newest pieces first —
including pieces that the CLI published from another process, noticed at the next question.
Until the model is there, or when it cannot load at all, questions are answered by lemmas
(BM25) alone and the log says so once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from bot.domain.asking import AnswerHit
from bot.embedding import Embedder, load_model, turn_vectors
from storage import Repository

logger = logging.getLogger(__name__)

EMBED_BATCH = 8  # turns per worker-thread call (a few seconds of one core at most)


class AnswerFinder:
    """Finds the answers to a reader's question across the archive."""

    def __init__(self, repo: Repository, *, embeddings: bool) -> None:
        self._repo = repo
        self._embeddings = embeddings
        self._model: Embedder | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def semantic(self) -> bool:
        """Is the embedding model in use (else lemmas only)?"""
        return self._model is not None

    async def start(self) -> None:
        """Index the archive's answers, load the model and embed, all in the background (an
        archive older than the index takes a while; a question meanwhile indexes what it needs)."""
        if not self._embeddings:
            logger.info("Ask: embeddings switched off (ASK_EMBEDDINGS=0); answering by lemmas")
        self._task = asyncio.create_task(self._load_and_embed(), name="ask-index")

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def ask(self, question: str, *, limit: int = 3) -> list[AnswerHit]:
        """The best answers to ``question``, best first (never raises for the model's sake)."""
        vector = None
        if self._model is not None:
            try:
                vector = await asyncio.to_thread(self._model.question, question)
            except Exception:
                logger.exception("Ask: embedding the question failed; answering by lemmas")
        hits = await self._repo.ask(question, vector, limit=limit)
        if self._model is not None and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._embed_pending(), name="ask-embeddings")
        return hits

    async def _load_and_embed(self) -> None:
        try:
            await self._repo.index_answers()
        except Exception:
            logger.exception("Ask: indexing the answers failed; questions will index them")
        if not self._embeddings:
            return
        self._model = await asyncio.to_thread(load_model)
        if self._model is not None:
            await self._embed_pending()

    async def _embed_pending(self) -> None:
        """Embed every turn that has no embedding yet (new pieces), a batch at a time."""
        model = self._model
        if model is None:
            return
        started, total = time.monotonic(), 0
        try:
            await self._repo.index_answers()
            while batch := await self._repo.turns_to_embed(EMBED_BATCH):
                pairs = [(question, text) for _, question, text in batch]
                vectors = await asyncio.to_thread(turn_vectors, model, pairs)
                await self._repo.store_vectors(
                    [(doc, vectors[i]) for i, (doc, _, _) in enumerate(batch)]
                )
                total += len(batch)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("Ask: embedding answers failed; they are ranked by lemmas meanwhile")
            return
        if total:
            logger.info("Ask: %d answers embedded in %.1f s", total, time.monotonic() - started)
