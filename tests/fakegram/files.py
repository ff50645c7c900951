"""Files: the document a bot sends (upload, ``attach://``, URL or file_id) and getFile."""

from __future__ import annotations

import re
from typing import Any

from tests.fakegram.errors import bad
from tests.fakegram.state import UPLOADS, EmulatorState

MAX_FILE_DOWNLOAD_SIZE = 20 * 1024 * 1024


class FileMethods(EmulatorState):
    """getFile, and the document of sendDocument resolved to a stored file."""

    def _resolve_document(self, value: Any) -> dict[str, Any]:
        files = UPLOADS.get({})
        if isinstance(value, dict) and "file_name" in value:
            upload = files.get("document")
            if upload:
                return self._store_file(
                    upload["content"], upload["filename"] or "document", upload["content_type"]
                ).document
        if not isinstance(value, str) or not value:
            raise bad("there is no document in the request")
        if value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
            if upload is None:
                raise bad("wrong file identifier/HTTP URL specified")
            return self._store_file(
                upload["content"], upload["filename"] or "document", upload["content_type"]
            ).document
        if re.match(r"^https?://", value, re.IGNORECASE):
            name = value.rstrip("/").rsplit("/", 1)[-1] or "document"
            return self._store_file(b"", name, None).document
        stored = self._files.get(value)
        if stored is None:
            raise bad("wrong file identifier/HTTP URL specified")
        return stored.document

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id") or "")
        if not file_id:
            raise bad("file_id not specified")
        stored = self._files.get(file_id)
        if stored is None:
            raise bad("invalid file_id")
        if len(stored.content) > MAX_FILE_DOWNLOAD_SIZE:
            raise bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }
