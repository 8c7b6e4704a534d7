"""Excel and Word exports, checked the way union staff would look at the files."""

from __future__ import annotations

import io
import unicodedata
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from openpyxl.worksheet.worksheet import Worksheet

from bot.exports import (
    STATUS_REJECTED,
    ExportCluster,
    ExportData,
    sheet_title,
    write_docx,
    write_xlsx,
)

TOPICS = (
    (1, "Kinh tế, việc làm, sinh kế, khởi nghiệp, tiếp cận vốn, ứng dụng khoa học kỹ thuật"),
    (2, "Môi trường, rác thải, nước sạch, phòng chống thiên tai, biến đổi khí hậu"),
    (3, "Bảo vệ phụ nữ, trẻ em; bạo lực gia đình, tảo hôn, hôn nhân cận huyết"),
)
SHEETS = [
    "Tổng hợp",
    "1. Kinh tế, việc làm, sinh kế",
    "2. Môi trường, rác thải, nước",
    "3. Bảo vệ phụ nữ, trẻ em; bạo",
]
LONG = (
    "Đề nghị tỉnh có chính sách hỗ trợ phụ nữ dân tộc thiểu số vùng cao tiếp cận vốn vay ưu đãi "
    "để phát triển chăn nuôi, trồng cây dược liệu, vì thủ tục vay còn phức tạp, nhiều chị em "
    "không biết chữ phổ thông nên không tự hoàn thiện hồ sơ được và mất nhiều thời gian đi lại."
)
DEADLINE = date(2026, 7, 25)
ANSWER = "Hội viên được vay tối đa 100 triệu đồng qua tổ tiết kiệm và vay vốn."
URGENT = "Chị gái tôi bị chồng đánh thường xuyên, cần giúp đỡ gấp"
REJECTED = "Hỏi về giá xăng dầu tháng này"
FORMULA = '=HYPERLINK("http://example.com","bấm vào")'


def cluster(topic: int, text: str, direct: int, relayed: int, **kw: object) -> ExportCluster:
    fields: dict[str, object] = {
        "communes": ("Bình Lư",),
        "department": "",
        "deadline": None,
        "status": "Mới",
        "answer": "",
        "answered_by": "",
    }
    fields.update(kw)
    return ExportCluster(topic, text, direct, relayed, **fields)  # type: ignore[arg-type]


CLUSTERS = (
    # Deliberately not in count order: the exports must sort.
    cluster(1, FORMULA, 1, 0),
    cluster(1, LONG, 3, 0, communes=("Mường Tè",)),
    cluster(
        1,
        "Làm thế nào để vay vốn ưu đãi khởi nghiệp?",
        12,
        30,
        communes=("Bình Lư", "Tân Phong"),
        department="Ngân hàng Chính sách xã hội tỉnh",
        deadline=DEADLINE,
        status="Đã trả lời",
        answer=ANSWER,
        answered_by="Chi nhánh NHCSXH tỉnh Lai Châu",
    ),
    cluster(2, "Rác thải nhựa ven suối chưa có nơi thu gom", 7, 0, status="Đã duyệt"),
    cluster(
        2,
        "Nước sạch cho bản Nậm Cuổi mùa khô thiếu trầm trọng",
        5,
        40,
        communes=("Sìn Hồ",),
        department="Sở Nông nghiệp và Môi trường",
        deadline=DEADLINE,
        status="Đã chuyển",
    ),
    cluster(3, URGENT, 1, 0, communes=("Tam Đường",), status="Đã duyệt", urgent=True),
    cluster(3, "Tình trạng tảo hôn ở bản còn nhiều", 4, 25, communes=("Phong Thổ",)),
    cluster(3, REJECTED, 2, 0, status=STATUS_REJECTED),
)


def make_data(**kw: object) -> ExportData:
    data = ExportData(
        province="Lai Châu",
        governing_body="UBND TỈNH LAI CHÂU",
        issuing_body="HỘI LHPN TỈNH LAI CHÂU",
        dialogue_title="Đối thoại giữa Chủ tịch UBND tỉnh với phụ nữ tỉnh Lai Châu năm 2026",
        theme="Phát huy vai trò của Phụ nữ trong thích ứng với biến đổi khí hậu",
        place="Lai Châu",
        generated_on=date(2026, 3, 5),
        topics=TOPICS,
        clusters=CLUSTERS,
        answer_deadline=DEADLINE,
        signer_title="TM. BAN THƯỜNG VỤ\nChủ tịch",
        signer_name="Nguyễn Thị Hoa",
    )
    return replace(data, **kw)


# ----------------------------------------------------------------------------------- Excel


@pytest.fixture
def workbook(tmp_path: Path) -> openpyxl.Workbook:
    path = tmp_path / "tong-hop.xlsx"
    write_xlsx(make_data(), path)
    return openpyxl.load_workbook(path)


def rows(ws: Worksheet) -> list[dict[str, object]]:
    header = [c.value for c in ws[1]]
    return [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]


def test_xlsx_summary_then_one_sheet_per_topic(workbook: openpyxl.Workbook) -> None:
    assert workbook.sheetnames == SHEETS


def test_xlsx_topic_sheets_have_frozen_header_and_filter(workbook: openpyxl.Workbook) -> None:
    for name in SHEETS[1:]:
        ws = workbook[name]
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:L{ws.max_row}"
        assert [c.value for c in ws[1]][:5] == [
            "STT",
            "Nội dung câu hỏi, kiến nghị",
            "Hỏi trực tiếp",
            "Qua chi hội",
            "Tổng số người",
        ]
        assert ws.column_dimensions["B"].width >= 40  # question text readable without resizing
        assert ws["B2"].alignment.wrap_text


def test_xlsx_counts_are_numbers_sorted_biggest_first(workbook: openpyxl.Workbook) -> None:
    sheet1 = rows(workbook[SHEETS[1]])
    assert [r["Tổng số người"] for r in sheet1] == [42, 3, 1]
    assert [r["STT"] for r in sheet1] == [1, 2, 3]
    for name in SHEETS[1:]:
        for r in rows(workbook[name]):
            direct, relayed, total = r["Hỏi trực tiếp"], r["Qua chi hội"], r["Tổng số người"]
            assert isinstance(direct, int) and isinstance(relayed, int)
            assert total == direct + relayed


def test_xlsx_rows_carry_cluster_details(workbook: openpyxl.Workbook) -> None:
    top = rows(workbook[SHEETS[1]])[0]
    assert top["Nội dung câu hỏi, kiến nghị"] == "Làm thế nào để vay vốn ưu đãi khởi nghiệp?"
    assert top["Xã/phường"] == "Bình Lư, Tân Phong"
    assert top["Sở/ngành"] == "Ngân hàng Chính sách xã hội tỉnh"
    assert top["Trạng thái"] == "Đã trả lời"
    assert top["Nội dung trả lời"] == ANSWER
    assert top["Cơ quan trả lời"] == "Chi nhánh NHCSXH tỉnh Lai Châu"
    urgent = [r for r in rows(workbook[SHEETS[3]]) if r["Nội dung câu hỏi, kiến nghị"] == URGENT]
    assert urgent[0]["Khẩn"] == "Khẩn"


def test_xlsx_deadline_is_a_real_date_cell(workbook: openpyxl.Workbook) -> None:
    cell = workbook[SHEETS[1]]["H2"]
    assert cell.is_date
    assert cell.value == datetime(2026, 7, 25)
    assert cell.number_format == "dd/mm/yyyy"
    assert workbook[SHEETS[1]]["H3"].value is None  # not forwarded yet: blank, not "None"


def test_xlsx_formula_like_question_stays_text(workbook: openpyxl.Workbook) -> None:
    cell = workbook[SHEETS[1]]["B4"]
    assert cell.value == FORMULA
    assert cell.data_type == "s"


def summary_values(ws: Worksheet) -> dict[str, object]:
    return {r[0]: r[1] for r in ws.iter_rows(max_col=2, values_only=True) if r[0]}


def test_xlsx_summary_sheet_totals(workbook: openpyxl.Workbook) -> None:
    ws = workbook["Tổng hợp"]
    assert ws["A1"].value == make_data().dialogue_title
    assert "Phát huy vai trò" in ws["A2"].value
    values = summary_values(ws)
    assert values["Ngày tổng hợp"] == datetime(2026, 3, 5)
    assert values["Số nhóm câu hỏi, kiến nghị"] == 8
    assert values["Số phụ nữ hỏi trực tiếp"] == 35
    assert values["Số hội viên qua chi hội"] == 95
    assert values["Tổng số người"] == 130
    assert values["Số nhóm đã trả lời"] == 1
    # 1 answered of the 7 clusters that are on theme.
    assert values["Tỷ lệ đã trả lời (không tính nhóm không phù hợp)"] == pytest.approx(1 / 7)
    assert values["Số nhóm khẩn"] == 1
    assert values[f"1. {TOPICS[0][1]}"] == 3  # clusters in topic 1
    assert values["Mới"] == 3
    assert values["Đã duyệt"] == 2
    assert values[STATUS_REJECTED] == 1


def test_xlsx_cluster_on_unknown_topic_is_not_lost(tmp_path: Path) -> None:
    orphan = cluster(9, "Câu hỏi thuộc nhóm đã bị xoá khỏi cấu hình", 2, 0)
    out = io.BytesIO()
    write_xlsx(make_data(clusters=(*CLUSTERS, orphan)), out)
    wb = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert wb.sheetnames[-1] == "Chưa phân loại"
    assert wb["Chưa phân loại"]["B2"].value == orphan.text


def test_xlsx_with_no_clusters_still_has_all_sheets(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    write_xlsx(make_data(clusters=()), path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == SHEETS
    assert wb[SHEETS[1]].max_row == 1
    assert summary_values(wb["Tổng hợp"])["Số nhóm câu hỏi, kiến nghị"] == 0


def test_sheet_title_is_valid_and_unique() -> None:
    taken = {"tổng hợp"}
    names = [
        sheet_title("1. Y tế/giáo dục: [học nghề]*?", taken),
        sheet_title("Tổng hợp", taken),
        sheet_title("2. " + "Chuyển đổi số " * 5, taken),
        sheet_title("2. " + "CHUYỂN ĐỔI SỐ " * 5, taken),
        sheet_title("'---'", taken),
    ]
    assert names[0] == "1. Y tế-giáo dục- -học nghề"
    assert names[1] == "Tổng hợp (2)"
    assert names[2] == "2. Chuyển đổi số Chuyển đổi số"
    assert names[3] == "2. CHUYỂN ĐỔI SỐ CHUYỂN ĐỔI (2)"
    assert names[4] == "Nhóm"
    for name in names:
        assert 0 < len(name) <= 31
        assert not set(name) & set("[]:*?/\\")
        assert not name.startswith("'") and not name.endswith("'")
    assert len({n.lower() for n in names}) == len(names)


def test_duplicate_topic_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate topic"):
        write_xlsx(make_data(topics=((*TOPICS, (1, "Trùng")))), io.BytesIO())


# ------------------------------------------------------------------------------------ Word


@pytest.fixture
def document(tmp_path: Path) -> docx.document.Document:
    path = tmp_path / "tong-hop.docx"
    write_docx(make_data(), path)
    return docx.Document(str(path))


def body_text(doc: docx.document.Document) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


def test_docx_page_is_a4_portrait_with_nd30_margins(document: docx.document.Document) -> None:
    section = document.sections[0]
    expected = {
        "page_width": Mm(210),
        "page_height": Mm(297),
        "top_margin": Mm(20),
        "bottom_margin": Mm(20),
        "left_margin": Mm(30),
        "right_margin": Mm(15),
    }
    for attr, value in expected.items():
        assert abs(getattr(section, attr) - value) < Mm(0.1), attr


def test_docx_letterhead_has_bodies_motto_and_date(document: docx.document.Document) -> None:
    left, right = document.tables[0].rows[0].cells
    lines = [p.text for p in left.paragraphs if p.text]
    assert lines[:2] == ["UBND TỈNH LAI CHÂU", "HỘI LHPN TỈNH LAI CHÂU"]
    assert lines[2].startswith("Số:") and "/BC-" in lines[2]
    governing, issuing = (left.paragraphs[i].runs[0] for i in (0, 1))
    assert not governing.bold and governing.font.size == Pt(13)
    assert issuing.bold and issuing.font.size == Pt(13)
    right_pars = [p for p in right.paragraphs if p.text]
    assert [p.text for p in right_pars] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Lai Châu, ngày 05 tháng 3 năm 2026",
    ]
    assert right_pars[0].runs[0].bold and right_pars[1].runs[0].bold
    assert right_pars[1].runs[0].font.size == Pt(14)
    assert right_pars[2].runs[0].italic


def test_docx_letterhead_table_is_borderless(document: docx.document.Document) -> None:
    borders = document.tables[0]._tbl.tblPr.find(qn("w:tblBorders"))
    assert borders is not None
    assert {b.get(qn("w:val")) for b in borders} == {"nil"}


def test_docx_lines_under_issuing_body_and_motto(document: docx.document.Document) -> None:
    for cell in document.tables[0].rows[0].cells:
        border = f"./{qn('w:pPr')}/{qn('w:pBdr')}/{qn('w:bottom')}"
        ruled = [p for p in cell.paragraphs if p._p.find(border) is not None]
        assert len(ruled) == 1


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 5), "Lai Châu, ngày 05 tháng 01 năm 2026"),
        (date(2026, 2, 28), "Lai Châu, ngày 28 tháng 02 năm 2026"),
        (date(2026, 11, 9), "Lai Châu, ngày 09 tháng 11 năm 2026"),
    ],
)
def test_docx_date_line_pads_like_nd30(day: date, expected: str) -> None:
    out = io.BytesIO()
    write_docx(make_data(generated_on=day), out)
    right = docx.Document(io.BytesIO(out.getvalue())).tables[0].rows[0].cells[1]
    assert expected in [p.text for p in right.paragraphs]


def test_docx_uses_times_new_roman_everywhere(document: docx.document.Document) -> None:
    normal = document.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:ascii")) == "Times New Roman"
    assert normal.get(qn("w:eastAsia")) == "Times New Roman"
    runs = [r for p in document.paragraphs for r in p.runs]
    runs += [r for t in document.tables for c in t._cells for p in c.paragraphs for r in p.runs]
    assert len(runs) > 30
    for run in runs:
        fonts = run._r.rPr.rFonts
        assert fonts.get(qn("w:hAnsi")) == "Times New Roman", run.text
        assert fonts.get(qn("w:eastAsia")) == "Times New Roman", run.text


def test_docx_body_is_14pt_justified_with_indent(document: docx.document.Document) -> None:
    normal = document.styles["Normal"]
    assert normal.font.size == Pt(14)
    fmt = normal.paragraph_format
    assert fmt.alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.JUSTIFY
    assert abs(fmt.first_line_indent - Cm(1)) < Cm(0.01)
    assert fmt.space_after == Pt(6)


def test_docx_title_and_summary_line(document: docx.document.Document) -> None:
    pars = [p for p in document.paragraphs if p.text]
    title, subject = pars[0], pars[1]
    assert title.text == "TỔNG HỢP"
    assert title.runs[0].bold
    assert title.alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
    assert subject.text == (
        "Ý kiến, kiến nghị của cán bộ, hội viên, phụ nữ gửi Hội nghị đối thoại giữa Chủ tịch "
        "UBND tỉnh với phụ nữ tỉnh Lai Châu năm 2026"
    )
    assert all(r.bold for r in subject.runs)


def test_docx_intro_states_totals_without_off_theme_items(
    document: docx.document.Document,
) -> None:
    text = body_text(document)
    # 7 on-theme clusters: 33 direct (35 minus the 2 of the rejected one), 95 relayed.
    assert "đã tổng hợp được 7 nhóm ý kiến, kiến nghị của 33 lượt phụ nữ" in text
    assert "95 hội viên thông qua chi hội" in text
    assert "không tính 1 ý kiến không phù hợp" in text
    assert "trước ngày 25/07/2026" in text


def test_docx_topic_sections_in_order(document: docx.document.Document) -> None:
    headings = [p.text for p in document.paragraphs if p.text.startswith(("I.", "II.", "III."))]
    romans = ("I", "II", "III")
    assert headings == [f"{r}. {name}" for r, (_, name) in zip(romans, TOPICS, strict=True)]
    for p in document.paragraphs:
        if p.text in headings:
            assert p.runs[0].bold


def test_docx_lists_every_on_theme_cluster_biggest_first(
    document: docx.document.Document,
) -> None:
    text = body_text(document)
    for c in CLUSTERS:
        if c.status == STATUS_REJECTED:
            assert c.text not in text  # off-theme items are not sent to the People's Committee
        else:
            assert c.text in text, c.text
    topic1 = [CLUSTERS[2].text, LONG, FORMULA]
    positions = [text.index(t) for t in topic1]
    assert positions == sorted(positions)
    assert "1. Làm thế nào để vay vốn" in text
    assert "2. (Khẩn) " + URGENT in text


def test_docx_cluster_shows_counts_department_and_answer(
    document: docx.document.Document,
) -> None:
    text = body_text(document)
    counts = "(12 người hỏi trực tiếp, 30 hội viên qua chi hội; xã/phường: Bình Lư, Tân Phong)"
    assert counts in text
    assert "(3 người hỏi trực tiếp; xã/phường: Mường Tè)" in text
    assert "Ngân hàng Chính sách xã hội tỉnh (hạn trả lời: 25/07/2026)" in text
    assert f"Trả lời của Chi nhánh NHCSXH tỉnh Lai Châu: {ANSWER}" in text


def test_docx_page_numbers_from_page_two(document: docx.document.Document) -> None:
    section = document.sections[0]
    assert section.different_first_page_header_footer
    instr = qn("w:instrText")
    header_fields = [e.text for e in section.header._element.iter(instr)]
    assert [f.strip() for f in header_fields] == ["PAGE"]
    assert section.header.paragraphs[0].alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
    assert not list(section.first_page_header._element.iter(instr))


def test_docx_recipients_and_signature(document: docx.document.Document) -> None:
    left, right = document.tables[-1].rows[0].cells
    heading = left.paragraphs[0].runs[0]
    assert heading.text == "Nơi nhận:"
    assert heading.bold and heading.italic and heading.font.size == Pt(12)
    assert all(r.font.size == Pt(11) for p in left.paragraphs[1:] for r in p.runs)
    assert left.paragraphs[-1].text.startswith("- Lưu")
    signer = [p for p in right.paragraphs if p.text]
    assert signer[0].text == "TM. BAN THƯỜNG VỤ\nCHỦ TỊCH"
    assert signer[-1].text == "Nguyễn Thị Hoa"
    assert all(r.bold for p in signer for r in p.runs if r.text)


def test_exports_strip_control_characters_and_compose_vietnamese(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Hỗ trợ nước sạch")
    messy = cluster(2, f"{decomposed}\x00 cho\x07 bản Nà", 1, 0)
    data = make_data(clusters=(messy,))
    write_docx(data, tmp_path / "a.docx")
    write_xlsx(data, tmp_path / "a.xlsx")
    assert "Hỗ trợ nước sạch cho bản Nà" in body_text(docx.Document(str(tmp_path / "a.docx")))
    ws = openpyxl.load_workbook(tmp_path / "a.xlsx")[SHEETS[2]]
    assert ws["B2"].value == "Hỗ trợ nước sạch cho bản Nà"


def test_docx_with_no_clusters_keeps_every_topic_section(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    write_docx(make_data(clusters=()), path)
    text = body_text(docx.Document(str(path)))
    assert text.count("Chưa có ý kiến, kiến nghị thuộc nhóm này.") == len(TOPICS)
    assert "đã tổng hợp được 0 nhóm ý kiến" in text
