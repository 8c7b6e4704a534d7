"""A danger disclosure with her name, phone and place beside an ordinary loan question, and the
checks that an export or a message carries none of her words."""

from __future__ import annotations

import html
import io
import unicodedata
import zipfile

from tests.chat import Member
from tests.fakes.offers import ask, chat

PHONE = "0987654321"
DISCLOSURE = ("Em tên Vàng Thị Dung ở bản Khuổi Phạc, số điện thoại 0987654321. Chồng em say "
              "rượu đánh em gãy tay, em không dám về nhà")
HERS = (PHONE, "987654321", "Vàng Thị Dung", "Khuổi Phạc", "gãy tay", "không dám về nhà",
        "[SĐT ẩn …321]")
LOAN = "Chị em bản Nà Sài muốn hỏi thủ tục vay vốn ưu đãi chăn nuôi bò sinh sản thế nào ạ"


def xml_text(content: bytes) -> str:
    """Every XML part of a .docx/.xlsx as one string, character references decoded (openpyxl
    writes "Nậm" as "N&#7853;m": a plain byte search would find nothing)."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return html.unescape("\n".join(archive.read(name).decode("utf-8", "replace")
                                       for name in archive.namelist() if name.endswith(".xml")))


def assert_no_disclosure(text: str) -> None:
    for word in HERS:
        for form in ("NFC", "NFD"):
            assert unicodedata.normalize(form, word) not in text, f"{word!r} published"


async def disclosure_and_a_loan_question(runtime) -> Member:
    await chat(runtime, "a", ask(DISCLOSURE, "2", "gui"))
    await chat(runtime, "b", ask(LOAN, "1", "gui"))
    return Member(runtime, user="900", channel="telegram")
