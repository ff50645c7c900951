#!/usr/bin/env python3
"""Rebuild the two blind2-*.docx files (ingest test material) next to this script.

Run:  /work/main/.venv/bin/python tests/data/ingest/make_blind2_docx.py   (needs python-docx)

blind2-roundtable.docx — a round table typed in Word by a regional newsroom:
  * the title is NOT a heading style: it is a Normal paragraph typed bold, 16 pt, centred
    (so it looks exactly like a bold question paragraph to anything that ignores size);
  * the lead names both experts only in oblique cases (instrumental, genitive);
  * questions are Normal paragraphs, all runs bold; question 5 is an imperative without "?";
  * EVERY answer paragraph opens with the speaker's surname as a bold run plus a colon and then
    normal text; the editor was inconsistent: "**Ахметов:** текст", "**Ахметов**: текст"
    (colon outside the bold run) and "**Жакупова: **текст" (space inside the bold run);
  * one answer paragraph has a bold figure mid-sentence, another opens with the bold label
    immediately followed by a bold figure ("**Жакупова:** **3,2 тенге** за кубометр…");
  * the byline at the end is an italic paragraph.

blind2-title-style.docx — an English interview for an English-language Kazakh outlet:
  * the title uses Word's built-in "Title" style (not Heading 1);
  * the lead is an italic paragraph; questions are bold AND italic paragraphs
    (questions 2 and 4 are split over two bold-italic runs);
  * a caption paragraph plus a 4-column table of figures sits between turn 3's answer and
    question 4 (table cells are not turns);
  * the byline and the place/date line are right-aligned paragraphs at the end.

In the texts below "**...**" marks a bold run inside a paragraph, "|" splits a question into
separate runs.
"""

import datetime
import pathlib
import re

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

HERE = pathlib.Path(__file__).resolve().parent

# --------------------------------------------------------------------------- round table
RT_OUT = HERE / "blind2-roundtable.docx"
RT_TITLE = "Вода для юга: почему Туркестанская область каждое лето живёт по графику полива"
RT_LEAD = (
    "Третье лето подряд фермеры Туркестанской области получают поливную воду по графику, а "
    "площадь посевов хлопчатника за два года сократилась на 18 процентов. Куда уходит вода из "
    "каналов, почему хозяйства не спешат переходить на капельное орошение и чего ждать от "
    "переговоров с соседями по Сырдарье, редакция обсудила с гидрологом, заведующим "
    "лабораторией водных ресурсов Казахского национального аграрного исследовательского "
    "университета Сериком Ахметовым и экономистом, руководителем аналитического центра "
    "«Agro Policy Lab» Динарой Жакуповой. Позицию Ахметова и выкладки Жакуповой публикуем с "
    "небольшими сокращениями."
)
RT_SPEAKERS = {
    "Ахметов": (
        "Серик Ахметов",
        "гидролог, заведующий лабораторией водных ресурсов Казахского национального аграрного исследовательского университета",
    ),
    "Жакупова": (
        "Динара Жакупова",
        "экономист, руководитель аналитического центра «Agro Policy Lab»",
    ),
}
RT_TURNS = [
    (
        "Начнём с главного: воды в регионе действительно стало меньше или её просто хуже распределяют?",
        [
            "**Ахметов:** И то и другое, но в разных пропорциях. Сток Сырдарьи в маловодные годы "
            "падает на 25–30 процентов от нормы, и 2025 год был именно таким: снегозапасы в верховьях "
            "оказались ниже средних, а жара в июле держалась почти три недели. Это природный фактор, "
            "повлиять на него мы не можем. Зато на то, как вода идёт от Шардаринского водохранилища до "
            "конкретного поля, повлиять можем, и вот здесь проблем больше, чем в самой реке.",
            "**Жакупова:** Я бы добавила экономику. За последние десять лет площадь под влагоёмкими "
            "культурами — хлопком, рисом, бахчой — в области почти не сокращалась, а в отдельные годы "
            "даже росла, потому что это быстрые деньги. Воды при этом больше не становилось. "
            "Получается, что мы каждый год сажаем под воду, которой может не быть, и потом удивляемся "
            "графикам полива.",
        ],
    ),
    (
        "Серик Болатович, сколько воды теряется по дороге к полям?",
        [
            "**Ахметов:** Большая часть межхозяйственных каналов в области построена в 1960–1970-е "
            "годы, и около двух третей из них до сих пор идут в земляном русле, без облицовки. Вода "
            "фильтруется в грунт, испаряется, уходит через разрушенные затворы. Кроме того, на многих "
            "узлах нет нормальных приборов учёта, и мы знаем объёмы только по расчёту, а не по факту.",
            "**Ахметов**: По нашим замерам на двух пилотных каналах в Мактааральском районе, до поля "
            "не доходит до **38 процентов** забранной воды. Если экстраполировать на всю систему, "
            "получается объём, сопоставимый с тем, что область недополучает в маловодный год. То есть "
            "реконструкция каналов — это не красивый отчёт, а фактически новый источник воды, который "
            "не надо ни у кого просить.",
        ],
    ),
    (
        "Динара Ерлановна, почему фермеры не переходят на капельное орошение, если государство "
        "возмещает половину затрат?",
        [
            "**Жакупова:** Потому что вторая половина — это всё равно большие деньги для хозяйства в "
            "двадцать гектаров. Капельная система на хлопке обходится примерно в 1,2–1,5 миллиона "
            "тенге на гектар, а субсидию выплачивают после ввода системы в эксплуатацию, иногда через "
            "восемь-девять месяцев. Банки под такой залог кредитуют неохотно, а ставка для "
            "сельхозпроизводителя без госпрограммы — выше 20 процентов.",
            "**Жакупова:** Второй барьер — земля. Многие работают на арендованных участках с "
            "договорами на три-пять лет, и вкладываться в трубы на чужой земле никто не хочет. Пока "
            "вопрос долгосрочной аренды не решён, капельное орошение останется историей крупных "
            "агрохолдингов и нескольких показательных хозяйств, которые возят по кругу делегации.",
            "**Ахметов:** Добавлю техническую деталь. Капельному орошению нужна чистая вода и "
            "стабильное давление, а в каналах у нас вода с большим количеством взвеси. Без "
            "отстойников и фильтров система забивается за один сезон, и фермер потом говорит соседям, "
            "что капельное орошение не работает. Такие истории распространяются быстрее любых "
            "субсидий.",
        ],
    ),
    (
        "Какую роль играют договорённости с Узбекистаном и Кыргызстаном?",
        [
            "**Ахметов:** Решающую. Шардаринское водохранилище наполняется водой, которая проходит "
            "через Токтогульский каскад в Кыргызстане и территорию Узбекистана. Ежегодные "
            "водно-энергетические соглашения определяют, сколько воды будет сброшено летом, когда она "
            "нужна нам для полива, а не зимой, когда она нужна соседям для выработки электроэнергии.",
            "**Ахметов:** В 2024 и 2025 годах договорённости в целом соблюдались, но объёмы "
            "согласовывали поздно, уже в апреле, когда фермер давно решил, что и сколько сажать. "
            "Если бы план вододеления был известен в январе, хозяйства могли бы заранее сократить "
            "влагоёмкие культуры, а не терять урожай в августе.",
        ],
    ),
    (
        "Назовите три меры, которые дали бы эффект уже в следующем сезоне.",
        [
            "**Жакупова:** Первое — публиковать прогноз водообеспеченности по каждому району до "
            "начала посевной, хотя бы в виде трёх сценариев. Второе — увязать субсидии на семена и "
            "удобрения с водой: не субсидировать рис там, где по прогнозу воды хватит только на "
            "половину площадей. Третье — платить субсидию на капельное орошение авансом, через "
            "поставщика оборудования, а не после ввода системы.",
            "**Ахметов**: Я бы поставил на первое место приборы учёта на всех вододелителях. Это "
            "недорого, это можно сделать за зиму, и это сразу снимет половину конфликтов между "
            "хозяйствами, которые сейчас спорят о том, кто у кого забрал воду ночью. Пока воду "
            "меряют на глаз, любая реформа будет упираться в то, что никто не верит цифрам.",
        ],
    ),
    (
        "Тарифы на поливную воду вырастут?",
        [
            "**Жакупова:** **3,2 тенге** за кубометр — столько в среднем сейчас платит фермер в "
            "области за подачу воды, и это одна из самых низких цен в регионе. Тариф не покрывает "
            "даже текущий ремонт каналов, не говоря о реконструкции. Поэтому повышение неизбежно, "
            "вопрос в том, как его провести, чтобы не разорить мелкие хозяйства.",
            "**Жакупова: **Мы предлагаем дифференцированный тариф: базовый объём по норме для "
            "культуры — по нынешней цене, всё, что сверху, — дороже в два-три раза. Так платить больше "
            "будут те, кто льёт воду без счёта, а аккуратный фермер почти ничего не почувствует. "
            "Похожая схема несколько лет работает в Испании и Израиле, и нам не нужно изобретать "
            "велосипед.",
        ],
    ),
    (
        "И последний вопрос обоим: каким будет лето 2026 года?",
        [
            "**Ахметов:** По снегозапасам пока рано говорить, картина станет понятна к марту. Но "
            "даже в средний по водности год без реконструкции каналов и учёта воды мы снова увидим "
            "графики полива в Мактааральском и Жетысайском районах. Чуда не будет: инфраструктура за "
            "одну зиму не меняется.",
            "**Жакупова:** Я осторожная оптимистка. Если решение по авансовым субсидиям примут до "
            "февраля, уже весной несколько сотен хозяйств смогут поставить капельные системы, и это "
            "будет заметно в статистике. Если нет — мы проведём такой же круглый стол через год и "
            "повторим почти те же слова.",
        ],
    ),
]
RT_BYLINE = "Вела круглый стол Айжан Сарсенова"

# --------------------------------------------------------------------------- title style (English)
TS_OUT = HERE / "blind2-title-style.docx"
TS_TITLE = "Zhanna Abdrakhmanova: “A snow leopard does not like crowds”"
TS_LEAD = (
    "Camera traps in Ile-Alatau National Park have photographed more snow leopards this year than "
    "at any time since monitoring began in 2014. Zhanna Abdrakhmanova, who heads the park’s snow "
    "leopard monitoring programme, explains what the numbers mean, why tourists worry her more "
    "than poachers, and what a cat needs to cross a highway."
)
TS_SPEAKER = (
    "Zhanna Abdrakhmanova",
    "head of the snow leopard monitoring programme at Ile-Alatau National Park",
)
TS_TURNS = [
    (
        "How many snow leopards live in Ile-Alatau National Park today?",
        [
            "Our camera traps identified 27 individual adults this season, plus six cubs in three "
            "litters. Ten years ago the figure was 11, so the trend is clearly positive. Every snow "
            "leopard has a unique pattern of rosettes on its flanks and tail, which is how we tell "
            "them apart. Two people check every match independently before an animal goes into the "
            "catalogue.",
            "I should be careful, though. More cameras and better cameras also mean we find animals "
            "that were probably there before. Part of the growth is real and part of it is that we "
            "simply look harder. My honest estimate is that the population has grown by half, not "
            "doubled.",
        ],
    ),
    (
        "What changed? |Was it the ban on hunting or something else?",
        [
            "Mostly prey. The snow leopard follows the Siberian ibex, and the ibex population in the "
            "park has roughly tripled since rangers started patrolling the high valleys on a regular "
            "schedule. When there is enough food, females raise two or three cubs instead of one, and "
            "young males do not have to leave for dangerous places near villages.",
            "Poaching has also become rare. The last case we know of in the park was in 2019, when a "
            "snare was found near the Kumbel pass. Skins are almost impossible to sell now, and "
            "herders understand that a living snow leopard brings tourists, photographers and money to "
            "their villages.",
        ],
    ),
    (
        "How does the monitoring actually work?",
        [
            "We have 64 camera traps on ridges, passes and rocky ledges where cats leave scent marks. "
            "Twice a season a team of rangers and volunteers walks the routes, replaces batteries and "
            "memory cards and moves cameras that have shown nothing. Some sites are at 3,500 metres, "
            "so a single check can take three days on foot.",
            "Then comes the boring part. Last season the cameras produced about 410,000 photos. "
            "Ninety per cent of them are grass moving in the wind, ibex, foxes, marmots and, "
            "occasionally, very surprised hikers. A neural network now filters out the empty frames, "
            "but every snow leopard picture is still checked by a person.",
        ],
    ),
    (
        "You said tourists worry you more than poachers. |Why?",
        [
            "Because the numbers of visitors have exploded. The trail to the Big Almaty Peak and the "
            "area around the lake now see thousands of people on a summer weekend, many of them off "
            "the marked routes with drones and loudspeakers. A snow leopard does not like crowds. It "
            "simply leaves, and if it leaves the best hunting grounds, it eats less and raises fewer "
            "cubs.",
            "We are not against tourism. We are asking for zoning: some valleys open to everyone, "
            "some open only with a guide, and two or three core areas closed from May to August, "
            "when females are with small cubs. This already works in Kyrgyzstan, and it could work "
            "here.",
        ],
    ),
    (
        "Snow leopards have been seen near the new highway to the ski resorts. Is that dangerous?",
        [
            "Mostly for the cat. Young males disperse over long distances, and a road with barriers "
            "and heavy traffic is a wall for them. We have photographed the same male on both sides "
            "of the road, so they do cross, but we do not know how many try and fail, or how many "
            "simply turn back.",
            "We have asked the builders for two wildlife crossings in the upper section: a wide "
            "underpass and a culvert where the road runs over a dry riverbed. They are not expensive "
            "compared with the cost of the road. The design office has agreed in principle, and we "
            "hope the crossings will be in the 2026 plan.",
        ],
    ),
    (
        "Finally, what can ordinary people do to help?",
        [
            "Stay on the trails, keep drones away from rocky ridges and never feed wild animals. If "
            "you see a snow leopard, keep your distance, take a photo if you can and send it to the "
            "park with the time and place. Several animals in our catalogue were first recorded "
            "thanks to a hiker’s phone, and every such photo helps us understand how the cats use "
            "the mountains.",
        ],
    ),
]
TS_TABLE_CAPTION = "Snow leopards recorded by camera traps in Ile-Alatau National Park"
TS_TABLE = [
    ["Season", "Camera traps", "Adults identified", "Cubs"],
    ["2021", "38", "16", "2"],
    ["2022", "44", "19", "3"],
    ["2023", "51", "21", "4"],
    ["2024", "58", "24", "4"],
    ["2025", "64", "27", "6"],
]
TS_TABLE_AFTER_TURN = 3
TS_BYLINE = "Interview by Daniyar Seitkali"
TS_DATELINE = "Almaty, 14 October 2025"


def add_marked_runs(paragraph, text, italic=False):
    """Add runs to a paragraph; **...** parts become bold runs."""
    for i, part in enumerate(re.split(r"\*\*", text)):
        if part:
            run = paragraph.add_run(part)
            if i % 2 == 1:
                run.bold = True
            if italic:
                run.italic = True


def _new_doc(title, author, created):
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(12)
    props = doc.core_properties
    props.author = author
    props.title = ""  # newsrooms rarely fill this in
    props.created = created
    props.modified = created
    return doc


def build_roundtable(out=RT_OUT):
    doc = _new_doc(RT_TITLE, "Сарсенова А.", datetime.datetime(2025, 10, 2, 16, 40, 0))
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(RT_TITLE)
    run.bold = True
    run.font.size = Pt(16)
    doc.add_paragraph(RT_LEAD)
    for question, answers in RT_TURNS:
        q = doc.add_paragraph()
        for piece in question.split("|"):
            if piece:
                q.add_run(piece).bold = True
        for answer in answers:
            add_marked_runs(doc.add_paragraph(), answer)
    byline = doc.add_paragraph()
    byline.add_run(RT_BYLINE).italic = True
    doc.save(out)
    return out


def build_title_style(out=TS_OUT):
    doc = _new_doc(TS_TITLE, "D. Seitkali", datetime.datetime(2025, 10, 14, 9, 15, 0))
    doc.add_paragraph(TS_TITLE, style="Title")
    lead = doc.add_paragraph()
    lead.add_run(TS_LEAD).italic = True
    for n, (question, answers) in enumerate(TS_TURNS, 1):
        q = doc.add_paragraph()
        for piece in question.split("|"):
            if piece:
                r = q.add_run(piece)
                r.bold = True
                r.italic = True
        for answer in answers:
            add_marked_runs(doc.add_paragraph(), answer)
        if n == TS_TABLE_AFTER_TURN:
            cap = doc.add_paragraph()
            cap.add_run(TS_TABLE_CAPTION).bold = True
            table = doc.add_table(rows=len(TS_TABLE), cols=len(TS_TABLE[0]))
            table.style = "Table Grid"
            for r, row in enumerate(TS_TABLE):
                for c, value in enumerate(row):
                    cell = table.cell(r, c)
                    cell.text = value
                    if r == 0:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
    for line in (TS_BYLINE, TS_DATELINE):
        p = doc.add_paragraph(line)
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    doc.save(out)
    return out


if __name__ == "__main__":
    print(build_roundtable())
    print(build_title_style())
