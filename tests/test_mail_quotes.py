"""A reply by email keeps only the reader's new text: no quoted history, no signature."""

from __future__ import annotations

import pytest

from intake.mailin.quotes import SEPARATORS, new_text

PLAIN_REPLIES = [
    pytest.param(
        "Yes, I still have the contracts. I can bring them on Friday.\n"
        "\n"
        "On Mon, Dec 1, 2026 at 10:00 AM Anna Reporter <anna@paper.example> wrote:\n"
        "> Hello Ivan,\n"
        ">\n"
        "> Do you still have the contracts you mentioned?\n"
        ">\n"
        "> Anna\n",
        "Yes, I still have the contracts. I can bring them on Friday.",
        id="gmail-english",
    ),
    pytest.param(
        "Call me after six.\n"
        "\n"
        "On Mon, Dec 1, 2026 at 10:00 AM Anna Reporter from the City Desk <\n"
        "anna.reporter@paper.example> wrote:\n"
        "> Can we talk by phone?\n",
        "Call me after six.",
        id="gmail-english-attribution-wrapped-over-two-lines",
    ),
    pytest.param(
        "Да, документы у меня, пришлю сканы вечером.\n"
        "\n"
        "пн, 1 дек. 2026 г. в 10:00, Анна Репортёр <anna@paper.example>:\n"
        "> Здравствуйте, Иван! Документы ещё у вас?\n",
        "Да, документы у меня, пришлю сканы вечером.",
        id="gmail-russian",
    ),
    pytest.param(
        "Так, можу зустрітися в четвер.\n"
        "\n"
        "пн, 1 груд. 2026 р. о 10:00 Анна Репортерка <anna@paper.example> пише:\n"
        "> Доброго дня! Чи зможете зустрітися цього тижня?\n",
        "Так, можу зустрітися в четвер.",
        id="gmail-ukrainian",
    ),
    pytest.param(
        "Tomorrow at noon works for me.\n"
        "\n"
        "________________________________\n"
        "From: Anna Reporter <anna@paper.example>\n"
        "Sent: Monday, December 1, 2026 10:00 AM\n"
        "To: Ivan Petrenko <ivan@example.com>\n"
        "Subject: RE: The landfill permits\n"
        "\n"
        "Hello Ivan, could we meet tomorrow?\n",
        "Tomorrow at noon works for me.",
        id="outlook-english-header-block",
    ),
    pytest.param(
        "Attached is the second page.\n"
        "\n"
        "-----Original Message-----\n"
        "From: Anna Reporter [mailto:anna@paper.example]\n"
        "Sent: Monday, December 1, 2026 10:00 AM\n"
        "Subject: The landfill permits\n"
        "\n"
        "Is there a second page?\n",
        "Attached is the second page.",
        id="outlook-english-original-message",
    ),
    pytest.param(
        "Да, завтра в 12 удобно.\n"
        "\n"
        "От: Анна Репортёр <anna@paper.example>\n"
        "Отправлено: 1 декабря 2026 г. 10:00\n"
        "Кому: Иван Петренко <ivan@example.com>\n"
        "Тема: RE: Разрешения на свалку\n"
        "\n"
        "Иван, можем встретиться завтра?\n",
        "Да, завтра в 12 удобно.",
        id="outlook-russian-header-block",
    ),
    pytest.param(
        "Так, завтра о 12 зручно.\n"
        "\n"
        "Від: Анна Репортерка <anna@paper.example>\n"
        "Надіслано: 1 грудня 2026 р. 10:00\n"
        "Кому: Іван Петренко <ivan@example.com>\n"
        "Тема: RE: Дозволи на звалище\n"
        "\n"
        "Іване, можемо зустрітися завтра?\n",
        "Так, завтра о 12 зручно.",
        id="outlook-ukrainian-header-block",
    ),
    pytest.param(
        "Вторая страница во вложении.\n"
        "\n"
        "-----Исходное сообщение-----\n"
        "От: Анна Репортёр [mailto:anna@paper.example]\n"
        "Отправлено: 1 декабря 2026 г. 10:00\n"
        "\n"
        "Есть ли вторая страница?\n",
        "Вторая страница во вложении.",
        id="outlook-russian-original-message",
    ),
    pytest.param(
        "Другу сторінку додаю.\n"
        "\n"
        "-----Оригінальне повідомлення-----\n"
        "Від: Анна Репортерка [mailto:anna@paper.example]\n"
        "\n"
        "Чи є друга сторінка?\n",
        "Другу сторінку додаю.",
        id="outlook-ukrainian-original-message",
    ),
    pytest.param(
        "I took the photos myself.\n"
        "\n"
        "> On Dec 1, 2026, at 10:00, Anna Reporter <anna@paper.example> wrote:\n"
        ">\n"
        "> Who took these photos?\n",
        "I took the photos myself.",
        id="apple-mail-english",
    ),
    pytest.param(
        "Фото сделал я сам.\n"
        "\n"
        "Отправлено с iPhone\n"
        "\n"
        "> 1 дек. 2026 г., в 10:00, Анна Репортёр <anna@paper.example> написал(а):\n"
        ">\n"
        "> Кто сделал эти фото?\n",
        "Фото сделал я сам.\n\nОтправлено с iPhone",
        id="iphone-russian",
    ),
    pytest.param(
        "Фото зробив я сам.\n"
        "\n"
        "1 груд. 2026 р. о 10:00 Анна Репортерка <anna@paper.example> написав(ла):\n"
        "\n"
        "> Хто зробив ці фото?\n",
        "Фото зробив я сам.",
        id="apple-mail-ukrainian",
    ),
    pytest.param(
        "The meeting was on the 3rd floor.\n"
        "\n"
        "On 01.12.2026 10:00, Anna Reporter wrote:\n"
        "> Where was the meeting?\n",
        "The meeting was on the 3rd floor.",
        id="thunderbird-english",
    ),
    pytest.param(
        "Встреча была на третьем этаже.\n"
        "\n"
        "01.12.2026 10:00, Анна Репортёр пишет:\n"
        "> Где была встреча?\n",
        "Встреча была на третьем этаже.",
        id="thunderbird-russian",
    ),
    pytest.param(
        "Зустріч була на третьому поверсі.\n"
        "\n"
        "01.12.2026 10:00, Анна Репортерка пише:\n"
        "> Де була зустріч?\n",
        "Зустріч була на третьому поверсі.",
        id="thunderbird-ukrainian",
    ),
    pytest.param(
        "On 01.12.2026 10:00, Anna Reporter wrote:\n"
        "> Where was the meeting?\n"
        "\n"
        "On the third floor, room 301.\n"
        "\n"
        "> Who else was there?\n"
        "\n"
        "Two people from the council.\n",
        "On the third floor, room 301.\n\nTwo people from the council.",
        id="thunderbird-bottom-posted-and-interleaved",
    ),
    pytest.param(
        "Пришлю завтра утром.\n"
        "\n"
        "1 декабря 2026 г., в 10:00, Анна Репортёр <anna@paper.example>:\n"
        "Иван, пришлите, пожалуйста, фото документов.\n",
        "Пришлю завтра утром.",
        id="yandex-russian-quote-without-marks",
    ),
    pytest.param(
        "Пришлю завтра утром.\n"
        "\n"
        "Понедельник, 1 декабря 2026, 10:00 +03:00 от Анна Репортёр <anna@paper.example>:\n"
        ">Иван, пришлите, пожалуйста, фото документов.\n",
        "Пришлю завтра утром.",
        id="mail-ru-russian",
    ),
    pytest.param(
        "Надішлю завтра зранку.\n"
        "\n"
        "--- Оригінальне повідомлення ---\n"
        'Від кого: "Анна Репортерка" <anna@paper.example>\n'
        "Дата: 1 грудня 2026, 10:00:00\n"
        "\n"
        "Іване, надішліть, будь ласка, фото документів.\n",
        "Надішлю завтра зранку.",
        id="ukr-net-ukrainian",
    ),
    pytest.param(
        "The trucks came back last night.\n"
        "\n"
        "-- Write your reply above this line --\n"
        "\n"
        "Anna Reporter asked: did the trucks come back?\n",
        "The trucks came back last night.",
        id="our-separator-english",
    ),
    pytest.param(
        "Грузовики вернулись ночью.\n"
        "\n"
        "-- Напишите ответ над этой строкой --\n"
        "\n"
        "Анна Репортёр спрашивает: грузовики вернулись?\n",
        "Грузовики вернулись ночью.",
        id="our-separator-russian",
    ),
    pytest.param(
        "Вантажівки повернулися вночі.\n"
        "\n"
        "   --  Напишіть відповідь над цим рядком --\n"
        "\n"
        "Анна Репортерка питає: вантажівки повернулися?\n",
        "Вантажівки повернулися вночі.",
        id="our-separator-ukrainian-spaced-differently",
    ),
    pytest.param(
        "> Did you see the trucks yourself?\nYes, three of them.\n> At what time?\nAround 6 am.",
        "Yes, three of them.\nAround 6 am.",
        id="plain-quote-marks-between-answers",
    ),
    pytest.param(
        "I will send the rest on Monday.\n\n-- \nIvan Petrenko\n+380 44 000 0000\n",
        "I will send the rest on Monday.",
        id="signature",
    ),
    pytest.param(
        "Добрий день!\n\nНа вулиці Шевченка, 5 вже тиждень немає води.\nМешканці писали до ЖЕКу.",
        "Добрий день!\n\nНа вулиці Шевченка, 5 вже тиждень немає води.\nМешканці писали до ЖЕКу.",
        id="no-quote-unchanged",
    ),
    pytest.param(
        "On Monday the trucks came back at 6:30.\n"
        "On 1 December at 10:00 the mayor's office wrote:\n"
        "We will not comment.\n",
        "On Monday the trucks came back at 6:30.\n"
        "On 1 December at 10:00 the mayor's office wrote:\n"
        "We will not comment.",
        id="readers-own-lines-starting-with-on",
    ),
    pytest.param(
        "От: жильцов дома 5 по улице Ленина\n"
        "Кому: главному редактору\n"
        "Тема: вода\n"
        "\n"
        "От соседей знаю, что воду отключат до весны.",
        "От: жильцов дома 5 по улице Ленина\n"
        "Кому: главному редактору\n"
        "Тема: вода\n"
        "\n"
        "От соседей знаю, что воду отключат до весны.",
        id="readers-own-memo-starting-with-ot",
    ),
    pytest.param(
        "---------- Forwarded message ---------\n"
        "From: City Council <council@city.example>\n"
        "Date: Mon, Dec 1, 2026 at 10:00 AM\n"
        "Subject: Permit 17\n"
        "\n"
        "The permit is granted.\n",
        "",
        id="forward-with-nothing-new",
    ),
    pytest.param(
        "-------- Пересылаемое сообщение --------\n01.12.2026, 10:00, мэрия:\nРазрешение выдано.\n",
        "",
        id="russian-forward-with-nothing-new",
    ),
    pytest.param(
        "Line one\r\nLine two\r\n\r\nOn 01.12.2026 10:00, Anna wrote:\r\n> Quoted\r\n",
        "Line one\nLine two",
        id="windows-line-ends",
    ),
    pytest.param(
        "On Mon, Dec 1, 2026 at 10:00 AM Anna Reporter <anna@paper.example> wrote:\n"
        "> -- Write your reply above this line --\n"
        "> Did the trucks come back?\n"
        "\n"
        "They did, twice.\n",
        "They did, twice.",
        id="bottom-posted-under-our-quoted-separator",
    ),
]


@pytest.mark.parametrize(("plain", "expected"), PLAIN_REPLIES)
def test_plain_reply_keeps_only_new_text(plain: str, expected: str) -> None:
    assert new_text(plain, None) == expected


HTML_REPLIES = [
    pytest.param(
        '<div dir="ltr"><div>Да, документы у меня.</div><script>alert("x")</script>'
        "<div><br></div><div>Иван</div></div><br>"
        '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        'пн, 1 дек. 2026 г. в 10:00, Анна &lt;<a href="mailto:anna@paper.example">'
        "anna@paper.example</a>&gt;:<br></div>"
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
        'border-left:1px solid rgb(204,204,204);padding-left:1ex">'
        "<div>Документы ещё у вас?</div></blockquote></div>",
        "Да, документы у меня.\n\nИван",
        id="gmail-html-russian-with-script",
    ),
    pytest.param(
        "<html><head><style>p.MsoNormal{margin:0cm}</style></head><body>"
        "<div class=WordSection1><p class=MsoNormal>Так, зручно.<o:p></o:p></p>"
        "<p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        "<div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'>"
        "<p class=MsoNormal><b>Від:</b> Анна Репортерка &lt;anna@paper.example&gt;<br>"
        "<b>Надіслано:</b> 1 грудня 2026 р. 10:00<br><b>Кому:</b> Іван<br>"
        "<b>Тема:</b> Зустріч</p></div><p class=MsoNormal>Чи зручно завтра?</p>"
        "</div></body></html>",
        "Так, зручно.",
        id="outlook-desktop-html-ukrainian",
    ),
    pytest.param(
        '<div dir="ltr">Sure, Tuesday.</div><div id="appendonsend"></div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Anna Reporter<br>'
        "<b>Sent:</b> Monday, December 1, 2026 10:00<br><b>Subject:</b> Meeting</div>"
        "<div>When can we meet?</div>",
        "Sure, Tuesday.",
        id="outlook-web-html-english",
    ),
    pytest.param(
        "<html><body><div>I took them myself.</div><div><br></div>"
        '<div><br><blockquote type="cite"><div>On Dec 1, 2026, at 10:00, Anna Reporter '
        "&lt;anna@paper.example&gt; wrote:</div><br><div>Who took the photos?</div>"
        "</blockquote></div></body></html>",
        "I took them myself.",
        id="apple-mail-html-english",
    ),
    pytest.param(
        "<html><head><title>Re: photos</title></head><body>"
        '<div class="moz-cite-prefix">01.12.2026 10:00, Анна Репортёр пишет:<br></div>'
        '<blockquote type="cite" cite="mid:1@paper.example">Кто снимал?</blockquote>'
        "<p>Снимал я, с балкона.</p>"
        '<pre class="moz-signature" cols="72">-- \nИван Петренко</pre></body></html>',
        "Снимал я, с балкона.",
        id="thunderbird-html-russian-bottom-posted-with-signature",
    ),
    pytest.param(
        "<div>Пришлю завтра утром.</div><div> </div>"
        "<div>1 декабря 2026 г., в 10:00, Анна Репортёр &lt;anna@paper.example&gt;:</div>"
        "<blockquote><div>Пришлите, пожалуйста, фото.</div></blockquote>",
        "Пришлю завтра утром.",
        id="yandex-html-russian",
    ),
    pytest.param(
        "<div>Надішлю завтра.</div><div>&nbsp;</div>"
        "<div>Понеділок, 1 грудня 2026, 10:00 +02:00 від Анна "
        '&lt;<a href="mailto:anna@paper.example">anna@paper.example</a>&gt;:<br>&nbsp;'
        '<blockquote style="border-left:1px solid #0857A6; margin:10px; padding:0 0 0 10px;">'
        '<div id=""><div class="js-helper js-readmsg-msg">Надішліть фото.</div></div>'
        "</blockquote></div>",
        "Надішлю завтра.",
        id="mail-ru-html-ukrainian",
    ),
    pytest.param(
        "<p>Так, &laquo;Укрбуд&raquo; &amp; партнери&nbsp;&#8212; одна компанія.</p>"
        "<p>-- Напишіть відповідь над цим рядком --</p><p>Чи це одна компанія?</p>",
        "Так, «Укрбуд» & партнери — одна компанія.",
        id="html-entities-and-our-ukrainian-separator",
    ),
    pytest.param(
        "<html><head><style>body{color:red}</style><body>"
        "<p>First line<br>second line</p><p>Third &lt;b&gt; line</p>"
        "<img src=x onerror=alert(1)><iframe>x</iframe></body></html>",
        "First line\nsecond line\nThird <b> line",
        id="html-unclosed-head-markup-never-kept",
    ),
    pytest.param(
        '<div dir="ltr"><br><br><div class="gmail_quote gmail_quote_container">'
        '<div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>'
        "From: <b>City Council</b> &lt;council@city.example&gt;<br>"
        "Date: Mon, Dec 1, 2026 at 10:00 AM</div><br><br>"
        "<div>The permit is granted.</div></div></div>",
        "",
        id="gmail-html-forward-with-nothing-new",
    ),
]


@pytest.mark.parametrize(("html", "expected"), HTML_REPLIES)
def test_html_only_reply_becomes_plain_new_text(html: str, expected: str) -> None:
    assert new_text(None, html) == expected


@pytest.mark.parametrize("separator", SEPARATORS)
def test_each_separator_marks_the_start_of_history(separator: str) -> None:
    assert new_text(f"New text.\n{separator}\nOld text.", None) == "New text."


@pytest.mark.parametrize(
    ("plain", "html", "expected"),
    [
        ("From the plain part.", "<p>From the HTML part.</p>", "From the plain part."),
        ("  \n", "<p>From the HTML part.</p>", "From the HTML part."),
        (None, None, ""),
        ("", "", ""),
    ],
)
def test_plain_part_is_preferred_when_it_has_text(
    plain: str | None, html: str | None, expected: str
) -> None:
    assert new_text(plain, html) == expected
