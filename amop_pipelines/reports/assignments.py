"""The Assignments: one row per device, a million and more, kept as a polars frame from the
database to the files.

A library call per cell (XlsxWriter's fastest, about 20,000 rows a second) made the million-device
report a minute long, so the rows are written column-wise instead: polars builds each sheet row's
XML (`<row>` of inline-string and number cells, the cell markup a spreadsheet writes itself) and
`fill_sheets` streams them into the Assignments sheets of a workbook that XlsxWriter wrote with
their header only (styles, filters, print setup and every other sheet stay XlsxWriter's). The
CSV beside the workbook comes from the same frame.

Text is escaped as XlsxWriter escapes it (XML's &, < and >, control characters as _xHHHH_,
leading or trailing blanks preserved), after the formula guard (`reports.formulas.safe_text`).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import polars as pl
from xlsxwriter.utility import xl_col_to_name

from amop_pipelines.reports.formulas import safe_text

# frame column -> the header a reader sees, in sheet order (the CSV's too)
COLUMNS = {
    "iccid": "ICCID",
    "msisdn": "MSISDN",
    "communication_plan": "Communication plan",
    "current_plan": "Current plan",
    "recommended_plan": "Recommended plan",
    "changed": "Changed",
    "usage_mb": "Usage MB (to date)",
    "projected_mb": "Projected MB",
    "cost_before": "Cost before",
    "cost_after": "Cost after",
}
TEXT = ["iccid", "msisdn", "communication_plan", "current_plan", "recommended_plan"]
MEGABYTES = ["usage_mb", "projected_mb"]
MONEY = ["cost_before", "cost_after"]
# exact to the database's columns: NUMERIC(18, 6) megabytes, NUMERIC(14, 4) money
SCHEMA: dict[str, pl.DataType] = {
    **dict.fromkeys(TEXT, pl.String()),
    **dict.fromkeys(MEGABYTES, pl.Decimal(18, 6)),
    **dict.fromkeys(MONEY, pl.Decimal(14, 4)),
}
CHUNK_ROWS = 50_000  # sheet rows built and compressed at a time (about 30 MB of XML)


@dataclass
class AssignmentRow:
    """One device's assignment, for callers holding rows rather than a frame (`assignments_frame`)."""

    iccid: str
    msisdn: str | None
    communication_plan: str
    current_plan: str | None
    recommended_plan: str
    usage_mb: Decimal
    projected_mb: Decimal
    cost_before: Decimal | None
    cost_after: Decimal

    @property
    def changed(self) -> bool:
        return self.current_plan != self.recommended_plan


def assignments_frame(rows: Iterable[AssignmentRow]) -> pl.DataFrame:
    """Rows as the frame the report writes."""
    return pl.DataFrame(
        [[getattr(row, name) for name in SCHEMA] for row in rows], schema=SCHEMA, orient="row"
    )


def in_report_order(frame: pl.DataFrame) -> pl.DataFrame:
    """The report's rows: the changed devices first, then by ICCID; a Changed column; text that a
    spreadsheet would take for a formula kept as text."""
    changed = pl.col("current_plan").ne_missing(pl.col("recommended_plan"))
    return (
        frame.cast(SCHEMA)  # type: ignore[arg-type]
        .with_columns(changed=changed)
        .sort(["changed", "iccid"], descending=[True, False])
        .with_columns(
            *(safe_text(name) for name in TEXT),
            changed=pl.when("changed").then(pl.lit("yes")).otherwise(pl.lit("no")),
        )
        .select(list(COLUMNS))
    )


def write_csv(rows: pl.DataFrame, path: Path) -> None:
    """The rows (in report order) as CSV, with the sheet's header; line ends as Python's csv."""
    rows.rename(COLUMNS).write_csv(path, line_terminator="\r\n", quote_style="necessary")


# --- the sheet rows as XML -------------------------------------------------------------------

_ESCAPED_ESCAPE = r"(_x[0-9a-fA-F]{4}_)"  # a literal _xHHHH_ would read as an escape: its _ escaped
_CONTROL = [code for code in range(32) if code not in (9, 10)]  # tab and line feed stay as they are
_CONTROL_PATTERN = "[" + "".join(f"\\x{code:02x}" for code in _CONTROL) + "]"


def _xml_text(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A text column escaped for a `<t>` element."""
    text = pl.col(name).str.replace_all(_ESCAPED_ESCAPE, "_x005F$1")
    if frame[name].str.contains(_CONTROL_PATTERN).any():  # rare: only then the 30 passes
        for code in _CONTROL:
            text = text.str.replace_all(chr(code), f"_x{code:04X}_", literal=True)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = text.str.replace_all(char, entity, literal=True)
    return text


def _row_xml(frame: pl.DataFrame, styles: Mapping[str, int]) -> pl.Expr:
    """Each row's `<row>` element; a null is no cell. Expects the row number in column `_r`."""
    r = pl.col("_r")
    cells = []
    for index, name in enumerate(COLUMNS):
        ref = pl.concat_str([pl.lit(f'<c r="{xl_col_to_name(index)}'), r])
        if name in SCHEMA and name not in TEXT:  # a number (its format from `styles`)
            style = f' s="{styles[name]}"' if name in styles else ""
            value = pl.col(name).cast(pl.String)
            cells.append(pl.concat_str([ref, pl.lit(f'"{style}><v>'), value, pl.lit("</v></c>")]))
            continue
        text = _xml_text(frame, name)
        preserve = (
            pl.when(pl.col(name).str.contains(r"^\s|\s$"))
            .then(pl.lit(' xml:space="preserve"'))
            .otherwise(pl.lit(""))
        )
        cells.append(
            pl.concat_str(
                [ref, pl.lit('" t="inlineStr"><is><t'), preserve, pl.lit(">"), text, pl.lit("</t></is></c>")]
            )
        )
    return pl.concat_str(
        [pl.concat_str([pl.lit('<row r="'), r, pl.lit('">')]), *cells, pl.lit("</row>")], ignore_nulls=True
    )


def sheet_rows(rows: pl.DataFrame, first_row: int, styles: Mapping[str, int]) -> Iterator[bytes]:
    """The rows as sheet XML, the first numbered `first_row` (1-based), in chunks."""
    expression = _row_xml(rows, styles)
    for offset in range(0, rows.height, CHUNK_ROWS):
        chunk = rows.slice(offset, CHUNK_ROWS)
        start = first_row + offset
        numbered = chunk.with_columns(_r=pl.int_range(start, start + pl.len()).cast(pl.String))
        yield "".join(numbered.select(expression).to_series()).encode()


# --- the workbook's Assignments sheets filled in -----------------------------------------------

_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DOCUMENT_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part in the package, as the workbook and its relationships name them."""
    targets = {
        rel.get("Id"): rel.get("Target", "")
        for rel in ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels")).iter(
            f"{_RELATIONSHIPS}Relationship"
        )
    }
    parts = {}
    for sheet in ElementTree.fromstring(book.read("xl/workbook.xml")).iter(f"{_MAIN}sheet"):
        target = targets[sheet.get(_DOCUMENT_RELATIONSHIP)]
        parts[sheet.get("name", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return parts


@dataclass
class SheetFill:
    """Rows to append to a sheet after the rows it has (its header)."""

    rows: Iterable[bytes]  # `<row>` elements
    last_row: int  # the sheet's last row number once filled
    last_column: str  # its last column's letter


def fill_sheets(source: Path, target: Path, fills: Mapping[str, SheetFill]) -> None:
    """Copy the workbook `source` to `target`, the named sheets' rows appended to their sheetData
    and their dimension made to cover them. Every other part is copied as it is."""
    with zipfile.ZipFile(source) as book, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        sheets = _sheet_parts(book)
        if missing := sorted(set(fills) - set(sheets)):
            raise ValueError(f"the workbook has no sheet {missing}")
        parts = {sheets[name]: fill for name, fill in fills.items()}
        for info in book.infolist():
            data = book.read(info)
            fill = parts.get(info.filename)
            if fill is None:
                out.writestr(info, data)
                continue
            head, end, tail = data.partition(b"</sheetData>")
            if not end:
                raise ValueError(f"{info.filename} has no rows to append to")
            head = re.sub(
                rb'<dimension ref="[^"]*"/>',
                f'<dimension ref="A1:{fill.last_column}{fill.last_row}"/>'.encode(),
                head,
                count=1,
            )
            with out.open(info.filename, "w", force_zip64=True) as stream:
                stream.write(head)
                for chunk in fill.rows:
                    stream.write(chunk)
                stream.write(end + tail)
