"""Vietnamese normalisation for matching (handlers.normalise.Normalizer and its tables)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from handlers.normalise import (
    CONCEPT_MARK,
    DEFAULT_CONCEPTS,
    DEFAULT_STOPWORDS,
    DEFAULT_TEENCODE,
    ConceptTable,
    Normalizer,
    load_concepts,
    load_requests,
    load_stopwords,
    load_teencode,
)
from handlers.text import clean, fold


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return Normalizer.from_files()


@pytest.fixture(scope="module")
def words_only() -> Normalizer:
    """Teencode and stopwords but no concept table: the word-level steps alone."""
    return Normalizer.from_files(concepts_path=None)


@pytest.fixture(scope="module")
def teencode_only() -> Normalizer:
    """Teencode but no stopwords, so expansions stay visible in the output."""
    return Normalizer(load_teencode(DEFAULT_TEENCODE), frozenset())


def test_default_tables_are_found_from_any_working_directory(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    assert DEFAULT_TEENCODE.is_file() and DEFAULT_STOPWORDS.is_file()
    assert DEFAULT_CONCEPTS.is_file()
    assert Normalizer.from_files()("Vay vốn") == "#vay_von"


def test_accentless_equals_accented(norm: Normalizer) -> None:
    accented = "Chị em bản em muốn vay vốn chăn nuôi trâu bò, thủ tục thế nào ạ?"
    plain = "chi em ban em muon vay von chan nuoi trau bo, thu tuc the nao a"
    assert norm(accented) == norm(plain) == "ban trau bo thu tuc #chan_nuoi #vay_von"


def test_nfd_equals_nfc(norm: Normalizer) -> None:
    text = "Đường vào bản bị sạt lở, đề nghị sửa chữa"
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    assert norm(nfd) == norm(text) == "sua chua #duong_giao_thong #sat_lo"


def test_teencode_equals_full_form(teencode_only: Normalizer, norm: Normalizer) -> None:
    assert teencode_only("ko dc ho tro j") == "khong duoc ho tro gi"
    assert teencode_only("không được hỗ trợ gì") == "khong duoc ho tro gi"
    assert norm("ko dc ho tro j") == norm("Không được hỗ trợ gì") == "ho tro"


@pytest.mark.parametrize(("typed", "expected"), [
    ("ck e say ruou", "chong em say ruou"),
    ("pn ntn", "phu nu nhu the nao"),
    ("đc bn", "duoc bao nhieu"),
    ("mún vay", "muon vay"),
    ("nc sach", "nuoc sach"),
    ("hs cx vs ng", "hoc sinh cung voi nguoi"),
])
def test_teencode_expansions(teencode_only: Normalizer, typed: str, expected: str) -> None:
    assert teencode_only(typed) == expected


def test_teencode_keys_are_exact_spellings(teencode_only: Normalizer) -> None:
    # "mún" is teencode for muốn; "mụn" (acne) is a real word and must not be rewritten.
    assert teencode_only("mụn") == "mun"


def test_vay_stays_a_loan(norm: Normalizer, words_only: Normalizer,
                          teencode_only: Normalizer) -> None:
    assert words_only("vay von nuoi lon") == "vay von nuoi lon"
    assert words_only("Vậy vay vốn được không") == "vay vay von"  # "vậy" is never a stopword
    assert norm("vay von nuoi lon") == "nuoi lon #chan_nuoi #vay_von"
    assert norm("Vậy vay vốn được không") == "vay #vay_von"
    assert "vay" in teencode_only("v z vay").split()
    assert teencode_only("v z") == "v z"  # no v/z → vậy rewrite


def test_loaders_refuse_rules_that_touch_vay(tmp_path: Path) -> None:
    teencode = tmp_path / "t.tsv"
    teencode.write_text("ko\tkhông\nv\tvậy\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"t\.tsv:2:.*vay"):
        load_teencode(teencode)
    stopwords = tmp_path / "s.txt"
    stopwords.write_text("# comment\nạ\nvậy\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"s\.txt:3:.*vay"):
        load_stopwords(stopwords)


def test_requests_are_found_in_any_spelling(norm: Normalizer) -> None:
    names = norm.requests.names
    for text in ("Đề nghị cấp lại thẻ bảo hiểm y tế bị mất", "de nghi cap lai the bhyt bi mat",
                 "xin cấp lại thẻ bhyt vs ạ"):
        action, _ask = norm.request_masks(text)
        assert names(action) == ["cap_lai"], text  # "cấp lại", not "cấp" inside it
    action, ask = norm.request_masks("bao giờ mới sửa đường vào bản")
    assert names(action) == ["sua"] and names(ask) == ["khi"]
    assert norm.request_masks("vay vốn nuôi bò") == (0, 0)  # a subject, no request


def test_requests_loader_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "r.tsv"
    path.write_text("# header\nsua\taction\tsua | sua chua\ngiam\tdo\tgiam\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"r\.tsv:3:"):
        load_requests(path)
    path.write_text("cho\taction\tvậy\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"r\.tsv:1:.*vậy"):
        load_requests(path)


def test_teencode_loader_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("# header\nko\tkhông\ndc được\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"t\.tsv:3:"):
        load_teencode(path)


def test_loaders_read_comments_case_and_accents(tmp_path: Path) -> None:
    teencode = tmp_path / "t.tsv"
    teencode.write_text("# x\n\nĐC\tĐược  # trailing comment\n", encoding="utf-8")
    assert load_teencode(teencode) == {"đc": "được"}
    stopwords = tmp_path / "s.txt"
    stopwords.write_text("Ạ\ncho em hỏi\n", encoding="utf-8")
    assert load_stopwords(stopwords) == frozenset({"a", "cho em hoi"})


def test_repeated_letters_are_squeezed(teencode_only: Normalizer) -> None:
    assert teencode_only("nhiềuuuu lắmmm khônggg") == "nhieu lam khong"
    assert teencode_only("kooo") == "khong"  # squeezed first, then expanded
    # Real double letters once diacritics are gone, and digits, are kept.
    assert teencode_only("cuu huu xoong 1000000") == "cuu huu xoong 1000000"


def test_punctuation_and_emoji_are_dropped(norm: Normalizer) -> None:
    assert norm("nước sạch!!! 😭😭 (bản Nậm Xe)...") == "ban nam xe #nuoc_sach"
    assert norm("🙏🙏🙏") == ""
    assert norm("") == ""


def test_stopword_phrases_only_as_whole_phrases(words_only: Normalizer) -> None:
    assert words_only("cho em hỏi làm sao vay vốn") == "vay von"
    # "cho hỏi" is not a stopword phrase: folded, it is also "cho hội (nông dân)".
    assert words_only("hỗ trợ cho hội nông dân làm nhà") == "ho tro cho hoi nong dan lam nha"
    assert words_only("Chị em bản Nậm Xe") == "ban nam xe"
    assert words_only("phụ nữ ở bản, hội viên phụ nữ") == "ban"  # generic in this dialogue
    assert words_only("phụ cấp cho chi hội") == "phu cap cho chi hoi"  # not "phụ nữ", "hội viên"


def test_folded_stopwords_do_not_eat_content_words(words_only: Normalizer) -> None:
    # Each pair folds to the same letters; the content word on the right must survive.
    for content in ("con gái", "làm nhà", "thẻ bảo hiểm", "đầu ra", "trồng chè", "dạy nghề",
                    "phân bón", "sổ đỏ", "hộ nghèo", "cán bộ", "ma túy", "thi tuyển", "vệ sinh"):
        assert words_only(content) == fold(content), content


# --- domain concepts (locales/concepts.tsv) -----------------------------------------------------


def _concepts(text: str) -> set[str]:
    return {w for w in text.split() if w.startswith(CONCEPT_MARK)}


@pytest.mark.parametrize(("concept", "wordings"), [
    ("#tao_hon", ["tảo hôn ở bản em", "con gái 15 tuổi bị ép lấy chồng",
                  "con gai 15 tuoi bi ep lay chong", "các em lớp 8 đã lấy chồng",
                  "bản em vẫn còn tục bắt vợ", "học sinh bỏ học cưới sớm"]),
    ("#vay_von", ["vay vốn", "tiếp cận tín dụng ưu đãi", "ngân hàng chính sách cho vay",
                  "NHCS co cho vay ko", "xin vay tiền"]),
    ("#chan_nuoi", ["chăn nuôi", "nuôi bò sinh sản", "đàn lợn", "mua trâu giống", "gia súc"]),
    ("#nuoc_sach", ["nước sạch", "nuoc sinh hoat", "giếng khoan", "bể lọc nước", "gánh nước"]),
    ("#rac_thai", ["rác thải", "thu gom rác", "xe chở rác không vào thôn"]),
    ("#bao_luc", ["bạo lực gia đình", "bị chồng đánh đập", "ck đánh vợ", "bldg"]),
    ("#hoc_nghe", ["học nghề", "đào tạo nghề", "dạy nghề may"]),
    ("#bao_hiem_y_te", ["bảo hiểm y tế", "thẻ BHYT", "the bao hiem"]),
    ("#sat_lo", ["sạt lở", "lở đất", "sat lo dat"]),
    ("#lu_lut", ["lũ quét", "lu quet", "lũ ống"]),
    ("#ky_nang_so", ["kỹ năng số", "điện thoại thông minh", "chuyển đổi số", "dt thong minh"]),
    ("#song_mang", ["không có sóng", "ko co mang internet", "trạm phát sóng"]),
])
def test_paraphrases_share_a_concept_word(norm: Normalizer, concept: str,
                                          wordings: list[str]) -> None:
    for text in wordings:
        assert concept in _concepts(norm(text)), text


def test_concept_phrases_are_replaced_kinds_are_kept(norm: Normalizer) -> None:
    # Same thing, other words: the words go, so "tảo hôn" and "ép lấy chồng" become alike.
    assert norm("tảo hôn") == norm("ép lấy chồng") == "#tao_hon"
    # A kind of it ("+" line): the animal stays, so cows and pigs remain told apart.
    assert norm("nuôi bò") == "nuoi bo #chan_nuoi"
    assert norm("nuôi lợn") == "nuoi lon #chan_nuoi"
    # A loan for livestock and a loan for a child's course share the loan, not the object.
    assert _concepts(norm("vay vốn nuôi bò")) == {"#vay_von", "#chan_nuoi"}
    assert _concepts(norm("vay vốn cho con học nghề")) == {"#vay_von", "#hoc_nghe"}


def test_bao_hiem_and_bao_luc_no_longer_share_bao(norm: Normalizer,
                                                  words_only: Normalizer) -> None:
    insurance = norm("tập huấn bảo hiểm y tế cho hội viên")
    violence = norm("tập huấn phòng chống bạo lực gia đình cho hội viên")
    assert "bao" in words_only("bảo hiểm y tế").split()  # the collision without concepts
    assert "bao" in words_only("bạo lực gia đình").split()
    assert "bao" not in insurance.split() and "bao" not in violence.split()
    assert _concepts(insurance) == {"#bao_hiem_y_te"}
    assert _concepts(violence) == {"#bao_luc"}


def test_accented_phrases_need_their_accents(norm: Normalizer) -> None:
    assert "#chan_nuoi" in norm("đàn lợn bị dịch")  # "lợn" = pig
    assert "#chan_nuoi" not in norm("con lớn rồi")  # "lớn" folds to the same "lon"
    assert "#chan_nuoi" not in norm("con lon roi")  # bare letters: could be either
    assert "#lu_lut" in norm("lũ về") and "#lu_lut" not in norm("lu ve")
    assert "#tao_hon" in norm("bị gả khi mới 15 tuổi")
    assert "#tao_hon" not in norm("bị ga khi mới 15 tuổi")  # "gà"? no accents, no guess


def test_rules_need_every_part(norm: Normalizer) -> None:
    assert "#tao_hon" in norm("con gái 16 tuổi đã lấy chồng")
    assert "#tao_hon" in norm("con gai 16 tuoi da lay chong")
    assert "#tao_hon" not in norm("con gái em đã lấy chồng")  # no age
    assert "#tao_hon" not in norm("con gái 16 tuổi đi học xa")  # no marriage
    assert "#tao_hon" not in norm("con gái 26 tuổi đã lấy chồng")  # adult


def test_longest_phrase_wins_overlaps_all_count(norm: Normalizer) -> None:
    # "đường" would be a road; inside "đường dây nóng" (hotline) it is not.
    assert _concepts(norm("số điện thoại đường dây nóng")) == {"#tro_giup_khan_cap"}
    # "giảm lãi" and "lãi suất" overlap: both count, no stray "suat" is left behind.
    assert norm("đề nghị giảm lãi suất") == "#lai_suat"
    # "rắc rối" (troublesome) folds to "rac roi"; "rác" (waste) alone is "rac".
    assert _concepts(norm("giấy tờ rắc rối")) == {"#thu_tuc_phuc_tap"}
    assert _concepts(norm("rác ở chợ")) == {"#rac_thai"}


def test_concept_words_come_only_from_the_table(norm: Normalizer) -> None:
    assert norm("#hashtag #abc_def") == "hashtag abc def"
    assert Normalizer.from_files(concepts_path=None)("tảo hôn") == "tao hon"


def test_concept_table_format(tmp_path: Path) -> None:
    path = tmp_path / "c.tsv"
    path.write_text(
        "# comment\n"
        "tao_hon\ttao hon | ép lấy chồng  # trailing comment\n"
        "_nho\t14 tuoi | 15 tuoi\n"
        "tao_hon\tlay chong + _nho\n"
        "chan_nuoi\t+ bò | nuoi lon\n", encoding="utf-8")
    norm = Normalizer(concepts=load_concepts(path))
    assert norm("Tảo hôn") == norm("ép lấy chồng") == "#tao_hon"
    assert norm("ep lay chong") == "ep lay chong"  # written with accents: needs them
    assert norm("15 tuổi lấy chồng") == "15 tuoi lay chong #tao_hon"
    assert norm("lấy chồng") == "lay chong"
    assert norm("nuôi bò") == "nuoi bo #chan_nuoi" and norm("nuoi bo") == "nuoi bo"
    assert norm("15 tuổi") == "15 tuoi"  # a helper is never a word itself


def test_concept_rules_of_helpers_and_late_helper_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.tsv"
    path.write_text("_a\tx1\n_b\ty1\nboth\t_a + _b\n_a\tx2\n", encoding="utf-8")
    norm = Normalizer(concepts=load_concepts(path))
    assert norm("x1 và y1") == "x1 va y1 #both"  # a rule made of helpers only
    assert norm("y1 rồi x2") == "y1 roi x2 #both"  # "_a" grew after the rule was read
    assert norm("x2") == "x2" and norm("y1") == "y1"


@pytest.mark.parametrize(("line", "message"), [
    ("tao_hon tao hon", "expected 'concept<TAB>phrase"),
    ("Tảo Hôn\ttao hon", "expected 'concept<TAB>phrase"),
    ("tao_hon\ttao hon | | lay chong som", "expected 'concept<TAB>phrase"),
    ("vay_von\tvay", "also 'vậy'"),
    ("tao_hon\tlay chong + _chua_co", "not a helper defined above"),
    ("_nho\ta + b", "bad rule"),
])
def test_concept_loader_names_the_bad_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "c.tsv"
    path.write_text(f"# header\nvay_von\tvay von\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"c\.tsv:3: .*{message}"):
        load_concepts(path)


def test_default_concept_table_loads() -> None:
    assert load_concepts(DEFAULT_CONCEPTS).size > 300
    assert not ConceptTable()


def test_clean_and_fold_unchanged() -> None:
    assert fold("Xã Nậm Tăm") == "xa nam tam"
    assert fold(unicodedata.normalize("NFD", "ĐƯỜNG")) == "duong"
    assert clean("  a\u200b b \r\n\n\n\nc ") == "a b\n\nc"


def test_no_flow_imports_bot() -> None:
    # The normaliser sits in handlers/ precisely so that flows never need bot/ (layering).
    import ast

    root = Path(__file__).resolve().parents[2] / "handlers"
    offenders = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom)
                     and node.level == 0 else [])
            offenders += [f"{path.name}: {n}" for n in names if n == "bot" or
                          n.startswith("bot.")]
    assert offenders == []
