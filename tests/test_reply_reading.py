"""Reading unit contacts' replies: real-format .eml fixtures from each client (see
tests/fixtures/replies/README.md), quote stripping, intents, auto-replies and bounces."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import Policy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.replies.reading import (
    NOTE_LIMIT,
    PURPOSES,
    Automatic,
    Intent,
    body_text,
    classify_automatic,
    read_intent,
    strip_quoted,
)

FIXTURES = Path(__file__).parent / "fixtures" / "replies"
# The ingest may parse with the stdlib default (compat32, much faster) or policy.default.
POLICIES = [pytest.param(policy.compat32, id="compat32"), pytest.param(policy.default, id="default")]


def load(name: str, parse_policy: Policy = policy.default) -> Message:
    return BytesParser(policy=parse_policy).parsebytes((FIXTURES / name).read_bytes())


def reading(name: str, purpose: str) -> Intent:
    return read_intent(body_text(load(name)), purpose)


# What each contact answered, as the coordinator would read it: (kind, reason, note, satisfaction).
HUMAN_REPLIES = {
    "01_qq_html_only_accept.eml": ("assignment", ("accept", "", "下周一前派人到现场", None)),
    "02_qq_en_plain_decline.eml": ("assignment", ("decline", "不属于我单位职责，请转区住建局", "", None)),
    "03_qq_new_card_done.eml": ("reminder", ("done", "", "已清运完毕，现场已恢复整洁", None)),
    "04_foxmail_decline_no_reason.eml": ("assignment", ("decline", "", "", None)),
    "05_netease163_progress.eml": ("reminder", ("progress", "", "已联系施工单位，预计11月25日前清运完毕", None)),
    "06_netease126_en_done_attachment.eml": (
        "overdue",
        ("done", "", "Rubbish removed on 22 Nov, photos attached", None),
    ),
    "07_mailmaster_done.eml": ("overdue", ("done", "", "已整改到位，井盖已更换", None)),
    "08_outlook_zh_plain_8bit.eml": ("reminder", ("done", "", "已清运完毕", None)),
    "09_outlook_zh_html_only.eml": ("assignment", ("decline", "该路段由区交通局管养，不属于我单位职责", "", None)),
    "10_outlook_en_plain_decline.eml": (
        "assignment",
        ("decline", "not our remit. The lane belongs to the District Transport Bureau", "", None),
    ),
    "11_owa_progress_with_suppress.eml": ("reminder", ("progress", "", "正在处理，已派人到现场核实", None)),
    "12_gmail_en_accept.eml": ("assignment", ("accept", "", "We will send a crew on Monday", None)),
    "13_gmail_zh_claim.eml": ("claim_list", ("claim", "", "第2、5项", None)),
    "14_apple_mail_zh_accept.eml": ("assignment", ("accept", "", "已安排人员下午去现场", None)),
    "15_iphone_decline.eml": ("assignment", ("decline", "该事项属于街道城建科", "", None)),
    "16_huawei_phone_done.eml": ("overdue", ("done", "", "井盖已更换完毕", None)),
    "17_thunderbird_zh_bottom_post_flowed.eml": ("reminder", ("progress", "", "已完成一半，剩余部分 周三前清运", None)),
    "18_roundcube_en_progress.eml": (
        "reminder",
        ("progress", "", "contractor booked for Tuesday 24 Nov, pump arrives in the morning", None),
    ),
    "19_qq_ios_lookback_fixed.eml": ("lookback", ("fixed", "", "就是清运后地面还有些污渍", "basically_satisfied")),
    "20_legacy_oa_gbk_no_charset_lookback.eml": ("lookback", ("not_fixed", "", "楼道里又堆了新的杂物", "dissatisfied")),
    "21_mail139_html_only_meeting_leave.eml": (
        "meeting",
        ("decline", "当天有防汛值班任务，由副所长刘洋代为参加", "", None),
    ),
    "27_broken_mime_wrong_boundary.eml": ("assignment", ("accept", "", "明天上午到现场", None)),
    "28_wrong_charset_damaged_base64.eml": ("overdue", ("done", "", "已处理完毕，积水已排干", None)),
    "29_gmail_empty_reply_quote_only.eml": ("assignment", ("unknown", "", "", None)),
}

# Text that exists only in our quoted notice (its footer, instructions and buttons) or in quote headers.
QUOTE_ONLY_TEXT = ["本邮件由系统自动发送", "请直接回复本邮件", "mailto:", "快捷回复", "原始邮件", "写道", "wrote:", "发件人", "From:"]


def _fixture_names() -> list[str]:
    return sorted(path.name for path in FIXTURES.glob("*.eml"))


# --------------------------------------------------------------------------------------- corpus


def test_the_corpus_has_at_least_20_fixtures_each_described_in_the_readme() -> None:
    names = _fixture_names()
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    assert len(names) >= 20
    assert [name for name in names if f"`{name}`" not in readme] == []


# --------------------------------------------------------------------------------------- human replies


@pytest.mark.parametrize("parse_policy", POLICIES)
@pytest.mark.parametrize("name", sorted(HUMAN_REPLIES))
def test_a_human_reply_reads_as_the_contact_meant_it(name: str, parse_policy: Policy) -> None:
    purpose, (kind, reason, note, satisfaction) = HUMAN_REPLIES[name]
    msg = load(name, parse_policy)

    intent = read_intent(body_text(msg), purpose)

    assert classify_automatic(msg) is None
    assert (intent.kind, intent.reason, intent.note, intent.satisfaction) == (kind, reason, note, satisfaction)


@pytest.mark.parametrize("name", sorted(HUMAN_REPLIES))
def test_quoted_history_with_our_keywords_never_survives_stripping(name: str) -> None:
    stripped = strip_quoted(body_text(load(name)))

    assert [text for text in QUOTE_ONLY_TEXT if text in stripped] == []


def _without_plain_parts(msg: Message) -> Message:
    for part in msg.walk():
        if part.is_multipart():
            part.set_payload([sub for sub in part.get_payload() if sub.get_content_type() != "text/plain"])
    return msg


@pytest.mark.parametrize(
    "name",
    [
        name
        for name in sorted(HUMAN_REPLIES)
        if {"text/plain", "text/html"} <= {part.get_content_type() for part in load(name).walk()}
    ],
)
def test_the_html_alternative_reads_the_same_as_the_plain_text(name: str) -> None:
    purpose = HUMAN_REPLIES[name][0]
    html_only = _without_plain_parts(load(name))

    assert read_intent(body_text(html_only), purpose) == reading(name, purpose)


def test_an_empty_reply_that_only_quotes_our_notice_is_not_an_answer() -> None:
    text = body_text(load("29_gmail_empty_reply_quote_only.eml"))

    assert "接收" in text and "办结" in text  # the quote holds every keyword
    assert strip_quoted(text) == ""
    assert read_intent(text, "assignment").kind == "unknown"


def test_a_reply_below_the_quote_is_found() -> None:
    intent = reading("17_thunderbird_zh_bottom_post_flowed.eml", "reminder")

    assert intent.kind == "progress"  # not the 办结 / 退回 of the quote above it


# --------------------------------------------------------------------------------------- body text


def test_gbk_text_labelled_gb2312_keeps_characters_outside_gb2312() -> None:
    assert "王喆" in body_text(load("04_foxmail_decline_no_reason.eml"))


def test_gbk_text_without_a_charset_is_decoded() -> None:
    assert body_text(load("20_legacy_oa_gbk_no_charset_lookback.eml")).startswith("没有解决，问题仍然存在")


def test_gbk_text_labelled_utf8_in_damaged_base64_is_decoded() -> None:
    assert body_text(load("28_wrong_charset_damaged_base64.eml")).startswith("已处理完毕，积水已排干。")


def test_a_multipart_with_the_wrong_boundary_gives_its_text_not_its_mime_headers() -> None:
    text = body_text(load("27_broken_mime_wrong_boundary.eml"))

    assert text.startswith("接收，明天上午到现场。")
    assert "Content-Type" not in text and "NextPart" not in text


def test_attachments_are_not_read_as_text() -> None:
    text = body_text(load("06_netease126_en_done_attachment.eml"))

    assert text.startswith("Done.") and "JFIF" not in text


def test_an_html_only_reply_marks_blockquotes_and_skips_styles_and_comments() -> None:
    text = body_text(load("09_outlook_zh_html_only.eml"))

    assert text.startswith("退回。理由：")
    assert "font-family" not in text and "shapedefaults" not in text


def test_html_conversion_keeps_line_breaks_and_marks_quotes() -> None:
    msg = EmailMessage()
    msg.set_content(
        "<style>p{color:red}</style><script>alert(1)</script><div>第一行<br>第二行</div><p>段落</p>"
        "<blockquote><div>引用的</div><div>接收</div></blockquote><div>之后</div>",
        subtype="html",
    )

    assert body_text(msg) == "第一行\n第二行\n段落\n\n> 引用的\n> 接收\n之后"


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(_fixture_names()),
    cut=st.integers(min_value=0, max_value=30_000),
    noise=st.binary(max_size=40),
    at=st.integers(min_value=0, max_value=30_000),
    parse_policy=st.sampled_from([policy.compat32, policy.default]),
)
def test_damaged_messages_never_make_reading_raise(
    name: str, cut: int, noise: bytes, at: int, parse_policy: Policy
) -> None:
    raw = (FIXTURES / name).read_bytes()
    raw = raw[:cut] if cut < len(raw) else raw
    raw = raw[:at] + noise + raw[at:]
    msg = BytesParser(policy=parse_policy).parsebytes(raw)

    assert isinstance(body_text(msg), str)
    assert classify_automatic(msg) is None or isinstance(classify_automatic(msg), Automatic)


@settings(max_examples=300, deadline=None)
@given(
    charset=st.sampled_from(["utf-8", "gb2312", "gbk", "gb18030", "x-unknown", "iso-8859-1", "utf-16", "base64"]),
    encoding=st.sampled_from(["8bit", "base64", "quoted-printable", "x-uuencode", "bogus"]),
    subtype=st.sampled_from(["plain", "html", "mixed", "alternative"]),
    body=st.binary(max_size=300) | st.text(alphabet="<>/!-[]&;#x divpbrblockquote接收退回", max_size=200).map(str.encode),
)
def test_arbitrary_bodies_never_make_body_text_raise(charset: str, encoding: str, subtype: str, body: bytes) -> None:
    maintype = "multipart" if subtype in ("mixed", "alternative") else "text"
    raw = (
        f"Content-Type: {maintype}/{subtype}; charset={charset}\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode() + body
    assert isinstance(body_text(BytesParser(policy=policy.default).parsebytes(raw)), str)


# --------------------------------------------------------------------------------------- automatic mail

AUTOMATIC = {
    "22_auto_reply_qq.eml": Automatic("auto_reply", "Auto-Submitted: auto-replied"),
    "23_outlook_out_of_office.eml": Automatic("auto_reply", "Auto-Submitted: auto-generated"),
    "24_autoresponder_headers_only.eml": Automatic(
        "auto_reply", "x-autorespond: 【联动】LD-2026-0121 分派：蓝湾小区东门外道路积水"
    ),
    "25_dsn_postfix_bounce.eml": Automatic(
        "bounce",
        "delivery status notification: failed 5.1.1",
        failed_recipient="nobody@cgj.example.gov.cn",
        original_message_id="<ld-2026-0118.a.gezj2@notify.liandong.example.cn>",
        status="5.1.1",
    ),
    "26_coremail_bounce_returned_message.eml": Automatic(
        "bounce",
        "bounce subject from postmaster: 系统退信/Systematic bounce",
        failed_recipient="wangzhe_old@jtj.example.gov.cn",
        original_message_id="<ld-2026-0120.a.cgezm@notify.liandong.example.cn>",
    ),
    "30_auto_reply_raw_gbk_subject.eml": Automatic(
        "auto_reply", "subject: 自动回复：【联动】LD-2026-0118 催办：幸福路12号楼下建筑垃圾堆放"
    ),
}


@pytest.mark.parametrize("parse_policy", POLICIES)
@pytest.mark.parametrize("name", sorted(AUTOMATIC))
def test_machine_sent_mail_is_recognised(name: str, parse_policy: Policy) -> None:
    assert classify_automatic(load(name, parse_policy)) == AUTOMATIC[name]


def test_every_fixture_is_either_a_human_reply_or_machine_sent() -> None:
    assert set(HUMAN_REPLIES) | set(AUTOMATIC) == set(_fixture_names())


def test_auto_replies_that_say_received_must_be_filtered_before_reading() -> None:
    # Their bodies say "已收到" / "received": read alone they would pass for an acceptance,
    # which is why the caller classifies first.
    for name in ("22_auto_reply_qq.eml", "24_autoresponder_headers_only.eml", "30_auto_reply_raw_gbk_subject.eml"):
        assert reading(name, "assignment").kind == "accept"
        assert classify_automatic(load(name)) is not None


def test_x_auto_response_suppress_alone_does_not_make_a_reply_automatic() -> None:
    msg = load("11_owa_progress_with_suppress.eml")

    assert msg["X-Auto-Response-Suppress"]
    assert classify_automatic(msg) is None


def _message(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "李四 <lisi@cgj.example.gov.cn>")
    msg["Subject"] = headers.pop("Subject", "回复：【联动】LD-2026-0118 分派")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("接收")
    return msg


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"Auto_Submitted": "no"}, None),
        ({"Auto_Submitted": "auto-replied; owner-email=a@b"}, "auto_reply"),
        ({"X_Autoreply": "yes"}, "auto_reply"),
        ({"X_Autorespond": "vacation"}, "auto_reply"),
        ({"Precedence": "bulk"}, "auto_reply"),
        ({"Precedence": "junk"}, "auto_reply"),
        ({"Precedence": "list"}, "auto_reply"),
        ({"X_Auto_Response_Suppress": "All"}, None),
        ({"Subject": "Automatic reply: 【联动】LD-2026-0118"}, "auto_reply"),
        ({"Subject": "Out of Office: 【联动】LD-2026-0118"}, "auto_reply"),
        ({"Subject": "Auto Reply: 【联动】LD-2026-0118"}, "auto_reply"),
        ({"Subject": "【休假】Re: 【联动】LD-2026-0118"}, "auto_reply"),
        ({"Subject": "回复：【联动】LD-2026-0118 分派（自动回复）"}, "auto_reply"),
        ({"Subject": "回复：【联动】关于职工休假期间值班安排的诉求"}, None),
        ({"From": "Mail Delivery Subsystem <MAILER-DAEMON@mx.example.cn>"}, "bounce"),
        ({"From": "postmaster@163.com", "Subject": "系统退信"}, "bounce"),
        ({"From": "postmaster@example.cn", "Subject": "Re: 【联动】LD-2026-0118"}, None),
        ({"Subject": "Undeliverable: 【联动】LD-2026-0118"}, "bounce"),
        ({"X_Failed_Recipients": "nobody@cgj.example.gov.cn"}, "bounce"),
    ],
)
def test_automatic_mail_signs(headers: dict[str, str], kind: str | None) -> None:
    found = classify_automatic(_message(**headers))

    assert (found.kind if found else None) == kind


# --------------------------------------------------------------------------------------- quote stripping

NOTICE = "李科长，您好：\n案件编号：LD-2026-0118\n请回复：接收 / 退回 / 进展 / 办结"
QUOTED_NOTICE = "\n".join(f"> {line}" for line in NOTICE.split("\n"))


@pytest.mark.parametrize(
    "quote",
    [
        f"------------------ 原始邮件 ------------------\n发件人: \"联动\"<n@x.cn>;\n{NOTICE}",
        f"------------------&nbsp;Original&nbsp;------------------\nFrom: &nbsp;\"联动\"<n@x.cn&gt;;\n{NOTICE}",
        f"------------------\xa0原始邮件\xa0------------------\n{NOTICE}",
        f"在 2026-11-21 10:00:00，\"联动\" <n@x.cn> 写道：\n{NOTICE}",
        f"At 2026-11-21 10:00:00, \"联动\" <n@x.cn> wrote:\n>{NOTICE}",
        f"---- 回复的原邮件 ----\n| 发件人 | 联动<n@x.cn> |\n{NOTICE}",
        f"----- 原始邮件 -----\n发件人：联动 <n@x.cn>\n{NOTICE}",
        f"-----邮件原件-----\n发件人: 联动 [mailto:n@x.cn]\n发送时间: 2026年11月21日 10:00\n{NOTICE}",
        f"发件人: 联动 <n@x.cn>\n发送时间: 2026年11月21日 10:00\n收件人: 李四\n主题: 分派\n\n{NOTICE}",
        f"发件人： 联动\n发送时间： 2026-11-21 10:00\n收件人： 王喆\n{NOTICE}",
        f"*发件人:* 联动 <n@x.cn>\n*发送时间:* 2026年11月21日 10:00\n{NOTICE}",
        f"________________________________\nFrom: 联动 <n@x.cn>\nSent: Saturday, November 21, 2026 10:00 AM\n{NOTICE}",
        f"-----Original Message-----\nFrom: 联动 <n@x.cn>\nSent: Saturday, November 21, 2026 10:00 AM\n{NOTICE}",
        f"From: 联动 <n@x.cn>\nDate: Sat, 21 Nov 2026 10:00\nTo: Tom\n\n{NOTICE}",
        f"On Sat, 21 Nov 2026 at 10:00, 联动 <n@x.cn> wrote:\n\n{QUOTED_NOTICE}",
        f"On Sat, Nov 21, 2026 at 10:00 AM 幸福社区大党委（联动） <\nnotify@x.cn> wrote:\n{NOTICE}",
        f"联动 <n@x.cn> 于2026年11月21日周六 10:00写道：\n{NOTICE}",
        f"联动 <n@x.cn> 于2026年11月21日周六 下午8:29\n写道：\n{NOTICE}",
        f"在 2026年11月21日，10:00，联动 <n@x.cn> 写道：\n{NOTICE}",
        f"2026年11月21日 10:00，联动 <n@x.cn> 写道：\n{NOTICE}",
        f"在 2026/11/21 10:00, 联动 写道:\n{NOTICE}",
        f"联动 (<n@x.cn>) 在 2026年11月21日星期六 上午10:00:00 [GMT+8] 寫道：\n{NOTICE}",
        f"         原始邮件\n\n发件人:联动 <n@x.cn>\n发送时间:2026年11月21日 10:00\n{NOTICE}",
        f"Begin forwarded message:\n\nFrom: 联动 <n@x.cn>\n{NOTICE}",
        QUOTED_NOTICE,
        f"发自我的iPhone\n\n{NOTICE}",
        f"发自我的 iPad\n{NOTICE}",
        f"Sent from my iPhone\n{NOTICE}",
        f"来自华为手机\n{NOTICE}",
        f"发自网易邮箱大师\n{NOTICE}",
        f"从我的 iPhone 发送\n{NOTICE}",
        f"Get Outlook for iOS\n{NOTICE}",
        f"-- \n李四\n{NOTICE}",
        f"--\n李四\n{NOTICE}",
    ],
)
def test_each_clients_quote_header_or_signature_cuts_off_the_rest(quote: str) -> None:
    assert strip_quoted(f"好的，我们接收。\r\n\r\n{quote}") == "好的，我们接收。"


def test_quoted_lines_are_dropped_and_interleaved_answers_kept() -> None:
    text = "> 请问是否接收？\n接收\n  > 退回 原因\n>> 办结\n&gt; 进展\n明天到现场"

    assert strip_quoted(text) == "接收\n明天到现场"


def test_bottom_posted_answers_below_an_attribution_are_kept() -> None:
    text = "On Sat, 21 Nov 2026 at 10:00, 联动 <n@x.cn> wrote:\n> 请回复：接收 / 退回\n>\n\nDecline - not ours\n"

    assert strip_quoted(text) == "Decline - not ours"


@pytest.mark.parametrize(
    "prose",
    [
        "On Monday we meet.\nHere is what Bob wrote:\nthe plan",
        "在他的书中，作者写道：\n知识就是力量",
        "From: the whole team\nThanks for everything\nSent: with love",
        "来自手机用户的投诉已办结\n谢谢",
        "已办结\n---\n详见附件",
        "已办结\n-- 李四\n区城管执法局",
        "时间：11月25日\n地点：幸福路12号",
    ],
)
def test_prose_that_only_looks_like_a_quote_header_is_kept(prose: str) -> None:
    assert strip_quoted(prose) == prose


def test_invisible_characters_and_nbsp_do_not_hide_keywords() -> None:
    assert strip_quoted("\ufeff接\u200b收&nbsp;明天\xa0到") == "接收 明天 到"


# --------------------------------------------------------------------------------------- intents


@pytest.mark.parametrize(
    ("text", "purpose", "kind", "detail"),
    [
        ("好的，我们接收", "assignment", "accept", ""),
        ("【接收】", "assignment", "accept", ""),
        ("接收。", "assignment", "accept", ""),
        ("Accept.", "assignment", "accept", ""),
        ("ACCEPTED, thanks", "assignment", "accept", ""),
        ("同意接收，下周一派人到现场", "assignment", "accept", "下周一派人到现场"),
        ("收到", "assignment", "accept", ""),
        ("ＯＫ", "assignment", "accept", ""),
        ("OK, we'll take it", "assignment", "accept", ""),
        ("认领", "claim_list", "claim", ""),
        ("我单位认领：LD-2026-0118、LD-2026-0120", "claim_list", "claim", "LD-2026-0118、LD-2026-0120"),
        ("claim LD-2026-0118", "claim_list", "claim", "LD-2026-0118"),
        ("接收", "claim_list", "claim", ""),
        ("收到", "claim_list", "unknown", "收到"),
        ("不认领", "claim_list", "decline", ""),
        ("我单位已办结：已清运完毕", "reminder", "done", "已清运完毕"),
        ("办结\r\n办理情况：已清运完毕", "reminder", "done", "已清运完毕"),
        ("已处理完毕，垃圾已清运", "overdue", "done", "已处理完毕，垃圾已清运"),
        ("Done - lamp replaced.", "reminder", "done", "lamp replaced"),
        ("done\r\nWhat was done: replaced the lamp", "reminder", "done", "replaced the lamp"),
        ("收到，已办结，清运完毕", "reminder", "done", "清运完毕"),
        ("进展：已联系施工单位", "reminder", "progress", "已联系施工单位"),
        ("正在处理，已派人到现场核实。", "reminder", "progress", "正在处理，已派人到现场核实"),
        ("Update: contractor booked for Tuesday.", "reminder", "progress", "contractor booked for Tuesday"),
        ("尚未办结，正在协调区交通局", "overdue", "progress", "正在协调区交通局"),
        ("还没有完成，需延期到下周", "overdue", "progress", "需延期到下周"),
        ("预计周五前办结", "reminder", "progress", "预计周五前办结"),
        ("not done yet, waiting for parts", "overdue", "progress", "waiting for parts"),
        ("请问具体位置在哪里？", "assignment", "unknown", "请问具体位置在哪里？"),
        ("", "assignment", "unknown", ""),
    ],
)
def test_reply_wording_gives_the_intent_and_its_note(text: str, purpose: str, kind: str, detail: str) -> None:
    intent = read_intent(text, purpose)

    assert (intent.kind, intent.note) == (kind, detail)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("退回，不属于我单位职责", "不属于我单位职责"),
        ("退回", ""),
        ("退回。", ""),
        ("【退回】理由：该路段由区交通局管养", "该路段由区交通局管养"),
        ("退回（不属于我单位职责）", "不属于我单位职责"),
        ("退回\r\n原因：", ""),
        ("退回\r\n原因：不属于本单位职责", "不属于本单位职责"),
        ("退回\n该路段由区交通局管养", "该路段由区交通局管养"),
        ("退回\n\n李四\n区城管执法局", ""),
        ("不属于我单位职责，请转区住建局", "不属于我单位职责，请转区住建局"),
        ("非我单位职责", "非我单位职责"),
        ("经核实，该处不属于我单位管辖范围，予以退回。", "不属于我单位管辖范围"),
        ("因道路产权属于区交通局，我单位予以退回", "因道路产权属于区交通局"),
        ("不接收", ""),
        ("不同意", ""),
        ("无法接收：人手不足", "人手不足"),
        ("拒绝接收，已转交区住建局", "已转交区住建局"),
        ("拒绝", ""),
        ("Decline - not our remit", "not our remit"),
        ("decline\r\nReason: the lane is private land", "the lane is private land"),
        ("Not ours - try the transport bureau", "Not ours - try the transport bureau"),
        ("We can't take it, it belongs to the transport bureau", "it belongs to the transport bureau"),
    ],
)
def test_declines_carry_their_reason_or_an_empty_one(text: str, reason: str) -> None:
    intent = read_intent(text, "assignment")

    assert (intent.kind, intent.reason) == ("decline", reason)


@pytest.mark.parametrize(
    ("text", "kind", "satisfaction"),
    [
        ("已解决，满意", "fixed", "satisfied"),
        ("已解决，基本满意", "fixed", "basically_satisfied"),
        ("未解决，不满意", "not_fixed", "dissatisfied"),
        ("没有解决", "not_fixed", None),
        ("问题仍然存在", "not_fixed", None),
        ("还没有得到解决，很不满意", "not_fixed", "dissatisfied"),
        ("解决了，非常满意", "fixed", "satisfied"),
        ("问题又出现了，不太满意", "not_fixed", "dissatisfied"),
        ("没有再出现，满意", "fixed", "satisfied"),
        ("满意度：不满意", "unknown", "dissatisfied"),
        ("满意", "unknown", "satisfied"),
        ("Fixed, satisfied", "fixed", "satisfied"),
        ("not fixed, dissatisfied", "not_fixed", "dissatisfied"),
        ("Resolved. Mostly satisfied.", "fixed", "basically_satisfied"),
        ("still there, not satisfied", "not_fixed", "dissatisfied"),
        ("希望尽快解决", "not_fixed", None),
    ],
)
def test_lookback_answers_fixed_and_satisfaction_despite_overlapping_words(
    text: str, kind: str, satisfaction: str | None
) -> None:
    intent = read_intent(text, "lookback")

    assert (intent.kind, intent.satisfaction) == (kind, satisfaction)


@pytest.mark.parametrize(
    ("text", "kind"),
    [("参加", "accept"), ("准时参加", "accept"), ("不能参加，另有公务", "decline"), ("请假", "decline"), ("收到", "accept")],
)
def test_meeting_replies(text: str, kind: str) -> None:
    assert read_intent(text, "meeting").kind == kind


def test_greeting_lines_before_the_answer_are_skipped() -> None:
    intent = read_intent("张书记：\n您好！\n我单位已办结：已清运完毕。\n谢谢！\n李四", "reminder")

    assert (intent.kind, intent.note) == ("done", "已清运完毕")


def test_the_answer_must_be_in_the_first_lines() -> None:
    text = "张书记：\n您好！\n关于贵社区转来的诉求，我们开会研究了。\n会上大家认为应当退回。"

    assert read_intent(text, "assignment").kind == "unknown"


def test_notes_are_capped() -> None:
    intent = read_intent("办结：" + "已清运" * 400, "reminder")

    assert intent.kind == "done" and len(intent.note) == NOTE_LIMIT


def test_an_unknown_purpose_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="purpose"):
        read_intent("接收", "assign")


# --------------------------------------------------------------------------------------- properties

QUOTE_HEADERS = [
    "------------------ 原始邮件 ------------------",
    "------------------&nbsp;Original&nbsp;------------------",
    "-----邮件原件-----",
    "-----Original Message-----",
    "---- 回复的原邮件 ----",
    '在 2026-11-21 10:00:00，"联动" <n@x.cn> 写道：',
    "On Sat, 21 Nov 2026 at 10:00, 联动 <n@x.cn> wrote:",
    "联动 <n@x.cn> 于2026年11月21日周六 10:00写道：",
    "在 2026年11月21日，10:00，联动 <n@x.cn> 写道：",
    "发件人: 联动 <n@x.cn>\n发送时间: 2026年11月21日 10:00",
    "From: 联动 <n@x.cn>\nSent: Saturday, November 21, 2026 10:00 AM",
    "发自我的iPhone",
    "Sent from my iPhone",
    "来自华为手机",
    "-- ",
]
ANSWERS = [
    ("好的，我们接收", "assignment"),
    ("退回，不属于我单位职责", "assignment"),
    ("退回", "assignment"),
    ("Decline - not our remit", "assignment"),
    ("我单位已办结：已清运完毕", "reminder"),
    ("正在处理，已派人到现场核实", "overdue"),
    ("认领第2、5项", "claim_list"),
    ("已解决，基本满意", "lookback"),
    ("请假，当天有值班任务", "meeting"),
    ("请问具体位置在哪里？", "assignment"),
]
KEYWORDISH = st.lists(
    st.sampled_from(["接收", "退回", "办结", "进展", "不", "满意", "解决", "Accept", "> ", "\n", "，", "写道：", " "]),
    max_size=30,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=st.text(), purpose=st.sampled_from(sorted(PURPOSES)))
def test_arbitrary_text_never_makes_stripping_or_reading_raise(text: str, purpose: str) -> None:
    assert isinstance(strip_quoted(text), str)
    assert isinstance(read_intent(text, purpose), Intent)


@settings(max_examples=500, deadline=None)
@given(
    answer=st.sampled_from(ANSWERS),
    header=st.sampled_from(QUOTE_HEADERS),
    gap=st.sampled_from(["\n", "\n\n", "\r\n\r\n"]),
    tail=st.text() | KEYWORDISH,
)
def test_whatever_follows_a_quote_header_never_changes_the_intent(
    answer: tuple[str, str], header: str, gap: str, tail: str
) -> None:
    text, purpose = answer

    assert read_intent(f"{text}{gap}{header}\n{tail}", purpose) == read_intent(text, purpose)
