"""The report's tables as CSV and Parquet (written by DuckDB's COPY) and as one XLSX workbook
(xlsxwriter: DuckDB's excel extension would need a download at run time).

Government offices open these in Excel, which runs any cell that starts with = + - @ (or a tab
or carriage return) as a formula: "=HYPERLINK(...)" in a case title would become a live link.
So text cells that start with one of those are written as text: in the XLSX with Excel's quote
prefix (shown as typed, never evaluated), in the CSV behind a leading apostrophe (OWASP's advice;
Excel hides it). Parquet is for tools, not spreadsheets, and keeps the values as they are.
The CSV files carry a UTF-8 byte order mark, without which Excel on Chinese Windows reads them
as GBK and shows mojibake. Times are Beijing time, as everywhere people read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter

from liandong.clock import local
from tasks.report.labels import label

FORMULA_START = re.compile(r"^[=+\-@\t\r]")
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass
class Exports:
    csv: list[Path] = field(default_factory=list)
    parquet: list[Path] = field(default_factory=list)
    xlsx: Path | None = None


def export_tables(tables: dict[str, list[dict[str, Any]]], folder: Path, locale: str, sheet_names: dict[str, str],
                  created: datetime) -> Exports:
    """Each table to `<name>.csv` and `<name>.parquet`, and all of them to `report.xlsx`."""
    folder.mkdir(parents=True, exist_ok=True)
    exports = Exports()
    con = duckdb.connect()
    try:
        for name, rows in tables.items():
            data = arrow_table(rows)
            exports.parquet.append(_copy(con, data, folder / f"{name}.parquet", "(FORMAT parquet)"))
            exports.csv.append(_copy(con, csv_safe(data), folder / f"{name}.csv", "(FORMAT csv, HEADER)"))
    finally:
        con.close()
    for path in exports.csv:
        path.write_bytes(UTF8_BOM + path.read_bytes())
    exports.xlsx = write_xlsx(tables, folder / "report.xlsx", locale, sheet_names, created)
    return exports


def arrow_table(rows: list[dict[str, Any]]) -> pa.Table:
    flat = [{k: _cell(v) for k, v in row.items()} for row in rows]
    return pa.Table.from_pylist(flat) if flat else pa.table({"empty": pa.array([], pa.string())})


def _cell(value: Any) -> Any:
    """Lists (a meeting's chairs) become one text cell; warehouse times (UTC) Beijing time."""
    if isinstance(value, list):
        return "、".join(map(str, value))
    if isinstance(value, datetime):
        return local(value).replace(tzinfo=None)
    return value


def csv_safe(data: pa.Table) -> pa.Table:
    columns = []
    for column in data.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.match_substring_regex(column, FORMULA_START.pattern)
            column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
    return pa.table(columns, names=data.column_names)


def write_xlsx(tables: dict[str, list[dict[str, Any]]], path: Path, locale: str, sheet_names: dict[str, str],
               created: datetime) -> Path:
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False})
    workbook.set_properties({"title": path.stem, "created": created})
    formats = {
        "header": workbook.add_format({"bold": True, "bg_color": "#F3F4F6", "border": 1, "text_wrap": True}),
        "text": workbook.add_format({"quote_prefix": True}),
        "percent": workbook.add_format({"num_format": "0.0%"}),
        "decimal": workbook.add_format({"num_format": "0.0"}),
        "time": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
    }
    for name, rows in tables.items():
        sheet = workbook.add_worksheet(sheet_names.get(name, name)[:31])
        columns = list(rows[0]) if rows else []
        for c, column in enumerate(columns):
            sheet.write_string(0, c, label(column, locale), formats["header"])
            sheet.set_column(c, c, 14)
        for r, row in enumerate(rows, start=1):
            for c, column in enumerate(columns):
                _write_cell(sheet, r, c, column, row[column], formats)
        sheet.freeze_panes(1, 0)
    workbook.close()
    return path


def _write_cell(sheet, row: int, col: int, column: str, value: Any, formats: dict[str, Any]) -> None:
    value = _cell(value)
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        style = formats["percent"] if column.endswith("_rate") else None if isinstance(value, int) else formats["decimal"]
        sheet.write_number(row, col, value, style)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, value, formats["time"])
    else:
        text = str(value)
        sheet.write_string(row, col, text, formats["text"] if FORMULA_START.match(text) else None)


def _copy(con: duckdb.DuckDBPyConnection, data: pa.Table, path: Path, options: str) -> Path:
    con.register("export_table", data)
    try:
        # The path is ours (the report folder), quoted as a SQL string literal.
        con.execute(f"COPY export_table TO '{_sql_string(str(path))}' {options}")
    finally:
        con.unregister("export_table")
    return path


def _sql_string(text: str) -> str:
    return text.replace("'", "''")
