"""The newsroom's acceptance run, on content the developers had not seen.

Five interviews in ``tests/data/acceptance/`` (each a different topic, author and layout: en-dash
turns separated by blank lines with a 4,600-character answer; hyphen turns line by line with a
closing, saved in Windows-1251; ``Вопрос:``/``Ответ:`` labels with the text on the next line,
with a BOM and CRLF; ``Корреспондент:``/``Алия Сейткали:`` speaker labels with HTML-like text
and a 4,200-character answer; ``В:``/``О:`` labels published with ``--title``/``--speaker``) and
bad files in ``tests/data/acceptance/bad/``.

The editor publishes with ``python -m bot publish`` and a reader uses the bot through the Bot API
emulator, which rejects what Telegram would reject. The live scenario runs the real
``python -m bot run`` process; the other tests publish in-process through ``bot.cli.main`` (the
same code without a new interpreter, which costs ~7 s per call) into one archive built once.

Tests marked ``xfail(strict=True)`` document product bugs found by this run; each reason says
what is wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import shutil
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

import bot.cli
from bot.domain.language import morph, split_sentences
from bot.domain.models import Piece
from bot.domain.readable import repair
from bot.publishing import ensure_seed
from storage import Repository
from tests.fakegram import BotAPIEmulator, SentMessage, parse_html, utf16_len
from tests.harness import Harness, running_bot, start_bot_process
from tests.test_reading_e2e import publish_cli

DATA = Path(__file__).parent / "data" / "acceptance"
BAD = DATA / "bad"
READER = 9001
LIMIT = 4096
T = TypeVar("T")


# -- the newsroom's files and what they hold (written by hand from the files, not by the parser)


@dataclass(frozen=True)
class Spec:
    key: str
    file: str
    args: tuple[str, ...]
    title: str
    speaker: str
    first_question: str
    paragraphs: tuple[int, ...]  # paragraphs of each answer, as written
    credits: tuple[str, ...]
    long_turn: int | None = None
    long_bounds: tuple[str, str] = ("", "")  # the long answer's first words, the next question's


WATER = Spec(
    "water",
    "water-zhumabaev-endash.txt",
    (),
    "Ерлан Жумабаев: «Воды не станет больше – её придётся научиться считать»",
    "Ерлан Жумабаев",
    "Ерлан Маратович, прошлое лето называют самым маловодным",
    # the last answer's second paragraph follows a blank line, so by the layout rule (blank lines
    # between turns: the closing starts after the blank line that follows the last turn) it is
    # the closing, which readers see after the last answer (test_closing_follows_the_last_answer)
    (2, 1, 8, 1, 1, 1),
    ("Беседовала Анна Ли", "Фото: Тимур Батыров"),
    long_turn=3,
    long_bounds=("– Потому что субсидия", "– Какие меры можно принять"),
)
MUSEUM = Spec(
    "museum",
    "museum-seifullina-hyphen-cp1251.txt",
    (),
    "Оцифровка фондов: как областной музей выложил в сеть 40 тысяч предметов",
    "Гульнара Сейфуллина",
    "Гульнара Ахметовна, с чего начался проект?",
    (1, 1, 1, 1, 1),
    ("Фото предоставлены пресс-службой музея",),
)
AIR = Spec(
    "air",
    "air-abenov-labels-bom-crlf.txt",
    (),
    "Смог над Алматы: что показывают датчики и что можно сделать этой зимой",
    "Данияр Абенов",
    "Данияр, насколько плохо обстоят дела на самом деле?",
    (1, 3, 1, 1),
    ("Фото: Данияр Абенов / AirKaz",),
)
VENTURE = Spec(
    "venture",
    "venture-seitkali-speaker-labels.txt",
    (),
    "Венчур в Центральной Азии: «Инвесторы платят за команду, а не за презентацию»",
    "Алия Сейткали",
    "Алия, ваш фонд за год рассмотрел больше тысячи заявок.",
    (1, 1, 8, 1, 1),
    ("Текст: Ержан Нурланов",),
    long_turn=3,
    long_bounds=("Алия Сейткали: Это, пожалуй", "Корреспондент: Как изменился рынок"),
)
GRAIN = Spec(
    "grain",
    "grain-ospanov-vo-labels.txt",
    ("--title", "Марат Оспанов: «Не сеять пшеницу по привычке»", "--speaker", "Марат Оспанов"),
    "Марат Оспанов: «Не сеять пшеницу по привычке»",
    "Марат Оспанов",
    "Урожай рекордный, а фермеры жалуются. Почему?",
    (1, 2, 1, 1),
    ("Интервью подготовила Дина Сарсенова",),
)
GOOD = (WATER, MUSEUM, AIR, VENTURE, GRAIN)  # published in this order: GRAIN is the newest

LABELS = re.compile(r"^(?:[—–-]\s|Вопрос:|Ответ:|В:|О:|Корреспондент:|Алия Сейткали:)")


def bug(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(reason=f"BUG: {reason}", strict=True)


# -- running things -------------------------------------------------------------------------------


def in_thread(function: Callable[..., T], *args: Any) -> T:
    """Run ``function`` in a worker thread (it may call ``asyncio.run``)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


def publish_here(db: Path, path: Path, *args: str) -> tuple[int, str, str]:
    """``python -m bot publish`` without a new interpreter: ``bot.cli.main`` with the
    environment the CLI would see. Returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_PATH", str(db))
        mp.setenv("BOT_TOKEN", "")
        mp.setattr(bot.cli, "setup_logging", lambda *a, **k: None)  # keep pytest's handlers
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = in_thread(bot.cli.main, ["publish", str(path), *args])
    return code, out.getvalue(), err.getvalue()


async def publish_async(db: Path, path: Path, *args: str) -> tuple[int, str, str]:
    return await asyncio.to_thread(publish_here, db, path, *args)


def copy_db(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(source) + suffix)
        if src.exists():
            shutil.copyfile(src, Path(str(target) + suffix))


async def _seed(db: Path) -> None:
    repo = await Repository.open(db)
    try:
        await ensure_seed(repo)
    finally:
        await repo.close()


@dataclass
class Archive:
    db: Path
    ids: dict[str, int]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """A fresh install (the bundled interview) plus the five files, published in order."""
    db = tmp_path_factory.mktemp("acceptance") / "bot.sqlite3"
    in_thread(asyncio.run, _seed(db))
    ids = {}
    for spec in GOOD:
        code, out, err = publish_here(db, DATA / spec.file, *spec.args)
        assert code == 0, err
        ids[spec.key] = int(out)
    return Archive(db, ids)


@contextlib.asynccontextmanager
async def bot_with_archive(archive: Archive, tmp_path: Path) -> Any:
    copy_db(archive.db, tmp_path / "bot.sqlite3")
    async with running_bot(tmp_path) as h:
        yield h
        assert_no_rejected_calls(h.emu)


def assert_no_rejected_calls(emu: BotAPIEmulator) -> None:
    rejected = [(c.method, c.error) for c in emu.calls if c.method != "getUpdates" and not c.ok]
    assert not rejected, rejected


async def piece_of(h: Harness, archive: Archive, spec: Spec) -> Piece:
    piece = await h.repo.get_piece(archive.ids[spec.key])
    assert piece is not None
    return piece


async def open_piece(h: Harness, piece_id: int) -> None:
    """A reader follows the piece's deep link (the chat then reads this piece)."""
    await h.say(READER, f"/start {piece_id}")


async def ask_inline(h: Harness, query: str, offset: str = "") -> dict[str, Any]:
    query_id = await h.emu.inline_query(READER, query, offset=offset)
    await h.emu.wait_until(lambda: query_id in h.emu.inline_answers)
    return h.emu.inline_answers[query_id]


def source_paragraphs(spec: Spec) -> list[str]:
    """The file's non-empty lines, decoded the way an editor's text editor would."""
    raw = (DATA / spec.file).read_bytes()
    text = raw.decode("cp1251") if "cp1251" in spec.file else raw.decode("utf-8-sig")
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def source_long_answer(spec: Spec) -> tuple[str, ...]:
    """The long answer's paragraphs cut from the file by hand (the turn marker removed)."""
    lines = source_paragraphs(spec)
    first, following = spec.long_bounds
    start = next(i for i, p in enumerate(lines) if p.startswith(first))
    end = next(i for i, p in enumerate(lines) if p.startswith(following))
    paragraphs = lines[start:end]
    paragraphs[0] = re.sub(r"^(?:[—–-] |[^:]{1,40}: )", "", paragraphs[0])
    return tuple(paragraphs)


def visible(piece: Piece) -> list[str]:
    """Every text of a piece a reader can see: title, lead, questions, answers, summaries."""
    s = piece.summary
    texts = [piece.title, *piece.lead, *s.text, *s.short, *s.long, *s.gists]
    for turn in piece.turns:
        texts += [*turn.question, *turn.answer]
    return texts


def check_whole_answer(messages: list[SentMessage], question: str, paragraphs: tuple[str, ...]):
    """All paragraphs present, in order, none twice; every message within Telegram's limit."""
    assert all(utf16_len(m.text) <= LIMIT for m in messages), [utf16_len(m.text) for m in messages]
    joined = "\n\n".join(m.text for m in messages)
    assert question in joined
    position = joined.index(question) + len(question)
    for paragraph in paragraphs:
        found = joined.find(paragraph, position)
        assert found >= 0, f"missing or out of order: {paragraph[:80]!r}"
        assert joined.count(paragraph) == 1, f"repeated: {paragraph[:80]!r}"
        position = found + len(paragraph)
    # the keyboard (◀ ▶, All questions) sits under the last message only
    assert messages[-1].buttons() and not any(m.buttons() for m in messages[:-1])


# -- 1. the live scenario: the real `python -m bot run` process ----------------------------------


async def test_live_bot_serves_a_second_piece_in_another_layout(tmp_path: Path) -> None:
    """Publish (en-dash layout) while the bot runs, then a second piece in the speaker-label
    layout: it becomes the newest, and its 4,200-character answer arrives whole. A bad file
    published meanwhile is refused and changes nothing."""
    db = tmp_path / "bot.sqlite3"
    await _seed(db)  # a fresh install: the bundled interview
    async with BotAPIEmulator() as emu:
        env = {
            "BOT_TOKEN": emu.token,
            "BOT_API_URL": emu.base_url,
            "DATABASE_PATH": str(db),
            "THROTTLE_RATE": "0",
            "LOG_LEVEL": "INFO",
        }
        process = await start_bot_process(env, "run")
        try:
            # the editor publishes while the bot starts
            code, out, err = await publish_cli(db, DATA / WATER.file)
            assert code == 0, err
            water_id = int(out)
            await emu.wait_for_call("getUpdates", timeout=40)

            async def say(text: str, expect: int = 1) -> list[SentMessage]:
                before = len(emu.messages(READER))
                await emu.send_message(READER, text)
                return (await emu.wait_for_messages(READER, before + expect, timeout=10))[before:]

            [summary] = await say("/summary")
            assert summary.text.startswith(WATER.title)
            long_water = source_long_answer(WATER)
            assert len(long_water) == 8 and sum(map(len, long_water)) > 4500
            messages = await say("/answer 3", expect=2)
            check_whole_answer(
                messages, "Почему им до сих пор пользуется меньшинство хозяйств?", long_water
            )

            # the second piece, in another layout, and a bad file at the same time
            (code, out, err), (bad_code, bad_out, bad_err) = await asyncio.gather(
                publish_cli(db, DATA / VENTURE.file),
                publish_cli(db, BAD / "interview-from-word.docx"),
            )
            assert code == 0, err
            venture_id = int(out)
            assert venture_id > water_id
            assert bad_code != 0 and bad_out == "" and "Traceback" not in bad_err
            assert bad_err.startswith("error:") and bad_err.count("\n") == 1

            [summary] = await say("/summary")
            assert summary.text.startswith(VENTURE.title)
            paragraphs = source_long_answer(VENTURE)
            assert sum(map(len, paragraphs)) > 4000
            messages = await say("/answer 3", expect=2)
            check_whole_answer(messages, "Почему университетские R&D так редко", paragraphs)
            assert "теги <b>" not in "".join(m.text for m in messages)  # not this answer
            [answer_two] = await say("/answer 2")
            assert "вместо жирного шрифта виднелись теги <b> и </b>" in answer_two.text
            assert "превратились в &amp;." in answer_two.text  # shown as typed, not unescaped

            repo = await Repository.open(db)
            try:
                assert await repo.count_pieces() == 3  # the seed and the two pieces
                assert await repo.latest_piece_id() == venture_id
            finally:
                await repo.close()
            assert_no_rejected_calls(emu)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            _out, logs = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, logs.decode()[-2000:]
        assert "Traceback" not in logs.decode()


# -- 2. what the parser made of each file (read back from the store) ------------------------------


@pytest.mark.parametrize("spec", GOOD, ids=lambda s: s.key)
async def test_turns_questions_and_credits(spec: Spec, archive: Archive, tmp_path: Path) -> None:
    stored = await stored_piece(archive, spec, tmp_path)
    assert stored.title == spec.title
    assert len(stored.turns) == len(spec.paragraphs)
    assert stored.turns[0].question_text.startswith(spec.first_question)
    for turn in stored.turns:
        assert turn.question and turn.answer
        for text in (*turn.question, *turn.answer):
            assert not LABELS.match(text), text  # turn markers are not part of the text
    for credit in spec.credits:
        assert all(credit not in text for text in visible(stored)), credit
    assert all("?" not in sentence for sentence in stored.summary.text)


@pytest.mark.parametrize(
    "spec",
    [
        WATER,
        MUSEUM,
        AIR,
        VENTURE,
        GRAIN,
    ],
    ids=lambda s: s.key,
)
async def test_every_answer_paragraph_is_kept(spec: Spec, archive: Archive, tmp_path: Path) -> None:
    stored = await stored_piece(archive, spec, tmp_path)
    assert tuple(len(t.answer) for t in stored.turns) == spec.paragraphs


@pytest.mark.parametrize(
    "spec",
    [
        WATER,
        MUSEUM,
        AIR,
        VENTURE,
        GRAIN,
    ],
    ids=lambda s: s.key,
)
async def test_speaker(spec: Spec, archive: Archive, tmp_path: Path) -> None:
    stored = await stored_piece(archive, spec, tmp_path)
    assert stored.speaker == spec.speaker


async def test_closing_follows_the_last_answer(archive: Archive, tmp_path: Path) -> None:
    stored = await stored_piece(archive, WATER, tmp_path)
    assert stored.closing and stored.closing[0].startswith("И не откладывать разговор")
    async with bot_with_archive(archive, tmp_path) as h:
        last = len(stored.turns)
        messages = await h.say(READER, f"/start {stored.id}_{last}")
        assert "И не откладывать разговор с соседями" in messages[-1].text
        [earlier] = await h.say(READER, f"/start {stored.id}_1")
        assert "И не откладывать разговор" not in earlier.text


async def stored_piece(archive: Archive, spec: Spec, tmp_path: Path) -> Piece:
    """The piece as the store holds it (read from a copy of the archive)."""
    db = tmp_path / "read.sqlite3"
    if not db.exists():
        copy_db(archive.db, db)
    repo = await Repository.open(db)
    try:
        piece = await repo.get_piece(archive.ids[spec.key])
    finally:
        await repo.close()
    assert piece is not None
    return piece


def test_labels_with_text_on_next_line_without_blank_lines(tmp_path: Path) -> None:
    text = (DATA / AIR.file).read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    compact = "\n".join(line for line in text.split("\n") if line.strip()) + "\n"
    path = tmp_path / "air-compact.txt"
    path.write_text(compact, encoding="utf-8")
    code, _out, err = publish_here(tmp_path / "bot.sqlite3", path)
    assert code == 0, err
    assert "4 questions" in err


# -- 3. reading: newest piece, buttons, long answers, /answer edge cases ---------------------------


async def test_newest_piece_is_served_by_summary_and_archive(
    archive: Archive, tmp_path: Path
) -> None:
    async with bot_with_archive(archive, tmp_path) as h:
        [summary] = await h.say(READER, "/summary")
        assert summary.text.startswith(GRAIN.title)
        assert summary.text.split("\n")[1].startswith("Марат Оспанов · ")
        [listing] = await h.say(READER, "/pieces")
        order = [listing.text.index(spec.title[:40]) for spec in reversed(GOOD)]
        assert order == sorted(order)  # newest first


@pytest.mark.parametrize("spec", GOOD, ids=lambda s: s.key)
async def test_question_buttons_open_every_answer(
    spec: Spec, archive: Archive, tmp_path: Path
) -> None:
    async with bot_with_archive(archive, tmp_path) as h:
        piece = await piece_of(h, archive, spec)
        await open_piece(h, piece.id)
        total = len(piece.turns)
        for turn in piece.turns:
            [listing] = await h.say(READER, "/questions")
            assert listing.text.startswith(piece.title)
            assert len(listing.buttons()) >= total
            await h.tap(READER, listing, f"{turn.number}. ")
            messages = h.emu.messages(READER)
            shown = [m for m in messages if m.message_id > listing.message_id] or [
                m for m in messages if m.message_id == listing.message_id
            ]
            check_whole_answer(shown, turn.question[0], turn.answer)
            assert f"вопрос {turn.number} из {total}" in shown[0].text
        assert len(h.emu.callback_answers) == total


@pytest.mark.parametrize("spec", [WATER, VENTURE], ids=lambda s: s.key)
async def test_long_answer_arrives_whole_split_between_sentences(
    spec: Spec, archive: Archive, tmp_path: Path
) -> None:
    async with bot_with_archive(archive, tmp_path) as h:
        piece = await piece_of(h, archive, spec)
        assert spec.long_turn
        turn = piece.turns[spec.long_turn - 1]
        assert len(turn.answer_text) > 4000
        await open_piece(h, piece.id)
        messages = await h.say(READER, f"/answer {spec.long_turn}", expect=2)
        check_whole_answer(messages, turn.question[0], turn.answer)
        check_whole_answer(messages, turn.question[0], source_long_answer(spec))  # as written
        for message in messages[:-1]:
            assert message.text.rstrip().endswith((".", "?", "!", "»", "…")), message.text[-80:]
        # ◀ ▶ walk on from the last part
        assert any("▶" in b for b in messages[-1].button_texts())


async def test_answer_number_edge_cases(archive: Archive, tmp_path: Path) -> None:
    async with bot_with_archive(archive, tmp_path) as h:
        grain = await piece_of(h, archive, GRAIN)  # the newest: 4 answers
        second = grain.turns[1].answer[0]
        for typed in ("/answer 2", "/answer №2", "/answer #2", "/answer 2.", "/answer  2 "):
            [reply] = await h.say(READER, typed)
            assert second in reply.text, typed
        [mention] = await h.say(READER, f"/answer@{h.emu.username} 2")
        assert second in mention.text
        [last] = await h.say(READER, "/answer 4")
        assert "вопрос 4 из 4" in last.text
        assert not any("▶" in b for b in last.button_texts())
        for out_of_range in ("/answer 0", "/answer 5", "/answer 000005", "/answer 999999"):
            [reply] = await h.say(READER, out_of_range)
            assert "ответы с 1 по 4" in reply.text, out_of_range
        for junk in (
            "/answer",
            "/answer -1",
            "/answer 1.5",
            "/answer два",
            "/answer 2 3",
            "/answer 1234567",
            "/answer <b>2</b>",
            "/answer 2)",
        ):
            [reply] = await h.say(READER, junk)
            assert "1 по 4" in reply.text, (junk, reply.text)
        # deep links into an older piece, and what /answer reads afterwards
        water = await piece_of(h, archive, WATER)
        [reply] = await h.say(READER, f"/start {water.id}_0")
        assert "ответы с 1 по 6" in reply.text
        [reply] = await h.say(READER, f"/start {water.id}_7")
        assert "ответы с 1 по 6" in reply.text
        [reply] = await h.say(READER, f"/start {water.id}_5")
        assert "Камбаратинская ГЭС" in reply.text
        [reply] = await h.say(READER, "/answer 6")  # the chat now reads the water piece
        assert "вопрос 6 из 6" in reply.text


# -- 4. inline quote lookup on these files --------------------------------------------------------

# (kind, typed query, a part of a quote that must be among the top three)
INLINE_CASES = [
    ("form", "водохранилищами", "вверх по течению строятся новые водохранилища"),
    ("form", "Сырдарьей", "Сток Сырдарьи в вегетационный период"),
    ("form", "гидропостами", "Один автоматический гидропост"),
    ("form", "Пушкина", "приписывали А. С. Пушкину"),
    ("form", "очистителем воздуха", "Бытовой очиститель воздуха"),
    ("form", "чечевицы", "Лён, нут, чечевица"),
    ("form", "Камбаратинской ГЭС", "Камбаратинская ГЭС в Кыргызстане"),
    ("form", "фильтры забиваются", "Фильтры забиваются за несколько часов"),
    ("prefix", "капельн", "капельн"),
    ("prefix", "камбарат", "Камбаратинская ГЭС"),
    ("prefix", "нут и чечев", "Лён, нут, чечевица"),
    ("prefix", "очистит", "Бытовой очиститель воздуха"),
    ("prefix", "графол", "графологам"),
    ("typo", "Камборатинская", "Камбаратинская ГЭС"),
    ("typo", "водохранилеща", "новые водохранилища"),
    ("typo", "графолагам", "графологам в Санкт-Петербург"),
    ("typo", "сивооборот", "Севооборот ещё и восстанавливает почву"),
    ("typo", "эмитеры", "эмиттеры зарастают за сезон"),
    ("typo", "инверсея", "температурная инверсия"),
    ("symbol", "R&D", "на R&D тратится около 0,13% ВВП"),
    ("symbol", "r&d", "на R&D тратится около 0,13% ВВП"),
    ("symbol", "<5%", "конверсия <5%"),
    ("symbol", "0.13%", "около 0,13% ВВП"),
    ("symbol", "co2", "выбросах СО₂ на тонну"),
    ("symbol", "СО2", "выбросы CO2, о которых"),  # Cyrillic С and О
    ("symbol", "2,5 млрд", "2,5 млрд долларов"),
    ("symbol", "pm2,5", "концентрация PM2.5 зимними вечерами"),
    ("symbol", "$250", "Средний чек – $250 тысяч"),
    ("symbol", "ТЭЦ-2", "Но ТЭЦ-2 выбрасывает из высокой трубы"),
    ("symbol", "H13", "фильтром HEPA класса H13"),
    ("symbol", "теги <b>", "виднелись теги <b> и </b>"),
    ("symbol", "&amp;", "амперсанды превратились в &amp;"),
    ("symbol", "А. С. Пушкину", "приписывали А. С. Пушкину"),
    ("symbol", "https://airkaz.org", "открыта на сайте https://airkaz.org"),
]


async def test_inline_search_finds_quotes_in_these_files(archive: Archive, tmp_path: Path) -> None:
    misses = []
    async with bot_with_archive(archive, tmp_path) as h:
        for kind, query, expected in INLINE_CASES:
            answer = await ask_inline(h, query)
            results = answer["results"]
            sent = [parse_html(r["input_message_content"]["message_text"])[0] for r in results]
            if not any(expected in text for text in sent[:3]):
                misses.append((kind, query, expected, [r["title"][:60] for r in results[:3]]))
            for result, text in zip(results, sent, strict=True):
                assert text.startswith("«") and "» — " in text
                assert len(result["title"]) <= 100 and utf16_len(text) <= LIMIT
        assert not misses, misses


async def test_inline_quote_is_attributed_and_opens_its_answer(
    archive: Archive, tmp_path: Path
) -> None:
    async with bot_with_archive(archive, tmp_path) as h:
        answer = await ask_inline(h, "эмиттеры")
        [top] = answer["results"][:1]
        text, _ = parse_html(top["input_message_content"]["message_text"])
        assert text == (
            "«Фильтры забиваются за несколько часов, эмиттеры зарастают за сезон.» — "
            f"Ерлан Жумабаев, {WATER.title}"
        )
        assert "ответ 3" in top["description"]
        [[button]] = top["reply_markup"]["inline_keyboard"]
        payload = button["url"].split("?start=", 1)[1]
        messages = await h.say(READER, f"/start {payload}", expect=2)
        assert "Фильтры забиваются за несколько часов" in "".join(m.text for m in messages)

        # an empty query shows the newest piece's quotes
        empty = await ask_inline(h, "")
        assert empty["results"] and "Марат Оспанов" in empty["results"][0]["description"]

        # /search in the bot's chat: the same engine, with buttons to the answers
        [listing] = await h.say(READER, "/search R&D")
        assert "R&amp;D" not in listing.text and "R&D" in listing.text
        assert listing.button_texts()[0].startswith("1 · ")


async def test_inline_search_by_the_speakers_name(archive: Archive, tmp_path: Path) -> None:
    async with bot_with_archive(archive, tmp_path) as h:
        for query, speaker in (("Жумабаев", "Ерлан Жумабаев"), ("Абенова", "Данияр Абенов")):
            results = (await ask_inline(h, query))["results"]
            assert results and speaker in results[0]["description"], query


# -- 5. bad files are refused, with one line and no change ---------------------------------------


def _refused(db: Path, path: Path) -> None:
    before = in_thread(asyncio.run, _state(db))
    code, out, err = publish_here(db, path)
    assert code != 0 and out == "", (code, out, err)
    assert err.startswith("error:") and err.count("\n") == 1 and "Traceback" not in err, err
    assert in_thread(asyncio.run, _state(db)) == before


async def _state(db: Path) -> tuple[int, int | None]:
    repo = await Repository.open(db)
    try:
        return await repo.count_pieces(), await repo.latest_piece_id()
    finally:
        await repo.close()


@pytest.mark.parametrize(
    "name",
    [
        "interview-from-word.docx",
        "interview.rtf",
        "lead-only.txt",
        "questions-only.txt",
        "questions-only-labels.txt",
    ],
)
def test_bad_file_is_refused_and_changes_nothing(name: str, archive: Archive, tmp_path: Path):
    db = tmp_path / "bot.sqlite3"
    copy_db(archive.db, db)
    _refused(db, BAD / name)


def test_a_saved_web_page_with_dash_turns_is_published(archive: Archive, tmp_path: Path) -> None:
    """Web pages were refused before issue 11; a saved article is now read for its text."""
    db = tmp_path / "bot.sqlite3"
    copy_db(archive.db, db)
    code, out, err = publish_here(db, BAD / "article-p-tags.html")
    assert code == 0 and out.strip().isdigit(), err
    assert "2 questions" in err and "Данияр Абенов" in err


def test_a_saved_web_page_with_turns_between_line_breaks_is_published(
    archive: Archive, tmp_path: Path
) -> None:
    """A page whose dash turns are set apart by <br> inside one block: each line is a
    paragraph, so the turns are found as in a text file, the byline kept apart."""
    db = tmp_path / "bot.sqlite3"
    copy_db(archive.db, db)
    code, out, err = publish_here(db, BAD / "saved-page-br.html")
    assert code == 0 and out.strip().isdigit(), err
    assert "2 questions" in err
    piece = in_thread(asyncio.run, _piece(db, int(out)))
    assert piece.title == "Ерлан Жумабаев: «Воды не станет больше»"
    assert piece.lead == ("Маловодье прошлого лета обошлось фермерам юга почти в 2,5 млрд тенге.",)
    assert [(t.question_text, t.answer_text) for t in piece.turns] == [
        (
            "Ерлан Маратович, прошлое лето называют самым маловодным за двадцать лет. "
            "Это случайность или тенденция?",
            "Это тенденция, и её хорошо видно в рядах наблюдений. Сток Сырдарьи за тридцать "
            "лет снизился примерно на 12%.",
        ),
        (
            "Куда уходит вода, которая всё-таки поступает в каналы?",
            "Значительная её часть до полей как раз не доходит: потери составляют от 30 до 40%.",
        ),
    ]
    everything = " ".join([*piece.lead, *piece.closing, *(t.answer_text for t in piece.turns)])
    assert "Беседовала" not in everything


async def _piece(db: Path, piece_id: int) -> Piece:
    repo = await Repository.open(db)
    try:
        piece = await repo.get_piece(piece_id)
        assert piece is not None
        return piece
    finally:
        await repo.close()


def test_same_text_in_another_encoding_is_already_published(
    archive: Archive, tmp_path: Path
) -> None:
    db = tmp_path / "bot.sqlite3"
    copy_db(archive.db, db)
    museum = (DATA / MUSEUM.file).read_bytes().decode("cp1251")
    air = (DATA / AIR.file).read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    for name, content in (("museum-utf8.txt", museum.encode()), ("air-lf.txt", air.encode())):
        (tmp_path / name).write_bytes(content)
        code, out, err = publish_here(db, tmp_path / name)
        assert code != 0 and out == "" and "already published" in err, err
    _refused(db, DATA / GRAIN.file)


# -- 6. summaries and gists, read as an editor ---------------------------------------------------


def _sentences_of_source(piece: Piece) -> set[str]:
    texts = [*piece.lead]
    for turn in piece.turns:
        texts += turn.answer
    return {s for text in texts for s in split_sentences(text)}


@pytest.mark.parametrize("spec", GOOD, ids=lambda s: s.key)
async def test_summaries_follow_the_house_rules(
    spec: Spec, archive: Archive, tmp_path: Path
) -> None:
    piece = await stored_piece(archive, spec, tmp_path)
    s = piece.summary
    source = _sentences_of_source(piece)
    source |= {repair(x) for x in source}  # a leading connective dropped (issue 13)
    lead = {x for paragraph in piece.lead for x in split_sentences(paragraph)}
    for name, sentences, (low, high), chars in (
        ("text", s.text, (3, 5), 800),
        ("short", s.short, (1, 2), 400),
        ("long", s.long, (3, 8), 1800),
    ):
        assert low <= len(sentences) <= high, (name, sentences)
        assert sum(len(x) for x in sentences) <= chars, name
        assert sentences[0] in lead, name  # the news (the lead's most informative) opens
        for sentence in sentences:
            assert sentence in source, (name, sentence)  # verbatim, never a question
            assert not sentence.rstrip().endswith("?"), (name, sentence)
    assert set(s.text) <= set(s.long)
    assert len(s.gists) == len(piece.turns)
    for gist, turn in zip(s.gists, piece.turns, strict=True):
        assert 0 < len(gist) <= 160
        repaired = " ".join(repair(x) for x in split_sentences(turn.answer_text))
        assert gist.removesuffix("…") in turn.answer_text + "\n" + repaired, gist


def unquote(text: str) -> str:
    """Quotes inside the expert's «…» are shown as „…“; compare with the source's «…»."""
    return text.replace("„", "«").replace("“", "»")


@pytest.mark.parametrize("spec", GOOD, ids=lambda s: s.key)
async def test_summary_variants_through_the_bot(spec: Spec, archive: Archive, tmp_path: Path):
    """/summary, /summary short, /summary long and the Короче/Подробнее buttons show the stored
    sentences, the expert's attributed to the speaker, in one message each."""
    async with bot_with_archive(archive, tmp_path) as h:
        piece = await piece_of(h, archive, spec)
        s = piece.summary
        await open_piece(h, piece.id)
        for command, sentences in (
            ("/summary", s.text),
            ("/summary short", s.short),
            ("/summary long", s.long),
            ("/summary подробно", s.long),
        ):
            [shown] = await h.say(READER, command)
            assert shown.text.startswith(piece.title), command
            assert utf16_len(shown.text) <= LIMIT
            for sentence in sentences:
                assert sentence.rstrip(".") in unquote(shown.text), (command, sentence)
            if piece.speaker and any(x in t.answer_text for x in sentences for t in piece.turns):
                assert f"{piece.speaker}: «" in shown.text, command
            assert all(credit not in shown.text for credit in spec.credits), command
        [summary] = await h.say(READER, "/summary")
        await h.tap(READER, summary, "Короче")
        assert s.short[-1].rstrip(".") in unquote(h.emu.last_message(READER).text)
        await h.tap(READER, h.emu.last_message(READER), "Подробнее")
        assert s.long[-1].rstrip(".") in unquote(h.emu.last_message(READER).text)
        [usage] = await h.say(READER, "/summary medium")
        assert "/summary short" in usage.text


_LEANS_BACK = re.compile(
    r"^(?:Например|Добавьте сюда|Вторая|Второе|Третья|Третье|Во-первых|Во-вторых|В-третьих|"
    r"Кроме того|"
    r"При этом|Зато|Тем не менее|Отсюда|Из этого)\b"
)
_PRONOUN = {"он", "она", "оно", "они", "его", "её", "ее", "их", "ему", "ей", "им"}


def _reads_alone(sentence: str) -> bool:
    """Can a reader understand this sentence without the one before it (or the question)?"""
    if _LEANS_BACK.match(sentence):
        return False
    words = re.findall(r"[А-Яа-яЁё]+", sentence)
    if any(w.lower() in _PRONOUN for w in words[:4]):
        return False  # "Напрямую зерна он пока не касается" — who is "он"?
    return not (words and "INFN" in morph().parse(words[0].lower())[0].tag)


async def test_summary_sentences_read_on_their_own(archive: Archive, tmp_path: Path) -> None:
    bad = []
    for spec in GOOD:
        piece = await stored_piece(archive, spec, tmp_path)
        s = piece.summary
        for name, sentences in (("text", s.text), ("short", s.short), ("long", s.long)):
            bad += [(spec.key, name, x[:60]) for x in sentences if not _reads_alone(x)]
        bad += [(spec.key, "gist", g[:60]) for g in s.gists if _LEANS_BACK.match(g)]
    assert not bad, bad


async def test_notification_attributes_the_experts_words(archive: Archive, tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    copy_db(archive.db, db)
    async with running_bot(tmp_path) as h:
        await h.say(READER, "/subscribe")
        before = len(h.emu.messages(READER))
        # the same interview, retitled, so that it is not a duplicate
        text = (DATA / VENTURE.file).read_text(encoding="utf-8") + "\nФото: Steppe Ventures\n"
        (tmp_path / "venture2.txt").write_text(text, encoding="utf-8")
        code, _out, err = await publish_async(db, tmp_path / "venture2.txt")
        assert code == 0, err
        [notification] = (await h.emu.wait_for_messages(READER, before + 1, timeout=10))[before:]
        assert utf16_len(notification.text) <= LIMIT
        assert notification.text.startswith("🆕 " + VENTURE.title)
        assert_no_rejected_calls(h.emu)
        body = notification.text.split("\n\n", 1)[1]
        piece = await h.repo.get_piece(await h.repo.latest_piece_id() or 0)
        assert piece is not None
        answers = [t.answer_text for t in piece.turns]
        expert = [x for x in piece.summary.text if any(x in a for a in answers)]
        assert expert
        assert f"{VENTURE.speaker}: «" in body
        for sentence in expert:  # inside the expert's quotation marks, not the newsroom's text
            inner = sentence.replace("«", "„").replace("»", "“")  # quotes inside the quotation
            at = body.index(inner.rstrip(".")[:60])
            assert body.rfind("«", 0, at) > body.rfind("»", 0, at), sentence
