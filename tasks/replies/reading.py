"""Turn an emailed reply into an intent.

Unit contacts answer our notices from whatever client they use (QQ Mail, Foxmail, NetEase,
Outlook, Gmail, Apple Mail, phones). The steps, all plain functions without I/O:

- `body_text(msg)`: the reply's text, from text/plain or else converted HTML; never raises.
- `strip_quoted(text)`: the reply without quoted history and signatures.
- `classify_automatic(msg)`: auto-replies and bounces, which are never answers.
- `read_intent(text, purpose)`: the intent on the first unquoted lines.

The quoted history matters most: it holds our own notice, whose mailto buttons spell every
keyword (接收 / 退回 / 办结 ...), so a quote that slips through becomes a false answer.
Anything not understood comes back as kind "unknown" for the coordinator. Classify first:
auto-replies often say "已收到", which read_intent alone would take for an acceptance.

Messages may be parsed with any policy; `BytesParser()` / `email.message_from_bytes()`
(compat32) parse about six times faster than with `policy.default`.
"""

from __future__ import annotations

import codecs
import functools
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.header import decode_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import parseaddr
from html.parser import HTMLParser

PURPOSES = frozenset({"assignment", "reminder", "overdue", "claim_list", "lookback", "meeting"})
NOTE_LIMIT = 500

# How many non-empty lines may precede the answer (greetings such as "张科长：" / "您好！").
_OPENING_LINES = 3


# ---------------------------------------------------------------------------------------------
# Charsets
# ---------------------------------------------------------------------------------------------

# Chinese clients label GBK text "gb2312" (or nothing); gb18030 decodes all of them.
_GB_LABELS = frozenset(
    {"gb2312", "gbk", "cp936", "ms936", "windows-936", "x-gbk", "gb_2312-80", "euc-cn",
     "x-euc-cn", "csgb2312", "chinese", "gb18030"}
)


def _codec(label: str | None) -> str | None:
    """The Python codec for a MIME charset label, or None when unknown or absent."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _GB_LABELS or label.startswith("gb"):
        return "gb18030"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


@functools.lru_cache(maxsize=64)
def _decodes_every_byte(codec: str) -> bool:
    """Latin-1-like codecs never fail, so they cannot tell a right guess from a wrong one."""
    try:
        bytes(range(256)).decode(codec)
    except (UnicodeError, LookupError):
        return False
    return True


def _candidates(codec: str | None) -> list[str]:
    # Valid UTF-8 is almost never an accident, so it goes first even against the label;
    # a latin-1 style label on Chinese mail is more often wrong than gb18030 is.
    if codec and codec.startswith(("utf-16", "utf-32")):
        order = [codec, "utf-8", "gb18030"]
    elif codec and not _decodes_every_byte(codec):
        order = ["utf-8", codec, "gb18030"]
    else:
        order = ["utf-8", "gb18030"] + ([codec] if codec else [])
    return list(dict.fromkeys(order))


def _decode(data: bytes, declared: str | None) -> str:
    """Decode bytes with the declared charset when it fits, else the likeliest; never raises."""
    if data.isascii():
        return data.decode("ascii")
    codec = _codec(declared)
    for name in _candidates(codec):
        try:
            return data.decode(name)
        except (UnicodeError, LookupError):
            continue
    return data.decode("gb18030", errors="replace")


def _as_bytes(text: str) -> bytes:
    """Bytes behind a str the email parser made from 8-bit data (kept as surrogate escapes)."""
    try:
        return text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------------------------
# Headers, read raw
# ---------------------------------------------------------------------------------------------
# Headers are read from their raw values, the same way for messages parsed with any policy:
# policy.default runs its structured-header parser on every access (get_content_type() and
# get_param() made reading ten times slower), and compat32 does not decode RFC 2047 words.

_PARAM = re.compile(r';\s*([^\s;=]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]*))')
_SURROGATE_ESCAPES = re.compile("[\udc80-\udcff]")


def _raw_header(msg: Message, name: str) -> str | None:
    return next((str(value) for key, value in msg.raw_items() if key.lower() == name), None)


def _content_type(part: Message) -> tuple[str, dict[str, str]]:
    """The part's content type and lower-cased parameter names (RFC 2045 defaults)."""
    raw = _raw_header(part, "content-type")
    if raw is None:
        return part.get_default_type(), {}
    ctype, _, rest = raw.partition(";")
    ctype = ctype.strip().lower()
    if ctype.count("/") != 1:  # RFC 2045 §5.2: an invalid type is text/plain
        ctype = "text/plain"
    params = {
        found.group(1).lower(): found.group(2) if found.group(2) is not None else found.group(3)
        for found in _PARAM.finditer(";" + rest)
    }
    return ctype, params


def _header(msg: Message, name: str) -> str:
    """A header's text: RFC 2047 words decoded with our charset fallbacks, and raw 8-bit values
    (GBK subjects from some clients) decoded too."""
    raw = _raw_header(msg, name)
    if raw is None:
        return ""
    raw = re.sub(r"\s*\n\s*", " ", raw).strip()
    if _SURROGATE_ESCAPES.search(raw):
        return _decode(_as_bytes(raw), None)
    if "=?" not in raw:
        return raw
    try:
        chunks = decode_header(raw)
    except (HeaderParseError, ValueError):
        return raw
    return "".join(
        _decode(chunk, charset) if isinstance(chunk, bytes) else chunk for chunk, charset in chunks
    ).strip()


# ---------------------------------------------------------------------------------------------
# Body text
# ---------------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_BOUNDARY_LINE = re.compile(rb"^--(\S{1,200}?)[ \t]*\r?$", re.M)


def body_text(msg: Message) -> str:
    """The reply's own text: text/plain if it has any, else the text/html part as text.

    Attachments and attached messages are skipped. Broken MIME (missing or wrong boundaries),
    wrong or missing charsets and damaged transfer encodings are tolerated; returns "" at worst.
    """
    try:
        plain: str | None = None
        markup: str | None = None
        for subtype, text in _text_leaves(msg):
            if subtype == "html":
                markup = text if markup is None else markup
            elif plain is None:
                plain = text
        if plain is not None and (plain.strip() or markup is None):
            return plain
        return _html_to_text(markup) if markup is not None else ""
    except Exception:  # noqa: BLE001 - an odd message must still reach the coordinator as text
        return _raw_text(msg)


def _text_leaves(part: Message) -> Iterator[tuple[str, str]]:
    """(subtype, text) of each text/plain and text/html part that belongs to the reply itself."""
    ctype, params = _content_type(part)
    maintype, _, subtype = ctype.partition("/")
    if maintype == "message":  # an attached or forwarded message is not the reply
        return
    if part.is_multipart():
        for sub in part.get_payload():
            yield from _text_leaves(sub)
        return
    if maintype == "multipart":  # boundary missing or wrong: the parser left the raw body
        yield from _resplit(part, params.get("charset"))
        return
    if maintype == "text" and subtype in ("plain", "html") and not _is_attachment(part):
        yield subtype, _part_text(part, subtype, params)


def _is_attachment(part: Message) -> bool:
    return (_raw_header(part, "content-disposition") or "").strip().lower().startswith("attachment")


def _resplit(part: Message, charset: str | None) -> Iterator[tuple[str, str]]:
    """Split a multipart body on the delimiter lines actually present in it."""
    data = part.get_payload(decode=True) or b""
    found = _BOUNDARY_LINE.search(data)
    if found is None:
        yield "plain", _decode(data, charset)
        return
    delimiter = b"--" + found.group(1)
    for chunk in data.split(delimiter)[1:]:
        if chunk.startswith(b"--"):  # the closing delimiter
            break
        sub = BytesParser().parsebytes(chunk.lstrip(b"\r\n"))
        yield from _text_leaves(sub)


def _part_text(part: Message, subtype: str, params: dict[str, str]) -> str:
    data = part.get_payload(decode=True) or b""
    declared = params.get("charset")
    if not declared and subtype == "html":
        found = _META_CHARSET.search(data[:4096])
        declared = found.group(1).decode("ascii") if found else None
    text = _decode(data, declared).replace("\r\n", "\n").replace("\r", "\n")
    if params.get("format", "").lower() == "flowed":
        text = _unflow(text, delsp=params.get("delsp", "").lower() == "yes")
    return text


def _unflow(text: str, delsp: bool) -> str:
    """Join RFC 3676 soft line breaks (a line ending in a space continues on the next)."""
    lines: list[str] = []
    pending = ""
    for line in text.split("\n"):
        quoted = line.startswith(">")
        if pending and quoted:  # never glue a quote onto the reply's own text
            lines.append(pending)
            pending = ""
        if not quoted and line.startswith(" "):  # space-stuffing
            line = line[1:]
        if not quoted and line.endswith(" ") and line.rstrip() != "--":
            pending += line[:-1] if delsp else line
        else:
            lines.append(pending + line)
            pending = ""
    if pending:
        lines.append(pending)
    return "\n".join(lines)


def _raw_text(msg: Message) -> str:
    try:
        return "" if msg.is_multipart() else _decode(msg.get_payload(decode=True) or b"", None)
    except Exception:  # noqa: BLE001 - the last resort must not raise either
        return ""


# ---------------------------------------------------------------------------------------------
# HTML to text
# ---------------------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    "address article aside blockquote body center dd div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody tfoot "
    "thead tr ul".split()
)
_HIDDEN_TAGS = frozenset({"script", "style", "title", "noscript", "template"})
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")
_TAG = re.compile(r"<[^>]*>")


class _HtmlText(HTMLParser):
    """Text of an HTML body. Block elements end lines; text inside <blockquote> is marked
    with "> " so that strip_quoted drops it exactly like a plain-text quote."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._pieces: list[str] = []
        self._visible = False  # the current line holds text or a &nbsp; (not just source indentation)
        self._line_quoted = False
        self._quote_depth = 0
        self._pre_depth = 0
        self._hidden_depth = 0
        self._word_paragraph = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth += 1
        elif tag == "br":
            self.end_line(hard=True)
        elif tag in _BLOCK_TAGS:
            self.end_line()
            self._quote_depth += tag == "blockquote"
            self._pre_depth += tag == "pre"
            if tag == "p":
                # Word / Outlook write every line as a zero-margin <p class=MsoNormal>.
                self._word_paragraph = "msonormal" in (dict(attrs).get("class") or "").lower()
        elif tag in ("td", "th"):
            self._pieces.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.end_line()
            if tag == "p" and not self._word_paragraph and self.lines and self.lines[-1]:
                self.lines.append("")  # other clients' paragraphs have margins: a blank line
            if tag == "blockquote":
                self._quote_depth = max(0, self._quote_depth - 1)
            elif tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        if not self._pre_depth:
            self._add(_HTML_SPACE.sub(" ", data))
            return
        first, *more = data.replace("\r\n", "\n").split("\n")
        self._add(first)
        for piece in more:
            self.end_line(hard=True)
            self._add(piece)

    def _add(self, text: str) -> None:
        if text.strip(" \t\r\n\f"):  # a &nbsp; (\xa0) survives: "<p>&nbsp;</p>" is a blank line
            self._visible = True
            self._line_quoted = self._line_quoted or self._quote_depth > 0
        self._pieces.append(text)

    def end_line(self, hard: bool = False) -> None:
        """End the current line; block boundaries (not hard breaks) leave no empty line behind."""
        if self._visible or hard:
            line = "".join(self._pieces).replace("\xa0", " ").strip()
            self.lines.append("> " + line if line and self._line_quoted else line)
        self._pieces = []
        self._visible = False
        self._line_quoted = False


def _html_to_text(markup: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # noqa: BLE001 - _markupbase raises AssertionError on some bad declarations
        return html.unescape(_TAG.sub("\n", markup))
    parser.end_line()
    return "\n".join(parser.lines)


# ---------------------------------------------------------------------------------------------
# Quoted history and signatures
# ---------------------------------------------------------------------------------------------

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_BLANK_RUNS = re.compile(r"\n{3,}")
# QQ Mail's plain text keeps HTML entities, so its quotes may start with "&gt;".
_QUOTED_LINE = re.compile(r"^\s*(?:>|&gt;)")
_SEPARATOR = re.compile(
    r"^[\s>*]*(?:"
    r"-{2,}\s*(?:原始邮件|邮件原件|原邮件|回复的原邮件|转发的邮件|转发邮件信息|Original(?:\s+Message)?"
    r"|Replied\s+Message|Forwarded\s+message)\s*-{2,}"
    r"|(?:Begin\s+forwarded\s+message|开始转发的邮件|下面是被转发的邮件)\s*[:：]"
    r")\s*$",
    re.I,
)
# QQ Mail's newer quote: a lone "Original" / "原始邮件" line above a From / Sent Time table.
_LONE_ORIGINAL = re.compile(r"^\s*(?:Original|原始邮件)\s*$", re.I)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")  # Outlook on the web / new Outlook
_FROM_FIELD = re.compile(r"^[\s>*]*(?:发\s*件\s*人|發件人|寄件者|寄件人|From)[\s*]*[:：]", re.I)
_FIELD = re.compile(
    r"^[\s>*]*(?:发\s*件\s*人|發件人|寄件者|寄件人|From|发送时间|發送時間|发送日期|时间|時間|日期"
    r"|Sent(?:\s+Time)?|Date|收\s*件\s*人|收件者|To|抄\s*送|副本|Cc|主\s*题|主旨|Subject)[\s*]*[:：]",
    re.I,
)
_ATTRIBUTION_END = re.compile(r"(?:wrote|写道|寫道|来信|撰写)\s*[:：]?\s*$", re.I)
_ATTRIBUTION_START = re.compile(
    r"^\s*(?:On|At|Le|Am|El|Il)\s|^\s*在|[于在]\s*\d|^\s*\d{4}\s*[年/.-]|^\s*\d{1,2}[/.]\d{1,2}[/.]\d{2,4}",
    re.I,
)
_DIGIT = re.compile(r"\d")
_SIGNATURE = re.compile(
    r"^\s*--\s*$"
    r"|^\s*(?:发自|来自|从)\s*(?:我的)?\s*[\u4e00-\u9fffA-Za-z ]{0,6}?"
    r"(?:iPhone|iPad|手机|平板|设备|Android|安卓|华为|荣耀|小米|OPPO|vivo|三星|Galaxy|邮箱|Mail)"
    r"[A-Za-z0-9 .+-]{0,20}(?:手机版|大师|客户端|版|App|发送)?\s*$"
    r"|^\s*Sent\s+(?:from|with|via)\s+(?:my\s+)?[\w .+-]{1,40}\.?\s*$"
    r"|^\s*(?:Get|获取)\s*Outlook\s*(?:for|适用于)?\s*(?:iOS|Android)\s*$",
    re.I,
)


def strip_quoted(text: str) -> str:
    """The reply without quoted history, `>` lines, signatures and phone client footers.

    Recognises the quote headers of QQ Mail / Foxmail, NetEase, Outlook (zh, en, web), Gmail
    (zh, en), Apple Mail, Thunderbird and phone clients. A reply written below a `>` quote
    (bottom-posting) is kept; a message that is only quoted history gives "".
    """
    lines = _normalise(text).split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _QUOTED_LINE.match(line):
            index += 1
            continue
        size = _quote_header_size(lines, index)
        if size:
            if any(kept_line.strip() for kept_line in kept) or not _quote_follows(lines, index + size):
                break
            index += size  # bottom-posting: this header only introduces the quote above the answer
            continue
        if _SIGNATURE.match(line):
            break
        kept.append(line.rstrip())
        index += 1
    return _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip()


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("&nbsp;", " ").replace("\xa0", " ")
    return _INVISIBLE.sub("", text)


def _quote_header_size(lines: list[str], index: int) -> int:
    """How many lines the quote header starting at `index` spans (0: none starts here)."""
    line = lines[index]
    if _SEPARATOR.match(line):
        return 1
    if (_LONE_ORIGINAL.match(line) or _UNDERSCORES.match(line)) and _from_field_follows(lines, index):
        return 1
    if _header_block_at(lines, index):
        return 1
    return _attribution_size(lines, index)


def _next_filled(lines: list[str], start: int, reach: int) -> str | None:
    """The first non-blank line among lines[start:start + reach]."""
    return next((line for line in lines[start : start + reach] if line.strip()), None)


def _from_field_follows(lines: list[str], index: int) -> bool:
    return any(_FROM_FIELD.match(line) for line in lines[index + 1 : index + 5])


def _header_block_at(lines: list[str], index: int) -> bool:
    """A field line ("发件人:", "Sent:" ...) followed by another, one of them a sender."""
    line = lines[index]
    if not _FIELD.match(line):
        return False
    following = _next_filled(lines, index + 1, 2)
    if following is None or not _FIELD.match(following):
        return False
    return bool(_FROM_FIELD.match(line) or _FROM_FIELD.match(following))


def _is_attribution(line: str) -> bool:
    return bool(_ATTRIBUTION_END.search(line) and _ATTRIBUTION_START.search(line) and _DIGIT.search(line))


def _attribution_size(lines: list[str], index: int) -> int:
    """1 for "On … wrote:" / "… 于…写道：" lines, 2 when the client wrapped one over two lines."""
    line = lines[index]
    if _is_attribution(line):
        return 1
    if index + 1 < len(lines) and line.strip():
        following = lines[index + 1]
        if (
            _ATTRIBUTION_END.search(following)
            and not _is_attribution(following)
            and _is_attribution(line + " " + following)
        ):
            return 2
    return 0


def _quote_follows(lines: list[str], start: int) -> bool:
    following = _next_filled(lines, start, len(lines))
    return following is not None and bool(_QUOTED_LINE.match(following))


# ---------------------------------------------------------------------------------------------
# Auto-replies and bounces
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Automatic:
    """A machine-sent message (never a human answer) and why it was recognised as one."""

    kind: str  # "auto_reply" or "bounce"
    reason: str
    failed_recipient: str | None = None
    original_message_id: str | None = None
    status: str | None = None  # RFC 3463 status of a DSN, e.g. "5.1.1"; 4.x.x is a delay


_AUTO_SUBJECT = re.compile(
    r"^\s*(?:(?:re|回复|答复|fwd?|转发)\s*[:：]\s*)*[\[【(（]?\s*"
    r"(?:自动回复|自动答复|自動回覆|自動回復|自动应答|Automatic\s+reply|Auto(?:matic)?[\s_-]*(?:reply|response)"
    r"|Out\s+of\s+(?:the\s+)?office|休假)"
    r"|[\[【(（]\s*(?:自动回复|自动答复|休假中?|Auto[\s_-]*Reply|Out\s+of\s+(?:the\s+)?office)\s*[\]】)）]",
    re.I,
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:系统退信|退信|邮件退信|投递失败|邮件投递失败|无法投递|Undeliver(?:ed|able)|Returned\s+mail"
    r"|Mail\s+delivery\s+failed|Delivery\s+Status\s+Notification|Delivery\s+(?:Failure|failed)"
    r"|Failure\s+notice|Non[\s-]?delivery)",
    re.I,
)
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply", "list"})
_VENDOR_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder")
_ADDRESS = r"[^<>\s@;,:()\"]+@[^<>\s@;,:()\"]+\.[^<>\s@;,:()\"]+"
_POSTFIX_RECIPIENT = re.compile(rf"^<({_ADDRESS})>:", re.M)
_LABELLED_RECIPIENT = re.compile(
    rf"(?:收件人|收信人|Recipient(?:\s+address)?|Final-Recipient|Original-Recipient)[^:：\n]{{0,20}}[:：]"
    rf"\s*(?:rfc822;\s*)?<?({_ADDRESS})",
    re.I,
)
_MESSAGE_ID_LINE = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]+>)", re.I | re.M)


def classify_automatic(msg: Message) -> Automatic | None:
    """("auto_reply" | "bounce", reason, …) for machine-sent mail; None for a human reply.

    Bounces: DSNs (multipart/report; report-type=delivery-status), X-Failed-Recipients,
    MAILER-DAEMON senders and bounce subjects (退信, Undelivered …). Auto-replies: RFC 3834
    Auto-Submitted other than "no", X-Autoreply / X-Autorespond, Precedence bulk / junk /
    auto_reply / list, and subjects such as 自动回复 / Automatic reply / Out of Office / 休假.
    X-Auto-Response-Suppress is a request to others, not a sign (MS-OXCMAIL), so it is ignored.
    """
    return _bounce(msg) or _auto_reply(msg)


def _sender_local_part(msg: Message) -> str:
    address = parseaddr(_raw_header(msg, "from") or "")[1]
    return address.partition("@")[0].lower()


def _bounce(msg: Message) -> Automatic | None:
    ctype, params = _content_type(msg)
    if ctype == "multipart/report" and params.get("report-type", "").lower() == "delivery-status":
        return _delivery_status(msg)
    failed = _header(msg, "x-failed-recipients")
    subject = _header(msg, "subject")
    sender = _sender_local_part(msg)
    if failed:
        reason = "X-Failed-Recipients header"
    elif sender == "mailer-daemon":
        reason = "sent by MAILER-DAEMON"
    elif _BOUNCE_SUBJECT.search(subject):
        reason = f"bounce subject from {sender or 'unknown sender'}: {subject[:80]}"
    else:
        return None
    text = _all_text(msg)
    recipient = failed.split(",")[0].strip() or _recipient_in_text(text)
    return Automatic("bounce", reason, recipient, _original_message_id(msg, text))


def _delivery_status(msg: Message) -> Automatic:
    per_recipient = _delivery_status_blocks(msg)[1:]  # block 0 describes the whole message
    chosen = next(
        (block for block in per_recipient if _header(block, "action").lower() == "failed"),
        per_recipient[0] if per_recipient else None,
    )
    recipient = action = status = None
    if chosen is not None:
        address = _header(chosen, "final-recipient") or _header(chosen, "original-recipient")
        recipient = address.split(";", 1)[-1].strip().strip("<>") or None
        action = _header(chosen, "action").lower() or None
        status = _header(chosen, "status") or None
    reason = " ".join(filter(None, ["delivery status notification:", action or "no action", status]))
    return Automatic("bounce", reason, recipient, _original_message_id(msg, _all_text(msg)), status)


def _all_text(msg: Message) -> str:
    """Every text part of a bounce, where a non-standard report names the recipient."""
    try:
        return "\n".join(text for _, text in _text_leaves(msg))
    except Exception:  # noqa: BLE001 - a damaged report still counts as a bounce
        return ""


def _delivery_status_blocks(msg: Message) -> list[Message]:
    for part in msg.walk():
        if _content_type(part)[0] != "message/delivery-status":
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            return payload
        # Some MTAs base64-encode the report, which leaves the blocks unparsed.
        text = _decode(part.get_payload(decode=True) or b"", None)
        return [HeaderParser().parsestr(block) for block in re.split(r"\n\s*\n", text) if block.strip()]
    return []


def _original_message_id(msg: Message, text: str) -> str | None:
    """The bounced message's Message-ID: from the returned message or headers, else the text."""
    for part in msg.walk():
        ctype = _content_type(part)[0]
        if ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            returned = payload[0] if isinstance(payload, list) and payload else None
            found = _header(returned, "message-id") if returned is not None else ""
        elif ctype in ("text/rfc822-headers", "message/global-headers"):
            headers = _decode(part.get_payload(decode=True) or b"", None)
            found = _header(HeaderParser().parsestr(headers, headersonly=True), "message-id")
        else:
            continue
        if found:
            return found
    match = _MESSAGE_ID_LINE.search(text)
    return match.group(1) if match else None


def _recipient_in_text(text: str) -> str | None:
    match = _POSTFIX_RECIPIENT.search(text) or _LABELLED_RECIPIENT.search(text)
    return match.group(1) if match else None


def _auto_reply(msg: Message) -> Automatic | None:
    submitted = _header(msg, "auto-submitted")
    if submitted and submitted.split(";")[0].strip().lower() != "no":
        return Automatic("auto_reply", f"Auto-Submitted: {submitted}")
    for name in _VENDOR_AUTO_HEADERS:
        value = _header(msg, name)
        if value and value.lower() not in ("no", "false", "0"):
            return Automatic("auto_reply", f"{name}: {value}")
    precedence = _header(msg, "precedence").lower()
    if precedence in _BULK_PRECEDENCE:
        return Automatic("auto_reply", f"Precedence: {precedence}")
    subject = _header(msg, "subject")
    if _AUTO_SUBJECT.search(subject):
        return Automatic("auto_reply", f"subject: {subject[:80]}")
    return None


# ---------------------------------------------------------------------------------------------
# Intent
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intent:
    """What a reply says.

    kind: accept | claim | decline | progress | done | fixed | not_fixed | unknown.
    reason: a decline's reason ("" when none was given: ask again).
    note: the text after the keyword (progress, done, accept, claim, look-back remarks), or
      the whole reply when the kind is unknown.
    satisfaction (look-backs only): satisfied | basically_satisfied | dissatisfied | None.
    keyword: the words that decided the kind, for the audit trail.
    """

    kind: str
    reason: str = ""
    note: str = ""
    satisfaction: str | None = None
    keyword: str = ""


@dataclass(frozen=True)
class _Rule:
    """Words that carry an intent.

    negated: what the words mean after 不/没有/未/无法/not … ("不接收" declines; None: nothing).
    hedged: what they mean in a clause that plans or asks ("预计周五办结" is progress).
    label: the words introduce the note ("办结：已清运") rather than begin it ("正在处理…").
    weak: an acknowledgement (收到, OK) that counts only when nothing stronger is written.
    """

    kind: str
    pattern: str
    negated: str | None = None
    hedged: str | None = None
    label: bool = True
    weak: bool = False


def _en(pattern: str) -> str:
    """An English pattern that must not touch other Latin letters (CJK may touch it)."""
    return rf"(?<![a-z])(?:{pattern})(?![a-z])"


_ACCEPT = [
    _Rule("accept", r"同意(?:接收|认领|承办|办理)|接收|接受|认领|承办|接办|接手|领办", negated="decline"),
    _Rule(
        "accept",
        _en(r"accept(?:ed|s)?|claim(?:ed)?|(?:we|i)(?:'ll|\s+will|\s+can)\s+take\s+(?:it|this|the\s+case)"),
        negated="decline",
    ),
]
_ACKNOWLEDGE = [
    _Rule("accept", r"已?收到|好的|没问题|" + _en(r"ok(?:ay)?|received|noted|got\s+it|will\s+do"), weak=True),
]
_DECLINE = [
    _Rule(
        "decline",
        r"不同意|退回|退件|拒绝|拒收|不予受理|不受理|"
        + _en(r"declined?|reject(?:ed)?|refused?"
              r"|(?:can(?:no|')t|won't|will\s+not|unable\s+to)\s+take\s+(?:it|this|the\s+case)"),
    ),
    _Rule(
        "decline",
        r"(?:不属于|不归|不是|并非|非|不在)(?:我|本)(?:们|单位|部门|局|所|司|公司|中心|站|队|科|处|院|校|街道|社区)*"
        r"的?(?:职责|职能|管辖|业务|工作)?(?:范围|范畴|权限)?|应当?由|应该由|"
        + _en(r"not\s+(?:ours|our\s+(?:remit|responsibility|job|area|department|unit|jurisdiction|business|matter))"
              r"|outside\s+(?:our|my)\s+(?:remit|responsibility|jurisdiction|area|scope)"
              r"|wrong\s+(?:unit|department|agency|office)"),
        label=False,
    ),
]
_PROGRESS = [
    _Rule("progress", r"进展|进度|" + _en(r"progress|update")),
    _Rule(
        "progress",
        r"正在|处理中|办理中|整改中|推进中|协调中|施工中|跟进中|进行中|已安排|已派|已联系|已转|已部署|已开始|已启动|已着手|"
        + _en(r"in\s+progress|working\s+on|under\s*way|ongoing|in\s+hand|scheduled"),
        label=False,
    ),
]
_DONE = [
    _Rule("done", r"已?办结|" + _en(r"done|completed?|finished|resolved|fixed|closed"),
          negated="progress", hedged="progress"),
    _Rule(
        "done",
        r"已经?处理(?:完毕|完成|好了?)?|处理完(?:毕|成|了)?|办理完毕|已经?办理|已经?完成|完成了|全部完成"
        r"|已整改(?:完毕|到位)?|整改(?:完毕|完成|到位)|已经?解决|解决了|已清运|已清理|已清除|已拆除|已修复|已修好"
        r"|已维修|已更换|已恢复|已落实|已消除|完成(?!情况|时限|时间|期限)|解决(?!方案|办法|措施|情况)",
        negated="progress",
        hedged="progress",
        label=False,
    ),
]
_ATTEND = [
    _Rule("accept", r"参加|出席|参会|与会|到会|" + _en(r"attend(?:ing)?|will\s+be\s+there"), negated="decline"),
    _Rule("decline", r"请假|缺席|" + _en(r"apologies|absent")),
]
_LOOKBACK = [
    _Rule(
        "fixed",
        r"已经?解决|解决了|得到解决|解决(?!方案|办法|措施)|已修复|修好了?|已恢复|恢复正常|已整改|整改到位|已清理|已处理|处理好了"
        + "|" + _en(r"fixed|resolved|solved|sorted(?:\s+out)?"),
        negated="not_fixed",
        hedged="not_fixed",
    ),
    _Rule("not_fixed", r"仍然?存在|依然存在|依旧存在|还存在|仍有|还在|没有?变化|老样子|照旧|" + _en(r"still")),
    _Rule("not_fixed", r"(?:再次?|又)(?:出现|发生|反弹)|反弹|复发|" + _en(r"recurr(?:ed|ing)|came\s+back"),
          negated="fixed"),
]
_SATISFACTION = [
    _Rule("dissatisfied", r"很不满意|不太满意|不满意|不满(?!意)|失望|" + _en(r"dissatisfied|unsatisfied|unhappy|disappointed")),
    _Rule(
        "basically_satisfied",
        r"基本满意|比较满意|还算满意|" + _en(r"(?:mostly|fairly|basically|somewhat|partly|reasonably)\s+satisfied"),
        negated="dissatisfied",
    ),
    _Rule("satisfied", r"非常满意|很满意|满意(?!度|程度)|" + _en(r"(?:very\s+)?satisfied"), negated="dissatisfied"),
]


@dataclass(frozen=True)
class _Vocabulary:
    rules: tuple[_Rule, ...]
    regex: re.Pattern[str]


def _vocabulary(rules: list[_Rule]) -> _Vocabulary:
    # One alternation scanned once per line: far cheaper than a search per rule.
    alternation = "|".join(f"(?P<r{number}>{rule.pattern})" for number, rule in enumerate(rules))
    return _Vocabulary(tuple(rules), re.compile(alternation, re.I))


def _as_claims(rules: list[_Rule]) -> list[_Rule]:
    return [
        _Rule("claim", rule.pattern, rule.negated, rule.hedged, rule.label) if rule.kind == "accept" else rule
        for rule in rules
    ]


_GENERAL = _ACCEPT + _ACKNOWLEDGE + _DECLINE + _PROGRESS + _DONE
_VOCABULARIES = {
    "assignment": _vocabulary(_GENERAL),
    "reminder": _vocabulary(_GENERAL),
    "overdue": _vocabulary(_GENERAL),
    # "收到" acknowledges a claim list; it claims nothing.
    "claim_list": _vocabulary(_as_claims(_ACCEPT) + _DECLINE + _PROGRESS + _DONE),
    "meeting": _vocabulary(_ATTEND + _GENERAL),
    "lookback": _vocabulary(_LOOKBACK),
}
_SATISFACTION_VOCABULARY = _vocabulary(_SATISFACTION)

# Full-width ASCII (ＯＫ, ：, ！) to half-width, one character for one so offsets still match.
_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_NEGATION_BEFORE = re.compile(
    r"(?:不|没|未|无法|无力|难以|拒绝|非)"
    r"(?:能够?|可以|可|予以?|以|会|太|是很|再|便|得到|被|彻底|完全|根本|全部|有|曾|及时|按时|按期|如期)*\s*$"
    r"|(?:(?<![a-z])(?:not|never|cannot|no)|n't)\s+(?:(?:yet|been|be|fully|completely|quite|really|able\s+to)\s+)*$",
    re.I,
)
_NEGATION_AFTER = re.compile(r"\s*(?:不了|不到|不来|不过来)")
_HEDGE = re.compile(
    r"预计|计划|将于|将在|将会|即将|争取|力争|拟|准备|尽快|希望|要求|请|待|正在|"
    + _en(r"will|expect(?:ed)?|plan(?:ned)?|going\s+to|hope|please|should|asap"),
    re.I,
)
_CLAUSE = re.compile(r"[^,.;!?，。；！？]*$")

_NOTE_LEADING = re.compile(r"^(?:[\s:：,，。.;；、!！?？\-—–~～)）\]】」』>|/]|yet(?![a-z]))+", re.I)
# Labels our mailto buttons prefill ("退回\r\n原因：", "办结\r\n办理情况：", "done\r\nWhat was done: ")
# and their usual variants.
_NOTE_LABEL = re.compile(
    r"^(?:退回)?(?:理由|原因|说明|备注|情况说明|办理情况|处理情况|办理结果|处理结果|结果|进展情况|情况"
    r"|reason|note|what\s+was\s+done|summary|details)\s*(?:是|为|如下)?\s*[:：]\s*",
    re.I,
)
_NOTE_TRAILING = re.compile(r"(?:[\s,，。.;；、!！~～]|(?<![a-z])(?:thanks?(?:\s+you)?|谢谢|多谢|感谢))+$", re.I)
_TRAILING_DECLINE = re.compile(r"[\s,，。.;；]*(?:现|特此|故|因此|所以)?(?:予以|申请|请)?(?:退回|拒绝|decline)[。.!！]*$", re.I)
_LEADING_COURTESY = re.compile(r"^(?:[\s,，。!！、]*(?:您好|你好|好的|抱歉|对不起|不好意思|sorry|hi|hello))+", re.I)
_TRAILING_SELF = re.compile(
    r"(?:我们|我单位|本单位|我局|我所|我司|我科|我队|我中心|我处|现|特此|故|因此|所以|只能|只好|予以|申请|建议|请|需要?|[\s,，、])+$"
)
_CLOSING_LINE = re.compile(
    r"^\s*(?:此致|敬礼|谢谢|多谢|感谢|祝好|顺祝.*|顺颂.*|thanks?(?:\s+you)?|best(?:\s+regards)?|regards|kind\s+regards|cheers)"
    r"[\s,，。.!！]*$",
    re.I,
)
_SPACES = re.compile(r"[ \t]+")
_BRACKET_PAIRS = {"(": ")", "（": "）", "[": "]", "【": "】", "「": "」", "『": "』"}


@dataclass(frozen=True)
class _Hit:
    line: int
    start: int
    end: int
    kind: str
    rule: _Rule
    note_from_start: bool  # the note begins at the words instead of after them


def read_intent(text: str, purpose: str) -> Intent:
    """The intent of a reply, read from its first unquoted non-empty lines.

    `text` may still hold quoted history: it is stripped here first. The earliest keyword
    decides (after negation: "不接收" declines, "尚未办结" is progress); acknowledgements such as
    "收到" / "OK" count only when nothing stronger is written. `purpose` is the purpose of the
    notice replied to: assignment, reminder, overdue, claim_list, lookback or meeting.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}; expected one of {sorted(PURPOSES)}")
    lines = strip_quoted(text).split("\n")
    opening = [number for number, line in enumerate(lines) if line.strip()][:_OPENING_LINES]
    hit = _decisive(_hits(lines, opening, _VOCABULARIES[purpose]))
    if purpose == "lookback":
        return _lookback_intent(lines, opening, hit)
    if hit is None:
        return Intent("unknown", note=_clean("\n".join(lines)))
    keyword = lines[hit.line][hit.start : hit.end]
    if hit.kind == "decline":
        return Intent("decline", reason=_decline_reason(lines, hit), keyword=keyword)
    return Intent(hit.kind, note=_note(lines, hit, from_keyword=hit.note_from_start), keyword=keyword)


def _hits(lines: list[str], opening: list[int], vocabulary: _Vocabulary) -> Iterator[_Hit]:
    for number in opening:
        folded = lines[number].translate(_FOLD)
        for match in vocabulary.regex.finditer(folded):
            rule = vocabulary.rules[int(match.lastgroup[1:])]
            hit = _interpret(folded, match.start(), match.end(), rule, number)
            if hit is not None:
                yield hit


def _interpret(folded: str, start: int, end: int, rule: _Rule, number: int) -> _Hit | None:
    """Apply a negation before or after the words, or a planning / asking clause around them."""
    before = _NEGATION_BEFORE.search(folded, max(0, start - 12), start)
    after = _NEGATION_AFTER.match(folded, end)
    clause = _CLAUSE.search(folded, 0, start)
    note_from_start = not rule.label
    if before or after:
        kind = rule.negated
        start = before.start() if before else start
        end = after.end() if after else end
        note_from_start = False  # "还没有完成，需延期": the note is what follows the negated words
    elif rule.hedged and _HEDGE.search(clause.group()):
        kind = rule.hedged
        start, note_from_start = clause.start(), True  # "预计周五前办结" is the whole note
    else:
        kind = rule.kind
    return _Hit(number, start, end, kind, rule, note_from_start) if kind else None


def _decisive(hits: Iterator[_Hit]) -> _Hit | None:
    """The earliest strong hit (the longest at one position), else the earliest weak one."""
    found = list(hits)
    pool = [hit for hit in found if not hit.rule.weak] or found
    return min(pool, key=lambda hit: (hit.line, hit.start, -hit.end), default=None)


def _paragraph_after(lines: list[str], number: int, column: int) -> str:
    """The rest of the line from `column` and the following lines up to a blank or closing one."""
    parts = [lines[number][column:]]
    for line in lines[number + 1 :]:
        if not line.strip() or _CLOSING_LINE.match(line):
            break
        parts.append(line)
    return "\n".join(parts)


def _note(lines: list[str], hit: _Hit, from_keyword: bool) -> str:
    return _clean(_paragraph_after(lines, hit.line, hit.start if from_keyword else hit.end))


def _decline_reason(lines: list[str], hit: _Hit) -> str:
    if hit.note_from_start:  # "不属于我单位职责…": the words are the reason
        return _TRAILING_DECLINE.sub("", _note(lines, hit, from_keyword=True))
    reason = _note(lines, hit, from_keyword=False)
    if reason:
        return reason
    # "因道路产权属于区交通局，我单位予以退回": the reason came first.
    before = _TRAILING_SELF.sub("", _LEADING_COURTESY.sub("", lines[hit.line][: hit.start]))
    before = _clean(before)
    return before if len(before) >= 4 else ""


def _clean(note: str) -> str:
    note = "\n".join(_SPACES.sub(" ", line).strip() for line in note[: NOTE_LIMIT * 2].split("\n"))
    note = _NOTE_LEADING.sub("", note)
    if note[:1] in _BRACKET_PAIRS and note.endswith(_BRACKET_PAIRS[note[0]]):  # "退回（不属于…）"
        note = note[1:-1]
    note = _NOTE_LABEL.sub("", note)
    note = _NOTE_TRAILING.sub("", note)
    return note[:NOTE_LIMIT].strip()


def _lookback_intent(lines: list[str], opening: list[int], hit: _Hit | None) -> Intent:
    rating = _decisive(_hits(lines, opening, _SATISFACTION_VOCABULARY))
    last = max(filter(None, [hit, rating]), key=lambda found: (found.line, found.end), default=None)
    if last is None:
        return Intent("unknown", note=_clean("\n".join(lines)))
    return Intent(
        hit.kind if hit else "unknown",
        note=_note(lines, last, from_keyword=False),
        satisfaction=rating.kind if rating else None,
        keyword=lines[hit.line][hit.start : hit.end] if hit else "",
    )
