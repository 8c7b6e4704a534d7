"""Official exports of a dialogue's questions: an Excel workbook and a Word summary.

Pure rendering from plain dataclasses: no database, no network. The caller masks anonymous
askers before building `ExportData`, so nothing here can leak a name.

The Word file follows the layout of Nghị định 30/2020/NĐ-CP, Phụ lục I (see TECH_NOTES §7), so
staff can attach it to the union's report to the People's Committee without re-formatting.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Cm, Length, Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "FORWARD_LATE",
    "FORWARD_ON_TIME",
    "FORWARD_OPEN",
    "FORWARD_OVERDUE",
    "STATUS_ANSWERED",
    "STATUS_ORDER",
    "STATUS_REJECTED",
    "ExportCluster",
    "ExportData",
    "ExportDepartment",
    "ExportForward",
    "department_rows",
    "sheet_title",
    "write_docx",
    "write_xlsx",
]

STATUS_ANSWERED = "Đã trả lời"
STATUS_REJECTED = "Không phù hợp"
STATUS_ORDER: tuple[str, ...] = ("Mới", "Đã duyệt", "Đã chuyển", STATUS_ANSWERED, STATUS_REJECTED)


FORWARD_ON_TIME = "Đúng hạn"
FORWARD_LATE = "Trả lời chậm"
FORWARD_OPEN = "Chưa trả lời"
FORWARD_OVERDUE = "Quá hạn, chưa trả lời"


@dataclass(frozen=True)
class ExportForward:
    """One department a cluster went to (storage/lifecycle.py), with its dates."""

    department: str
    role: str  # "Chủ trì" | "Phối hợp"
    deadline: date
    forwarded_on: date | None
    answered_on: date | None
    state: str  # one of FORWARD_ON_TIME, FORWARD_LATE, FORWARD_OPEN, FORWARD_OVERDUE
    answer: str = ""  # the department's written answer

    @property
    def overdue(self) -> bool:
        return self.state == FORWARD_OVERDUE


@dataclass(frozen=True)
class ExportDepartment:
    """One line of the annex: how a department answered what was forwarded to it."""

    name: str
    forwarded: int
    answered_on_time: int
    answered_late: int
    outstanding: int
    overdue: int  # of the outstanding, past their deadline


@dataclass(frozen=True)
class ExportCluster:
    topic: int  # topic number within the dialogue
    # Representative question, already made fit to publish by the caller
    # (bot.staff_tools.export_data): masked, or a case reference for a danger disclosure.
    text: str
    direct_count: int  # women who asked directly or supported it
    relayed_count: int  # members represented through commune leaders' relays
    communes: tuple[str, ...]  # xã/phường names
    department: str  # sở/ngành, "" if not yet forwarded
    deadline: date | None
    status: str  # Vietnamese label, one of STATUS_ORDER
    answer: str  # written answer, "" if none
    answered_by: str  # answering agency, "" if none
    urgent: bool = False
    number: int = 0  # the cluster number staff see (#12); 0: unknown
    receipts: tuple[str, ...] = ()  # receipt codes of its questions (none for a disclosure)
    official: bool = True  # `text` is staff's official wording (/noidung), not the masked raw
    forwards: tuple[ExportForward, ...] = ()  # lead first, then co-operating
    followup: str = ""  # after the dialogue: the commitment or the result, one line

    @property
    def total(self) -> int:
        return self.direct_count + self.relayed_count


@dataclass(frozen=True)
class ExportData:
    province: str  # "Lai Châu"
    governing_body: str  # upper line of the header's left column, e.g. "UBND TỈNH LAI CHÂU"
    issuing_body: str  # e.g. "HỘI LHPN TỈNH LAI CHÂU"
    dialogue_title: str  # "Đối thoại giữa Chủ tịch UBND tỉnh với phụ nữ tỉnh Lai Châu năm 2026"
    theme: str
    place: str  # for the date line, e.g. "Lai Châu"
    generated_on: date
    topics: tuple[tuple[int, str], ...]  # (number, name) in order
    clusters: tuple[ExportCluster, ...]
    answer_deadline: date | None = None
    signer_title: str = "TM. BAN THƯỜNG VỤ"  # "\n" starts a new line, e.g. "…\nCHỦ TỊCH"
    signer_name: str = ""
    departments: tuple[ExportDepartment, ...] = ()  # the annex, in the dialogue's order
    document_number: str = ""  # before "/BC-HPN"; "" leaves room for the clerk


# --------------------------------------------------------------------------- shared helpers


@dataclass(frozen=True)
class _Section:
    number: int | None  # None: clusters whose topic is not in ExportData.topics
    name: str
    clusters: tuple[ExportCluster, ...]

    @property
    def label(self) -> str:
        return self.name if self.number is None else f"{self.number}. {self.name}"


_UNCLASSIFIED = "Chưa phân loại"
# Characters XML 1.0 forbids; user text from chat apps can carry them and both openpyxl and
# lxml refuse to write them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    # NFC: decomposed Vietnamese (NFD from some keyboards) renders with detached marks in Word.
    return _XML_ILLEGAL.sub("", unicodedata.normalize("NFC", text))


def _one_line(text: str) -> str:
    return " ".join(_clean(text).split())


def _sort_clusters(clusters: Iterable[ExportCluster]) -> tuple[ExportCluster, ...]:
    # Biggest first; on ties urgent first; otherwise keep the caller's order (stable sort).
    return tuple(sorted(clusters, key=lambda c: (-c.total, not c.urgent)))


def _sections(data: ExportData) -> list[_Section]:
    numbers = [n for n, _ in data.topics]
    duplicates = sorted(n for n, k in Counter(numbers).items() if k > 1)
    if duplicates:
        raise ValueError(f"duplicate topic numbers: {duplicates}")
    sections = [
        _Section(n, name, _sort_clusters(c for c in data.clusters if c.topic == n))
        for n, name in data.topics
    ]
    # A cluster on a topic removed from config must still reach the report, not vanish.
    orphans = [c for c in data.clusters if c.topic not in set(numbers)]
    if orphans:
        sections.append(_Section(None, _UNCLASSIFIED, _sort_clusters(orphans)))
    return sections


def _ddmmyyyy(d: date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def _answered_share(clusters: Sequence[ExportCluster]) -> float:
    # Off-theme clusters are never answered, so they would only drag the figure down.
    relevant = [c for c in clusters if c.status != STATUS_REJECTED]
    if not relevant:
        return 0.0
    return sum(c.status == STATUS_ANSWERED for c in relevant) / len(relevant)


def _save_target(out: Path | BinaryIO) -> str | BinaryIO:
    return str(out) if isinstance(out, Path) else out


# --------------------------------------------------------------------------------- Excel

_XLSX_MAX_CELL = 32_767  # Excel refuses to open a workbook with a longer cell
_SUMMARY_SHEET = "Tổng hợp"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_MAX = 31

_TOPIC_COLUMNS: tuple[tuple[str, float], ...] = (
    ("STT", 6),
    ("Nội dung câu hỏi, kiến nghị", 55),
    ("Hỏi trực tiếp", 10),
    ("Qua chi hội", 10),
    ("Tổng số người", 10),
    ("Xã/phường", 20),
    ("Sở/ngành", 24),
    ("Hạn trả lời", 12),
    ("Trạng thái", 13),
    ("Khẩn", 7),
    ("Nội dung trả lời", 55),
    ("Cơ quan trả lời", 22),
    ("Số cụm", 8),
    ("Mã câu hỏi", 18),
    ("Sở phối hợp", 24),
    ("Ngày chuyển", 12),
    ("Ngày trả lời", 12),
    ("Theo dõi sau đối thoại", 40),
)
_DEPARTMENT_COLUMNS: tuple[tuple[str, float], ...] = (
    ("STT", 6),
    ("Số cụm", 8),
    ("Mã câu hỏi", 18),
    ("Nội dung câu hỏi, kiến nghị", 55),
    ("Vai trò", 10),
    ("Ngày chuyển", 12),
    ("Hạn trả lời", 12),
    ("Ngày trả lời", 12),
    ("Tình trạng", 16),
    ("Nội dung trả lời của sở, ngành", 55),
)
_ANNEX_HEADERS = ("Sở, ban, ngành", "Số nội dung được chuyển", "Trả lời đúng hạn",
                  "Trả lời chậm", "Chưa trả lời", "Trong đó quá hạn")
_SUMMARY_WIDTHS = (58, 14, 14, 14, 14, 14)
_DATE_FORMAT = "dd/mm/yyyy"
_LINE_PT = 15  # default row height of Calibri 11
_MAX_LINES = 27  # Excel caps a row at 409 pt
# Named explicitly: a font with no name renders in a serif fallback in LibreOffice.
_XL_FONT = "Calibri"
_BOLD = Font(name=_XL_FONT, bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_URGENT_FILL = PatternFill("solid", fgColor="FCE4E4")
_OVERDUE_FILL = PatternFill("solid", fgColor="F8CBAD")
_OVERDUE_FONT = Font(name=_XL_FONT, bold=True, color="9C0006")
_THIN = Side(style="thin", color="999999")
_GRID = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_HEADER_ALIGN = Alignment(wrap_text=True, horizontal="center", vertical="center")


def _cut(text: str, limit: int) -> str:
    # Cut at a word boundary when that keeps most of the text: "2. Môi trường, rác thải, nước"
    # reads better in a sheet tab than "2. Môi trường, rác thải, nước s".
    if len(text) > limit:
        head = text[: limit + 1]
        space = head.rfind(" ")
        text = head[:space] if space >= limit // 2 else text[:limit]
    return text.rstrip(" ,;.-'")


def sheet_title(label: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name for `label`; records it in `taken` (lower-cased).

    Excel compares sheet names case-insensitively, rejects []:*?/\\ and more than 31
    characters, and forbids a leading or trailing apostrophe.
    """
    cleaned = _SHEET_FORBIDDEN.sub("-", _one_line(label)).lstrip("' ")
    base = _cut(cleaned, len(cleaned)) or "Nhóm"
    name = _cut(base, _SHEET_MAX)
    suffix = 1
    while name.lower() in taken:
        suffix += 1
        tail = f" ({suffix})"
        name = _cut(base, _SHEET_MAX - len(tail)) + tail
    taken.add(name.lower())
    return name


def _put(ws: Worksheet, row: int, col: int, value: object, number_format: str = "") -> None:
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        cell.value = _clean(value)[:_XLSX_MAX_CELL]
        # A question typed as "=HYPERLINK(...)" must stay text, not become a live formula.
        cell.data_type = "s"
    else:
        cell.value = value
    if number_format:
        cell.number_format = number_format


def _style_header_row(ws: Worksheet, row: int, ncols: int) -> None:
    for col in range(1, ncols + 1):
        cell = ws.cell(row=row, column=col)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = _HEADER_ALIGN
        cell.border = _GRID


def _write_topic_sheet(ws: Worksheet, section: _Section) -> None:
    for col, (header, width) in enumerate(_TOPIC_COLUMNS, start=1):
        _put(ws, 1, col, header)
        ws.column_dimensions[get_column_letter(col)].width = width
    _style_header_row(ws, 1, len(_TOPIC_COLUMNS))
    widths = [width for _, width in _TOPIC_COLUMNS]
    _fit_height(ws, 1, widths)
    for index, c in enumerate(section.clusters, start=1):
        row = index + 1
        values: tuple[object, ...] = (
            index,
            _one_line(c.text),
            c.direct_count,
            c.relayed_count,
            c.total,
            ", ".join(_one_line(x) for x in c.communes),
            c.department,
            c.deadline,
            c.status,
            "Khẩn" if c.urgent else "",
            _clean(c.answer),
            c.answered_by,
            c.number or None,
            ", ".join(c.receipts),
            "; ".join(f.department for f in c.forwards if f.role != "Chủ trì"),
            min((f.forwarded_on for f in c.forwards if f.forwarded_on), default=None),
            _lead_answered(c),
            _one_line(c.followup),
        )
        for col, value in enumerate(values, start=1):
            _put(ws, row, col, value, _DATE_FORMAT if isinstance(value, date) else "")
            cell = ws.cell(row=row, column=col)
            cell.alignment = _WRAP_TOP
            cell.border = _GRID
            if c.urgent:
                cell.fill = _URGENT_FILL
        _fit_height(ws, row, widths)
    last_col = get_column_letter(len(_TOPIC_COLUMNS))
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{last_col}{len(section.clusters) + 1}"
    _print_setup(ws, section.label)


def _lead_answered(c: ExportCluster) -> date | None:
    lead = next((f for f in c.forwards if f.role == "Chủ trì"), None)
    return lead.answered_on if lead else None


def department_rows(data: ExportData, department: str
                    ) -> list[tuple[ExportCluster, ExportForward]]:
    """The clusters forwarded to one department, soonest deadline first (its Excel sheet)."""
    found = [(c, f) for c in data.clusters for f in c.forwards if f.department == department]
    return sorted(found, key=lambda cf: (cf[1].deadline, cf[0].number))


def _write_department_sheet(ws: Worksheet, data: ExportData, department: str) -> int:
    """One sheet per department: dates, state, overdue rows highlighted; how many rows."""
    for col, (header, width) in enumerate(_DEPARTMENT_COLUMNS, start=1):
        _put(ws, 1, col, header)
        ws.column_dimensions[get_column_letter(col)].width = width
    _style_header_row(ws, 1, len(_DEPARTMENT_COLUMNS))
    widths = [width for _, width in _DEPARTMENT_COLUMNS]
    _fit_height(ws, 1, widths)
    found = department_rows(data, department)
    for index, (c, f) in enumerate(found, start=1):
        row = index + 1
        values: tuple[object, ...] = (
            index, c.number or None, ", ".join(c.receipts), _one_line(c.text), f.role,
            f.forwarded_on, f.deadline, f.answered_on, f.state, _clean(f.answer),
        )
        for col, value in enumerate(values, start=1):
            _put(ws, row, col, value, _DATE_FORMAT if isinstance(value, date) else "")
            cell = ws.cell(row=row, column=col)
            cell.alignment = _WRAP_TOP
            cell.border = _GRID
            if f.overdue:
                cell.fill = _OVERDUE_FILL
        if f.overdue:
            ws.cell(row=row, column=9).font = _OVERDUE_FONT
        _fit_height(ws, row, widths)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(_DEPARTMENT_COLUMNS))}{len(found) + 1}"
    _print_setup(ws, department)
    return len(found)


def _write_department_table(ws: Worksheet, row: int, data: ExportData) -> int:
    _heading(ws, row, "THEO SỞ, BAN, NGÀNH")
    row += 1
    _summary_row(ws, row, _ANNEX_HEADERS)
    _style_header_row(ws, row, len(_ANNEX_HEADERS))
    _fit_height(ws, row, _SUMMARY_WIDTHS)
    for d in data.departments:
        row += 1
        _summary_row(ws, row, (d.name, d.forwarded, d.answered_on_time, d.answered_late,
                               d.outstanding, d.overdue), "0")
    return row + 1


def _lines(text: str, width: float) -> int:
    per_line = max(1, int(width))  # a width unit is one "0"; most letters are no wider
    return sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))


def _fit_height(ws: Worksheet, row: int, widths: Sequence[float]) -> None:
    # Neither openpyxl nor LibreOffice's import sizes wrapped rows, and Excel never does for
    # merged cells, so estimate the height instead of leaving one clipped line.
    # Only the columns that have a width: `ws[row]` would scan the whole sheet for its last
    # column on every row (quadratic: seconds for a thousand rows).
    [cells_of_row] = ws.iter_rows(min_row=row, max_row=row, max_col=len(widths))
    cells = zip(cells_of_row, widths, strict=False)
    lines = max((_lines(c.value, w) for c, w in cells if isinstance(c.value, str)), default=1)
    ws.row_dimensions[row].height = _LINE_PT * min(lines, _MAX_LINES)


def _print_setup(ws: Worksheet, heading: str, landscape: bool = True) -> None:
    # Staff print these for meetings: landscape A4, one page wide, header row on every page.
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.oddHeader.center.text = _clean(heading).replace("&", "&&")
    ws.oddFooter.center.text = "Trang &P"


def _summary_row(ws: Worksheet, row: int, values: Sequence[object], fmt: str = "") -> None:
    for col, value in enumerate(values, start=1):
        _put(ws, row, col, value, fmt if col > 1 and not isinstance(value, str) else "")


def _write_summary(ws: Worksheet, data: ExportData, sections: Sequence[_Section]) -> None:
    for col, width in enumerate(_SUMMARY_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    _put(ws, 1, 1, data.dialogue_title)
    ws["A1"].font = Font(name=_XL_FONT, bold=True, size=14)
    _put(ws, 2, 1, f"Chủ đề: {_one_line(data.theme)}")
    ws["A2"].font = Font(name=_XL_FONT, italic=True)
    for row in (1, 2):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
        ws.cell(row=row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
        _fit_height(ws, row, [sum(_SUMMARY_WIDTHS)])
    _put(ws, 3, 1, "Đơn vị tổng hợp")
    _put(ws, 3, 2, data.issuing_body)
    _put(ws, 4, 1, "Ngày tổng hợp")
    _put(ws, 4, 2, data.generated_on, _DATE_FORMAT)
    row = 5
    if data.answer_deadline is not None:
        _put(ws, row, 1, "Hạn trả lời chung")
        _put(ws, row, 2, data.answer_deadline, _DATE_FORMAT)
        row += 1
    row = _write_totals(ws, row + 1, data.clusters)
    row = _write_topic_table(ws, row + 1, sections)
    row = _write_status_table(ws, row + 1, data.clusters)
    if data.departments:
        _write_department_table(ws, row + 1, data)
    _print_setup(ws, data.dialogue_title, landscape=False)


def _heading(ws: Worksheet, row: int, text: str) -> None:
    _put(ws, row, 1, text)
    ws.cell(row=row, column=1).font = _BOLD


def _write_totals(ws: Worksheet, row: int, clusters: Sequence[ExportCluster]) -> int:
    _heading(ws, row, "TỔNG SỐ")
    lines: tuple[tuple[str, object, str], ...] = (
        ("Số nhóm câu hỏi, kiến nghị", len(clusters), "0"),
        ("Số phụ nữ hỏi trực tiếp", sum(c.direct_count for c in clusters), "#,##0"),
        ("Số hội viên qua chi hội", sum(c.relayed_count for c in clusters), "#,##0"),
        ("Tổng số người", sum(c.total for c in clusters), "#,##0"),
        ("Số nhóm đã trả lời", sum(c.status == STATUS_ANSWERED for c in clusters), "0"),
        ("Tỷ lệ đã trả lời (không tính nhóm không phù hợp)", _answered_share(clusters), "0.0%"),
        ("Số nhóm khẩn", sum(c.urgent for c in clusters), "0"),
    )
    for label, value, fmt in lines:
        row += 1
        _summary_row(ws, row, (label, value), fmt)
    return row + 1


def _write_topic_table(ws: Worksheet, row: int, sections: Sequence[_Section]) -> int:
    _heading(ws, row, "THEO NHÓM VẤN ĐỀ")
    row += 1
    headers = (
        "Nhóm vấn đề",
        "Số nhóm câu hỏi",
        "Hỏi trực tiếp",
        "Qua chi hội",
        "Tổng số người",
        "Đã trả lời",
    )
    _summary_row(ws, row, headers)
    _style_header_row(ws, row, len(headers))
    _fit_height(ws, row, _SUMMARY_WIDTHS)
    for s in sections:
        row += 1
        cs = s.clusters
        _summary_row(
            ws,
            row,
            (
                s.label,
                len(cs),
                sum(c.direct_count for c in cs),
                sum(c.relayed_count for c in cs),
                sum(c.total for c in cs),
                sum(c.status == STATUS_ANSWERED for c in cs),
            ),
            "#,##0",
        )
        ws.cell(row=row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
        _fit_height(ws, row, _SUMMARY_WIDTHS)
    return row + 1


def _write_status_table(ws: Worksheet, row: int, clusters: Sequence[ExportCluster]) -> int:
    _heading(ws, row, "THEO TRẠNG THÁI")
    row += 1
    _summary_row(ws, row, ("Trạng thái", "Số nhóm câu hỏi"))
    _style_header_row(ws, row, 2)
    _fit_height(ws, row, _SUMMARY_WIDTHS)
    counts = Counter(c.status for c in clusters)
    # Known statuses in workflow order, always listed (a zero is information); then any others.
    labels = [*STATUS_ORDER, *sorted(set(counts) - set(STATUS_ORDER))]
    for label in labels:
        row += 1
        _summary_row(ws, row, (label, counts.get(label, 0)), "0")
    return row + 1


def write_xlsx(data: ExportData, out: Path | BinaryIO) -> None:
    """Summary sheet "Tổng hợp", one filterable sheet per topic (biggest cluster first), then
    one per department forwarded anything (its clusters, dates, overdue rows in red)."""
    sections = _sections(data)
    wb = Workbook()
    summary = wb.active
    assert summary is not None  # a fresh Workbook always has one sheet
    summary.title = _SUMMARY_SHEET
    _write_summary(summary, data, sections)
    taken = {_SUMMARY_SHEET.lower()}
    for section in sections:
        _write_topic_sheet(wb.create_sheet(sheet_title(section.label, taken)), section)
    for d in data.departments:
        if d.forwarded:
            _write_department_sheet(wb.create_sheet(sheet_title(d.name, taken)), data, d.name)
    wb.properties.title = _clean(data.dialogue_title)
    wb.properties.creator = _clean(data.issuing_body)
    wb.save(_save_target(out))


# ---------------------------------------------------------------------------------- Word

_FONT = "Times New Roman"
_BODY_PT = 14
_HEADER_PT = 13
_TEXT_WIDTH = Mm(210 - 30 - 15)
_LEFT_COL = Cm(6.4)
_RIGHT_COL = Length(_TEXT_WIDTH - _LEFT_COL)
# Narrow cell margins so "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" (≈9.2 cm at 13 pt bold) stays on
# one line in the right column while the left one still fits "HỘI LHPN TỈNH …".
_CELL_PADDING = Cm(0.1)
_MOTTO = "Độc lập - Tự do - Hạnh phúc"
_MOTTO_WIDTH = Cm(6.0)  # measured with Liberation Serif Bold 14 (metric twin of TNR)
_BOLD_CAPS_CM_PER_CHAR = 0.27  # TNR bold 13 uppercase, measured on "HỘI LHPN TỈNH LAI CHÂU"
_DOC_CODE = "BC-HPN"  # báo cáo → BC (NĐ 30, Phụ lục III); the number is given at registration
_DOC_TYPE = "BÁO CÁO"  # agrees with the code
_DOC_SUBJECT = "Tổng hợp ý kiến, kiến nghị của cán bộ, hội viên, phụ nữ"
_RECIPIENTS = ("UBND tỉnh (b/c);", "Các sở, ban, ngành liên quan;", "Lưu: VT.")
# The Word summary goes to the People's Committee: off-theme questions are not forwarded.
_DOCX_EXCLUDED = frozenset({STATUS_REJECTED})
_PPR_AFTER_PBDR = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)


def _set_fonts(rpr: BaseOxmlElement) -> None:
    # w:ascii/w:hAnsi alone leave Vietnamese to the East-Asian slot in some Word setups; theme
    # attributes would override explicit names, so they go.
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), _FONT)


def _setup_styles(doc: DocxDocument) -> None:
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
        if rpr is not None:
            _set_fonts(rpr)
            lang = rpr.find(qn("w:lang"))
            if lang is not None:
                lang.set(qn("w:val"), "vi-VN")
    normal = doc.styles["Normal"]
    _set_fonts(normal.element.get_or_add_rPr())
    normal.font.size = Pt(_BODY_PT)
    fmt = normal.paragraph_format
    fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt.first_line_indent = Cm(1)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(6)
    fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    fmt.widow_control = True


def _setup_page(doc: DocxDocument) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    # NĐ 30: page numbers centred in the top margin, not on page 1.
    section.different_first_page_header_footer = True
    section.first_page_header.is_linked_to_previous = False
    par = section.header.paragraphs[0]
    _format(par, WD_ALIGN_PARAGRAPH.CENTER, space_after=0)
    _add_page_field(par)


def _add_page_field(par: Paragraph) -> None:
    run = _run(par, "", size=_BODY_PT)
    for kind, text in (
        ("begin", None),
        ("instr", " PAGE "),
        ("separate", None),
        ("text", "2"),
        ("end", None),
    ):
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        elif kind == "text":
            el = OxmlElement("w:t")
            el.text = text
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        run._r.append(el)


def _run(
    par: Paragraph, text: str, *, size: float = _BODY_PT, bold: bool = False, italic: bool = False
) -> Run:
    run = par.add_run(_clean(text))
    _set_fonts(run._r.get_or_add_rPr())
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    return run


def _format(
    par: Paragraph,
    align: WD_ALIGN_PARAGRAPH | None = None,
    *,
    indent: bool = False,
    space_after: float = 6,
    space_before: float = 0,
) -> Paragraph:
    fmt = par.paragraph_format
    if align is not None:
        fmt.alignment = align
    fmt.first_line_indent = None if indent else Cm(0)
    fmt.space_after = Pt(space_after)
    fmt.space_before = Pt(space_before)
    return par


def _centered(
    container: DocxDocument | _Cell,
    text: str,
    *,
    size: float = _BODY_PT,
    bold: bool = False,
    italic: bool = False,
    first: bool = False,
    space_after: float = 0,
    space_before: float = 0,
) -> Paragraph:
    par = container.paragraphs[0] if first else container.add_paragraph()
    _format(par, WD_ALIGN_PARAGRAPH.CENTER, space_after=space_after, space_before=space_before)
    lines = text.split("\n")
    for i, line in enumerate(lines):
        run = _run(par, line, size=size, bold=bold, italic=italic)
        if i < len(lines) - 1:
            run.add_break()  # inside the formatted run, so the break inherits the font
    return par


def _rule(container: DocxDocument | _Cell, length: Length, avail: Length) -> Paragraph:
    """A centred solid line `length` long: an empty, indented paragraph with a bottom border."""
    par = container.add_paragraph()
    side = Length(max(0, (avail - min(length, avail)) // 2))
    fmt = _format(par, WD_ALIGN_PARAGRAPH.CENTER, space_after=0).paragraph_format
    fmt.left_indent = fmt.right_indent = side
    fmt.line_spacing = Pt(2)  # exact height: keeps the line close to the text above
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pbdr = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    pbdr.append(bottom)
    par._p.get_or_add_pPr().insert_element_before(pbdr, *_PPR_AFTER_PBDR)
    return par


def _borderless_table(doc: DocxDocument, widths: Sequence[Length]) -> Table:
    table = doc.add_table(rows=1, cols=len(widths))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.insert_element_before(
        borders,
        "w:shd",
        "w:tblLayout",
        "w:tblCellMar",
        "w:tblLook",
        "w:tblCaption",
        "w:tblDescription",
        "w:tblPrChange",
    )
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:w"), str(_CELL_PADDING.twips))
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    tbl_pr.insert_element_before(
        margins, "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange"
    )
    # Word reads the cell widths, LibreOffice the grid: set both.
    for col, width in zip(table.columns, widths, strict=True):
        col.width = width
        for cell in col.cells:
            cell.width = width
    return table


def _place_date(place: str, d: date) -> str:
    # NĐ 30: zero-pad days below 10 and months 1-2 ("tháng 01"), not months 3-12.
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return f"{_one_line(place)}, ngày {d.day:02d} tháng {month} năm {d.year}"


def _add_letterhead(doc: DocxDocument, data: ExportData) -> None:
    table = _borderless_table(doc, (_LEFT_COL, _RIGHT_COL))
    left, right = table.rows[0].cells
    issuing = _one_line(data.issuing_body).upper()
    _centered(left, _one_line(data.governing_body).upper(), size=_HEADER_PT, first=True)
    _centered(left, issuing, size=_HEADER_PT, bold=True)
    # NĐ 30: a line 1/3-1/2 as long as the issuing body's name.
    estimated = Cm(len(issuing) * _BOLD_CAPS_CM_PER_CHAR * 0.4)
    _rule(left, Length(max(Cm(1.5), estimated)), Length(_LEFT_COL - _CELL_PADDING * 2))
    _centered(left, _doc_number(data), size=_HEADER_PT, space_before=6)
    _centered(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=_HEADER_PT, bold=True, first=True)
    _centered(right, _MOTTO, size=_BODY_PT, bold=True)
    _rule(right, _MOTTO_WIDTH, Length(_RIGHT_COL - _CELL_PADDING * 2))
    _centered(right, _place_date(data.place, data.generated_on), italic=True, space_before=6)


def _doc_number(data: ExportData) -> str:
    number = _one_line(data.document_number)
    return f"Số: {number}/{_DOC_CODE}" if number else f"Số:        /{_DOC_CODE}"


def _dialogue_phrase(title: str) -> str:
    """ "Hội nghị đối thoại giữa …" from a title that may or may not start with "Hội nghị"."""
    title = _one_line(title)
    if title.lower().startswith("hội nghị"):
        return "Hội nghị" + title[len("hội nghị") :]
    return f"Hội nghị {title[:1].lower()}{title[1:]}"


def _add_title(doc: DocxDocument, data: ExportData) -> None:
    _centered(doc, _DOC_TYPE, bold=True, space_before=18)
    subject = f"{_DOC_SUBJECT} gửi {_dialogue_phrase(data.dialogue_title)}"
    _centered(doc, subject, bold=True)
    _rule(doc, Cm(4), _TEXT_WIDTH)
    doc.add_paragraph().paragraph_format.space_after = Pt(6)


def _body(
    doc: DocxDocument, text: str = "", *, bold: bool = False, italic: bool = False
) -> Paragraph:
    par = doc.add_paragraph()
    if text:
        _run(par, text, bold=bold, italic=italic)
    return par


def _count_phrase(c: ExportCluster) -> str:
    parts = []
    if c.direct_count or not c.relayed_count:
        parts.append(f"{c.direct_count} người hỏi trực tiếp")
    if c.relayed_count:
        parts.append(f"{c.relayed_count} hội viên qua chi hội")
    phrase = ", ".join(parts)
    communes = ", ".join(_one_line(x) for x in c.communes if x.strip())
    return f"({phrase}; xã/phường: {communes})" if communes else f"({phrase})"


def _add_intro(
    doc: DocxDocument,
    data: ExportData,
    clusters: Sequence[ExportCluster],
    excluded: int,
    topic_count: int,
) -> None:
    theme = _one_line(data.theme)
    _body(
        doc,
        f"Thực hiện Kế hoạch tổ chức {_dialogue_phrase(data.dialogue_title)}"
        + (f" với chủ đề “{theme}”" if theme else "")
        + ", các cấp Hội đã tuyên truyền, lấy ý kiến, kiến nghị của cán bộ, hội viên, "
        "phụ nữ trực tiếp và thông qua các chi hội.",
    )
    communes = {_one_line(x) for c in clusters for x in c.communes if x.strip()}
    text = (
        f"Tính đến ngày {_ddmmyyyy(data.generated_on)}, đã tổng hợp được {len(clusters)} "
        f"nhóm ý kiến, kiến nghị của {sum(c.direct_count for c in clusters)} lượt phụ nữ "
        f"hỏi trực tiếp và {sum(c.relayed_count for c in clusters)} hội viên thông qua chi "
        f"hội, tại {len(communes)} xã, phường"
    )
    if excluded:
        text += f" (không tính {excluded} ý kiến không phù hợp với chủ đề)"
    _body(doc, f"{text}, phân thành {topic_count} nhóm vấn đề như sau:")
    answered = sum(c.status == STATUS_ANSWERED for c in clusters)
    if answered:
        _body(
            doc,
            f"Đến nay, đã có {answered}/{len(clusters)} nhóm ý kiến, kiến nghị được "
            "cơ quan chức năng trả lời bằng văn bản.",
        )
    deadlines = {f.deadline for c in clusters for f in c.forwards}
    if data.answer_deadline is not None:
        deadlines.add(data.answer_deadline)
    if len(deadlines) == 1:
        _body(doc, "Đề nghị các sở, ban, ngành trả lời bằng văn bản trước ngày "
              f"{_ddmmyyyy(deadlines.pop())}.")
    elif deadlines:
        # Items carry their own deadlines: the intro must not contradict them.
        _body(doc, "Đề nghị các sở, ban, ngành trả lời bằng văn bản theo thời hạn ghi tại "
              f"từng nội dung, chậm nhất ngày {_ddmmyyyy(max(deadlines))}.")


def _roman(n: int) -> str:
    out = []
    for value, numeral in (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ):
        count, n = divmod(n, value)
        out.append(numeral * count)
    return "".join(out)


def _add_cluster(doc: DocxDocument, index: int, c: ExportCluster) -> None:
    par = _body(doc)
    _run(par, f"{index}. ")
    if c.urgent:
        _run(par, "(Khẩn) ", bold=True)
    _run(par, _one_line(c.text) + " ")
    _run(par, _count_phrase(c), italic=True)
    lead = [f for f in c.forwards if f.role == "Chủ trì"]
    helpers = [f for f in c.forwards if f.role != "Chủ trì"]
    if lead:
        line = f"- Đơn vị chủ trì trả lời: {_forward_phrase(lead[0])}"
        if helpers:
            line += "; phối hợp: " + "; ".join(_forward_phrase(f) for f in helpers)
        _body(doc, line + ".")
    elif c.department:
        line = f"- Đơn vị được đề nghị trả lời: {_one_line(c.department)}"
        if c.deadline is not None:
            line += f" (hạn trả lời: {_ddmmyyyy(c.deadline)})"
        _body(doc, line + ".")
    answer = [p.strip() for p in _clean(c.answer).splitlines() if p.strip()]
    if answer:
        by = _one_line(c.answered_by or c.department)
        par = _body(doc)
        _run(par, f"- Trả lời{f' của {by}' if by else ''}: ", bold=True, italic=True)
        _run(par, answer[0])
        for extra in answer[1:]:
            _body(doc, extra)
    if c.followup:
        par = _body(doc)
        _run(par, "- Sau đối thoại: ", bold=True, italic=True)
        _run(par, _one_line(c.followup))


def _forward_phrase(f: ExportForward) -> str:
    return f"{_one_line(f.department)} (hạn {_ddmmyyyy(f.deadline)})"


def _add_sections(doc: DocxDocument, sections: Sequence[_Section]) -> None:
    for number, section in enumerate(sections, start=1):
        heading = _body(doc, f"{_roman(number)}. {_one_line(section.name)}", bold=True)
        heading.paragraph_format.keep_with_next = True
        if not section.clusters:
            _body(doc, "Chưa có ý kiến, kiến nghị thuộc nhóm này.", italic=True)
        for index, cluster in enumerate(section.clusters, start=1):
            _add_cluster(doc, index, cluster)


def _add_closing(doc: DocxDocument, data: ExportData) -> None:
    _body(
        doc,
        "Trên đây là tổng hợp ý kiến, kiến nghị của cán bộ, hội viên, phụ nữ gửi "
        f"{_dialogue_phrase(data.dialogue_title)}; kính đề nghị Ủy ban nhân dân tỉnh "
        "quan tâm, chỉ đạo các sở, ban, ngành nghiên cứu, trả lời./.",
    )
    table = _borderless_table(doc, (Cm(8.0), Length(_TEXT_WIDTH - Cm(8.0))))
    left, right = table.rows[0].cells
    heading = left.paragraphs[0]
    _format(heading, WD_ALIGN_PARAGRAPH.LEFT, space_after=0, space_before=6)
    _run(heading, "Nơi nhận:", size=12, bold=True, italic=True)
    for line in _RECIPIENTS:
        par = _format(left.add_paragraph(), WD_ALIGN_PARAGRAPH.LEFT, space_after=0)
        _run(par, f"- {line}", size=11)
    _centered(
        right,
        _one_line_keep_breaks(data.signer_title).upper(),
        bold=True,
        first=True,
        space_before=6,
    )
    # Room for the handwritten signature and the seal.
    _centered(right, _one_line(data.signer_name), bold=True, space_before=72)


def _add_annex(doc: DocxDocument, data: ExportData) -> None:
    """PHỤ LỤC: per department, what was forwarded and how it was answered."""
    par = _centered(doc, "PHỤ LỤC", bold=True)
    par.paragraph_format.page_break_before = True
    _centered(doc, "Tình hình trả lời ý kiến, kiến nghị theo sở, ban, ngành", bold=True)
    number = _one_line(data.document_number) or "     "
    _centered(doc, f"(Kèm theo Báo cáo số {number}/{_DOC_CODE} ngày "
                   f"{_ddmmyyyy(data.generated_on)} của {_one_line(data.issuing_body)})",
              italic=True, space_after=6)
    headers = ("STT", *_ANNEX_HEADERS)
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        _annex_cell(cell, text, bold=True)
    table.autofit = False
    totals = [0] * 5
    for i, d in enumerate(data.departments, start=1):
        figures = (d.forwarded, d.answered_on_time, d.answered_late, d.outstanding, d.overdue)
        totals = [t + f for t, f in zip(totals, figures, strict=True)]
        cells = table.add_row().cells
        for j, (cell, value) in enumerate(zip(cells, (str(i), d.name, *map(str, figures)),
                                                 strict=True)):
            _annex_cell(cell, value, left=j == 1)
    cells = table.add_row().cells
    for cell, value in zip(cells, ("", "Tổng cộng", *map(str, totals)), strict=True):
        _annex_cell(cell, value, bold=True)
    # Word reads the cell widths, LibreOffice the grid: set both (names need the room).
    number_col, name_col = Cm(1.2), Cm(5.6)
    figure = Length((_TEXT_WIDTH - number_col - name_col) // 5)
    for col, width in zip(table.columns, (number_col, name_col, *[figure] * 5), strict=True):
        col.width = width
        for cell in col.cells:
            cell.width = width


def _annex_cell(cell: _Cell, text: str, bold: bool = False, left: bool = False) -> None:
    par = cell.paragraphs[0]
    _format(par, WD_ALIGN_PARAGRAPH.LEFT if left else WD_ALIGN_PARAGRAPH.CENTER,
            space_after=0, space_before=2)
    _run(par, text, size=12, bold=bold)


def _one_line_keep_breaks(text: str) -> str:
    return "\n".join(_one_line(line) for line in text.splitlines() if line.strip())


def write_docx(data: ExportData, out: Path | BinaryIO) -> None:
    """The union's summary of questions for the dialogue, in the NĐ 30/2020 layout."""
    sections = _sections(data)
    kept = [
        _Section(s.number, s.name, tuple(c for c in s.clusters if c.status not in _DOCX_EXCLUDED))
        for s in sections
    ]
    # An unclassified section with only off-theme items would be an empty, puzzling heading.
    kept = [s for s in kept if s.number is not None or s.clusters]
    clusters = [c for s in kept for c in s.clusters]
    doc = Document()
    _setup_styles(doc)
    _setup_page(doc)
    _add_letterhead(doc, data)
    _add_title(doc, data)
    _add_intro(doc, data, clusters, len(data.clusters) - len(clusters), len(kept))
    _add_sections(doc, kept)
    _add_closing(doc, data)
    if data.departments:
        _add_annex(doc, data)
    doc.core_properties.title = f"{_DOC_TYPE} {_DOC_SUBJECT.lower()}"
    doc.core_properties.author = _clean(data.issuing_body)
    doc.core_properties.last_modified_by = _clean(data.issuing_body)
    doc.core_properties.comments = ""
    doc.save(_save_target(out))
