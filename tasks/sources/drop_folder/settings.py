"""Fixed knobs of the drop-folder source."""

import re

EXTENSIONS = (".csv", ".xlsx", ".jsonl")
# Tried in order. GB18030 is a superset of GBK and GB2312, the encodings of Excel on Chinese Windows.
ENCODINGS = ("utf-8-sig", "gb18030")
# `2026-11-02_12345热线.csv` and `2026-11-09_12345热线_重发.csv` are one source: `12345热线`.
FILE_NAME = re.compile(r"^(?:\d{4}-?\d{2}-?\d{2}[_ -]+)?(?P<source>[^_]+)")
