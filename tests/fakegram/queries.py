"""answerCallbackQuery and answerInlineQuery: each query can be answered once."""

from __future__ import annotations

import re
from typing import Any

from tests.fakegram.errors import QUERY_TOO_OLD, ApiError, bad
from tests.fakegram.markup import validate_inline_result
from tests.fakegram.state import EmulatorState

MAX_INLINE_RESULTS = 50
_START_PARAMETER_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class QueryMethods(EmulatorState):
    """answerCallbackQuery and answerInlineQuery."""

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callback_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad("MESSAGE_TOO_LONG")
        url = params.get("url")
        if url and not re.match(r"^(https?|tg)://", str(url), re.IGNORECASE):
            raise bad("URL_INVALID")
        self._open_callback_queries.discard(query_id)
        self.callback_answers[query_id] = dict(params)
        return True

    async def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("inline_query_id") or "")
        results = params.get("results", [])
        if results in (None, ""):
            results = []
        if not isinstance(results, list):
            raise bad("can't parse JSON encoded inline query results")
        if query_id not in self._open_inline_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        if len(results) > MAX_INLINE_RESULTS:
            raise bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            validate_inline_result(result)
            if result["id"] in seen:
                raise bad("RESULT_ID_DUPLICATE")
            seen.add(result["id"])
        next_offset = params.get("next_offset")
        if next_offset is not None and len(str(next_offset).encode("utf-8")) > 64:
            raise bad("NEXT_OFFSET_INVALID")
        button = params.get("button")
        if button is not None:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise bad(
                    'can\'t parse InlineQueryResultsButton: Field "text" must be of type String'
                )
            start = button.get("start_parameter")
            web_app = button.get("web_app")
            if (start is None) == (web_app is None):
                raise bad(
                    "InlineQueryResultsButton must have exactly one of start_parameter, web_app"
                )
            if start is not None and not _START_PARAMETER_RE.match(str(start)):
                raise bad("START_PARAM_INVALID")
        cache_time = params.get("cache_time")
        if cache_time is not None and (not isinstance(cache_time, int) or cache_time < 0):
            raise bad("wrong parameter cache_time in request")
        self._open_inline_queries.discard(query_id)
        self.inline_answers[query_id] = dict(params, results=results)
        return True
