"""The signed Word report rendered to PDF by LibreOffice, as staff would print it (slow step).

Runs where `soffice`/`libreoffice` is installed (CI: .ci/run installs libreoffice-writer-nogui
and poppler-utils); the text of the PDF is read back with pdftotext.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import unicodedata

import pytest

from bot.exports import ExportCluster, ExportData, ExportDepartment, ExportForward, write_docx

pytestmark = pytest.mark.slow

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")


def _data() -> ExportData:
    forward = ExportForward("Sở Y tế", "Chủ trì", dt.date(2027, 7, 20), dt.date(2026, 12, 1),
                            dt.date(2027, 7, 18), "Đúng hạn", "Đã bố trí bác sĩ.")
    return ExportData(
        province="Lai Châu", governing_body="HỘI LHPN VIỆT NAM",
        issuing_body="HỘI LHPN TỈNH LAI CHÂU",
        dialogue_title="Đối thoại giữa Chủ tịch UBND tỉnh với Phụ nữ tỉnh Lai Châu năm 2027",
        theme="Phát huy vai trò của Phụ nữ", place="Lai Châu", generated_on=dt.date(2027, 7, 28),
        topics=((1, "Y tế, giáo dục"),),
        clusters=(ExportCluster(
            topic=1, text="Bố trí bác sĩ sản khoa cho trạm y tế xã", direct_count=3,
            relayed_count=30, communes=("Xã Nậm Tăm",), department="Sở Y tế",
            deadline=dt.date(2027, 7, 20), status="Đã trả lời", answer="Đã bố trí bác sĩ.",
            answered_by="Sở Y tế", number=12, receipts=("LC27-000012",), forwards=(forward,)),),
        answer_deadline=dt.date(2027, 7, 25),
        signer_title="TM. BAN THƯỜNG VỤ\nCHỦ TỊCH", signer_name="Nguyễn Thị Hoa",
        departments=(ExportDepartment("Sở Y tế", 1, 1, 0, 0, 0),), document_number="15",
    )


@pytest.mark.skipif(SOFFICE is None, reason="needs LibreOffice (libreoffice-writer-nogui)")
def test_word_report_renders_to_pdf_with_signer_block_and_annex(tmp_path):
    source = tmp_path / "bao-cao.docx"
    write_docx(_data(), source)
    env = {**os.environ, "HOME": str(tmp_path)}  # its own profile: no shared user state
    subprocess.run([SOFFICE, "--headless", "--norestore", "--convert-to", "pdf", "--outdir",
                    str(tmp_path), str(source)], check=True, env=env, timeout=180,
                   capture_output=True)
    pdf = tmp_path / "bao-cao.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    if PDFTOTEXT is None:
        pytest.skip("rendered; pdftotext (poppler-utils) missing to read the text back")
    text = subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], check=True,
                          capture_output=True, timeout=60).stdout.decode("utf-8")
    pages = text.split("\f")
    assert "BÁO CÁO" in pages[0] and "15/BC-HPN" in pages[0]
    signature_page = next(p for p in pages if "Nguyễn Thị Hoa" in p)
    assert "TM. BAN THƯỜNG VỤ" in signature_page and "CHỦ TỊCH" in signature_page
    annex = next(p for p in pages if "PHỤ LỤC" in p)
    assert annex is not pages[0]  # the annex starts on its own page
    # pdftotext may split a letter from its diacritic ("Y t ế"): compare without spaces.
    squeezed = "".join(unicodedata.normalize("NFC", annex).split())
    assert "SởYtế" in squeezed and "Tổngcộng" in squeezed
