"""The newsroom layouts of tests/data/ingest, published and read back through the Bot API
emulator as a reader would: each answer behind its deep link, quotes found by inline search,
and nothing of the page around the interview anywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.publishing import prepare, publish
from storage import Repository
from tests.fakegram import parse_html
from tests.harness import Harness, running_bot
from tests.test_ingest_layouts import INGEST, LAYOUTS

READER = 7001


async def _publish_all(db: Path) -> dict[str, int]:
    repo = await Repository.open(db)
    try:
        ids = {}
        for name in (*LAYOUTS, "interview.docx", "interview.html", "interview.md"):
            published = await publish(repo, prepare((INGEST / name).read_bytes(), name=name))
            assert published.new
            ids[name] = published.piece_id
        return ids
    finally:
        await repo.close()


async def _inline(h: Harness, query: str) -> list[dict[str, Any]]:
    query_id = await h.emu.inline_query(READER, query)
    await h.emu.wait_until(lambda: query_id in h.emu.inline_answers)
    results: list[dict[str, Any]] = h.emu.inline_answers[query_id]["results"]
    return results


async def test_every_answer_and_quote_of_every_layout(tmp_path: Path) -> None:
    ids = await _publish_all(tmp_path / "bot.sqlite3")
    async with running_bot(tmp_path, seed=False) as h:
        for name, piece_id in ids.items():
            truth = json.loads((INGEST / f"{name}.truth.json").read_text(encoding="utf-8"))
            for number, turn in enumerate(truth["turns"], start=1):
                messages = await h.say(READER, f"/start {piece_id}_{number}")
                shown = parse_html(messages[0].text)[0]
                assert turn["question"][:30] in shown, (name, number)
                assert turn["segments"][0]["starts"] in shown, (name, number)
                for line in truth["furniture"]:
                    assert line not in shown, (name, number, line)
            for query in truth["queries"]:
                results = await _inline(h, query["q"])
                links = [r["reply_markup"]["inline_keyboard"][0][0]["url"] for r in results[:5]]
                assert any(link.endswith(f"={piece_id}_{query['turn']}") for link in links), (
                    name,
                    query["q"],
                )
            for line in truth["furniture"]:
                for result in await _inline(h, line[:40]):
                    text = parse_html(result["input_message_content"]["message_text"])[0]
                    assert line not in text, (name, line)
