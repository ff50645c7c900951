"""Persistence: one repository object over SQLite."""

from storage.repository import DuplicatePieceError, Repository

__all__ = ["DuplicatePieceError", "Repository"]
