"""The newsroom layouts of tests/data/ingest, published and read back through the Bot API
emulator as a reader would: each answer behind its deep link, quotes found by inline search,
and nothing of the page around the interview anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bot.publishing import prepare, publish
from storage import Repository
from tests.fakegram import parse_html
from tests.harness import Harness, running_bot
from tests.test_ingest_layouts import FORMATS, INGEST, LAYOUTS

READER = 7001


async def _publish_all(db: Path) -> dict[str, int]:
    repo = await Repository.open(db)
    try:
        ids = {}
        for name in (*LAYOUTS, *FORMATS):
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
                shown = "\n".join(parse_html(m.text)[0] for m in messages)
                assert turn["question"][:30] in shown, (name, number)
                for segment in turn["segments"]:  # each segment under its speaker's name
                    said = f"{segment['speaker']}: {segment['starts']}"
                    assert said in shown, (name, number, said)
                for line in truth["furniture"]:
                    assert line not in shown, (name, number, line)
            for query in truth["queries"]:
                results = await _inline(h, query["q"])
                link = f"={piece_id}_{query['turn']}"
                found = [
                    r
                    for r in results[:5]
                    if r["reply_markup"]["inline_keyboard"][0][0]["url"].endswith(link)
                ]
                assert found, (name, query["q"])
                if "speaker" in query:  # the quote is sent under the name of who said it
                    sent = [
                        parse_html(r["input_message_content"]["message_text"])[0] for r in found
                    ]
                    assert any(f" — {query['speaker']}, " in text for text in sent), sent
            for line in truth["furniture"]:
                for result in await _inline(h, line[:40]):
                    text = parse_html(result["input_message_content"]["message_text"])[0]
                    assert line not in text, (name, line)


def _attributed_runs(text: str) -> list[tuple[str, str]]:
    """``Name: «words»`` runs of a summary as (name, words)."""
    return re.findall(r"^([^\n:«»]{3,60}): «(.+?)»\.?$", text, flags=re.MULTILINE)


async def test_summaries_of_round_tables_quote_each_expert_under_their_own_name(
    tmp_path: Path,
) -> None:
    ids = await _publish_all(tmp_path / "bot.sqlite3")
    several = ["two-experts.txt", "two-experts-dash.txt"]
    async with running_bot(tmp_path, seed=False) as h:
        for name in several:
            truth = json.loads((INGEST / f"{name}.truth.json").read_text(encoding="utf-8"))
            source = (INGEST / name).read_text(encoding="utf-8")
            experts = {s["name"] for s in truth["speakers"]}
            await h.say(READER, f"/start {ids[name]}")
            runs = []
            for view in ("short", "long", ""):
                messages = await h.say(READER, f"/summary {view}".strip())
                runs += _attributed_runs("\n".join(parse_html(m.text)[0] for m in messages))
            assert runs, name
            for who, words in runs:
                assert who in experts, (name, who)
                # every sentence quoted under a name is in a paragraph that person said
                surname = who.split()[-1]
                for sentence in re.split(
                    r"(?<=[.!?…])\s+", words.replace("„", "«").replace("“", "»")
                ):
                    # [1:40]: a summary sentence may be repaired, its connective dropped and
                    # its first letter capitalised (issue 13)
                    paragraph = next(p for p in source.split("\n") if sentence[1:40] in p)
                    other = (experts - {who}).pop().split()[-1]
                    assert surname[:4] in paragraph[:60] or other[:4] not in paragraph[:60], (
                        name,
                        who,
                        sentence,
                    )


async def test_editors_publish_every_format_from_telegram(tmp_path: Path) -> None:
    """Word, a saved web page, Markdown and a round table in text, sent to the bot with
    /publish: previewed, confirmed, and served with each segment under its speaker."""
    editor = 77
    names = ["interview.docx", "interview.html", "interview.md", "two-experts.txt"]
    async with running_bot(tmp_path, seed=False, admin_ids=frozenset({editor})) as h:
        for name in names:
            truth = json.loads((INGEST / f"{name}.truth.json").read_text(encoding="utf-8"))
            before = len(h.emu.messages(editor))
            document = h.emu.upload_file((INGEST / name).read_bytes(), name)
            await h.emu.send_message(editor, document=document, caption="/publish")
            info, preview = (await h.emu.wait_for_messages(editor, before + 2))[before:]
            assert f"Вопросов: {len(truth['turns'])}" in info.text, (name, info.text)
            for speaker in truth["speakers"]:
                assert speaker["name"] in info.text, (name, speaker)
            await h.tap(editor, preview, preview.button_texts()[0])
            [done] = (await h.emu.wait_for_messages(editor, before + 3))[before + 2 :]
            assert done.text.startswith("Опубликовано"), done.text
        pieces = {p.title: p for p in await h.repo.list_pieces(limit=10)}
        for name in names:
            truth = json.loads((INGEST / f"{name}.truth.json").read_text(encoding="utf-8"))
            piece = pieces[truth["title"]]
            assert piece.turn_count == len(truth["turns"])
            last = len(truth["turns"])
            messages = await h.say(READER, f"/start {piece.id}_{last}")
            shown = "\n".join(parse_html(m.text)[0] for m in messages)
            for segment in truth["turns"][-1]["segments"]:
                assert f"{segment['speaker']}: {segment['starts']}" in shown, (name, segment)
