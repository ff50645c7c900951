"""Persistence: one repository object over SQLite (see ``storage/repository.py``)."""

from storage.quote_index import MAX_RESULTS
from storage.repository import DuplicatePieceError, Repository, StorageError

__all__ = ["MAX_RESULTS", "DuplicatePieceError", "Repository", "StorageError"]
