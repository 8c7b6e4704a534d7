"""Similar-question matching and clustering (bot.matching)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench.cluster_quality import bcubed, hard_negatives_alone, pairwise
from bot.matching import ClusterIndex, Match, MatchSettings, cluster_jsonl, cluster_records
from handlers.normalise import Normalizer
from handlers.text import fold

ROOT = Path(__file__).resolve().parents[3]
DEV_SET = ROOT / "tests" / "data" / "cluster_dev.jsonl"
HOLDOUT_SET = ROOT / "tests" / "data" / "cluster_holdout.jsonl"
BLIND_SET = ROOT / "tests" / "data" / "cluster_blind.jsonl"
TRAIN_SET = ROOT / "tests" / "data" / "cluster_train.jsonl"
BLIND2_SET = ROOT / "tests" / "data" / "cluster_blind2.jsonl"


def _load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer.from_files()


@pytest.fixture(scope="module")
def dev_records() -> list[dict]:
    return _load(DEV_SET)


@pytest.fixture(scope="module")
def holdout_records() -> list[dict]:
    return _load(HOLDOUT_SET)


@pytest.fixture
def index(normalizer: Normalizer) -> ClusterIndex:
    return ClusterIndex(MatchSettings(), normalizer)


@pytest.fixture(scope="module")
def dev_index(normalizer: Normalizer, dev_records: list[dict]) -> ClusterIndex:
    """The dev set stored under its gold clusters: realistic word statistics for lookups."""
    idx = ClusterIndex(MatchSettings(), normalizer)
    for r in dev_records:
        idx.add(r["id"], r["text"], r["cluster"], r.get("topic"))
    return idx


# --- dev set -------------------------------------------------------------------------------


def test_dev_set_shape(dev_records: list[dict]) -> None:
    clusters = {r["cluster"] for r in dev_records}
    assert len(dev_records) >= 200
    assert 40 <= len(clusters) <= 60
    assert len({r["id"] for r in dev_records}) == len(dev_records)
    assert all(r.get("topic") in (None, 1, 2, 3, 4, 5, 6, 7) for r in dev_records)


def test_holdout_set_shape(holdout_records: list[dict], dev_records: list[dict]) -> None:
    """The held-out set (written before the concept table, never used for tuning)."""
    clusters = Counter(r["cluster"] for r in holdout_records)
    assert len(holdout_records) >= 120
    assert len(clusters) >= 30
    assert sum(size == 1 for size in clusters.values()) >= 5  # singletons: nothing to join
    assert len({r["id"] for r in holdout_records}) == len(holdout_records)
    assert all(r.get("topic") in (None, 1, 2, 3, 4, 5, 6, 7) for r in holdout_records)
    assert {r["topic"] for r in holdout_records if "topic" in r} == set(range(1, 8))
    dev_texts = {fold(r["text"]) for r in dev_records}
    assert not [r["id"] for r in holdout_records if fold(r["text"]) in dev_texts]


def test_dev_set_quality_does_not_regress(dev_records, normalizer) -> None:
    labels = cluster_records(dev_records, MatchSettings(), normalizer)
    gold = [r["cluster"] for r in dev_records]
    pairs = pairwise([label for _, label in labels], gold)
    # Measured 0.96 / 0.48 pairwise precision / recall (bench/cluster_quality.py); precision
    # is the promise: two requests merged hide one of them. Recall is what the offer to
    # support and staff's review list are for.
    assert pairs["precision"] >= 0.94
    assert pairs["f1"] >= 0.60


def test_blind_set_keeps_concerns_apart(normalizer) -> None:
    """The set first written without seeing the matcher: its hard negatives must stay apart."""
    records = _load(BLIND_SET)
    labels = cluster_records(records, MatchSettings(), normalizer)
    gold = [r["cluster"] for r in records]
    assert len(records) >= 200
    assert pairwise([label for _, label in labels], gold)["precision"] >= 0.85  # 0.89
    assert bcubed([label for _, label in labels], gold)["precision"] >= 0.95  # 0.98


def test_a_fresh_writers_hard_negatives_stay_alone(normalizer) -> None:
    """cluster_blind2.jsonl, written after the locales/ tables by someone who never saw the
    matcher: its hard negatives (same subject, another request or object) must not join the
    concern they resemble, and what is joined must be one concern. (In-sample now: the pair
    scorer learns from every set. Unseen: bench/train_pair_scorer.py --cv, docs/benchmarks.md.)"""
    records = _load(BLIND2_SET)
    labels = [label for _, label in cluster_records(records, MatchSettings(), normalizer)]
    assert len(records) >= 380
    assert hard_negatives_alone(labels, records) >= 0.95  # measured 0.974
    assert pairwise(labels, [r["cluster"] for r in records])["precision"] >= 0.90  # 0.943


def test_the_densest_hard_negatives_mostly_stay_alone(normalizer) -> None:
    """cluster_train.jsonl: 123 hard negatives among 645 questions, the hardest set. Below the
    0.90 target (cross-validated 0.88 at the shipped bar, docs/benchmarks.md); this guards
    against losing more."""
    records = _load(TRAIN_SET)
    labels = [label for _, label in cluster_records(records, MatchSettings(), normalizer)]
    assert len(records) >= 600
    assert hard_negatives_alone(labels, records) >= 0.85  # measured 0.878
    assert pairwise(labels, [r["cluster"] for r in records])["precision"] >= 0.80  # 0.825


# --- lookups -------------------------------------------------------------------------------


def test_spelling_variants_join_the_same_cluster(index: ClusterIndex) -> None:
    index.add(1, "Không có nước sạch ở bản em", "water", topic=2)
    index.add(2, "Chồng uống rượu say rồi đánh vợ", "violence", topic=4)
    for variant in ("khong co nuoc sach o ban em", "ko co nc sach o ban e 😭",
                    "KHÔNG CÓ NƯỚC SẠCH Ở BẢN EM!!!"):
        match = index.best_cluster(variant, topic=2)
        assert match == Match(1, "water", 100.0)


@pytest.mark.parametrize(("question", "topic", "cluster"), [
    ("Em muốn vay vốn để nuôi bò sinh sản", 1, "vay_chan_nuoi"),
    ("chồng say rượu đánh vợ", 4, "bao_luc_ruou"),
    ("thủ tục vay vốn rườm rà", 1, "vay_thu_tuc_rom_ra"),
])
def test_new_wordings_find_their_cluster(dev_index, question, topic, cluster) -> None:
    match = dev_index.best_cluster(question, topic)
    assert match is not None and match.cluster_id == cluster


@pytest.mark.parametrize(("question", "wrong"), [
    # Same topic, many shared words, different request.
    ("vay vốn cho con đi học trung cấp nghề", "vay_chan_nuoi"),
    ("vay vốn nuôi lợn nái", "vay_hoc_con"),
    ("điểm trường chưa có nước sạch cho các cháu", "nuoc_sach_ban"),
    ("hôn nhân cận huyết vẫn còn ở bản", "tao_hon"),
    ("lãi suất vay vốn cao quá", "vay_chan_nuoi"),
])
def test_hard_negatives_do_not_join(dev_index, question, wrong) -> None:
    match = dev_index.best_cluster(question, None)
    assert match is None or match.cluster_id != wrong


@pytest.mark.parametrize(("stored", "asked"), [
    ("mong được tập huấn bảo hiểm y tế cho hội viên",
     "mong được tập huấn phòng chống bạo lực gia đình cho hội viên"),
    ("mong được tập huấn phòng chống bạo lực gia đình cho hội viên",
     "mong được tập huấn bảo hiểm y tế cho hội viên"),
    ("mong duoc tap huan bao hiem y te cho hoi vien",
     "mong duoc tap huan phong chong bao luc gia dinh cho hoi vien"),
])
def test_frame_shared_object_differs(normalizer, dev_records, stored, asked) -> None:
    """Formerly a pinned xfail: "bảo hiểm" and "bạo lực" both folded to "bao ...", so the
    shared frame won (51 vs 45). The concept table now gives them different concept words."""
    idx = ClusterIndex(MatchSettings(), normalizer)
    for r in dev_records:
        idx.add(r["id"], r["text"], r["cluster"], r.get("topic"))
    idx.add("x", stored, "training")
    match = idx.best_cluster(asked)
    assert match is None or match.cluster_id != "training"


@pytest.mark.parametrize(("question", "topic", "cluster"), [
    # Paraphrases that share few or no content words with the stored questions of their
    # cluster. The concept table (locales/concepts.tsv) adds a word they share; it now counts
    # like any other word (weighing it more turned its concepts into topic buckets on a fresh
    # writer's questions), so these are OFFERED to the member, and join only when close enough.
    ("con gái 15 tuổi bị ép lấy chồng", 4, "tao_hon"),
    ("cháu gái mới 14 tuổi đã bị gả chồng", 4, "tao_hon"),
    ("bản em còn tục bắt vợ", 4, "tao_hon"),
    ("ngân hàng chính sách có cho vay mua bò giống không", 1, "vay_chan_nuoi"),
    ("muốn tiếp cận tín dụng ưu đãi để nuôi dê", 1, "vay_chan_nuoi"),
    ("bị chồng đánh đập thường xuyên", 4, "bao_luc_ruou"),
    ("xe thu gom rác không vào thôn", 2, "rac_thu_gom"),
    ("giếng nước của thôn cạn, không có nước sinh hoạt", 2, "nuoc_sach_ban"),
    ("vay vốn cho con đi học nghề may", 1, "vay_hoc_con"),
])
def test_concept_paraphrases_are_offered(dev_index, question, topic, cluster) -> None:
    offered = dev_index.similar(question, topic)
    assert offered and offered[0].cluster_id == cluster


def test_concept_paraphrases_need_the_table(dev_index, dev_records) -> None:
    """The cases above are real tests: with words alone they are offered less or not at all."""
    words_only = ClusterIndex(MatchSettings(), Normalizer.from_files(concepts_path=None))
    for r in dev_records:
        words_only.add(r["id"], r["text"], r["cluster"], r.get("topic"))
    for question, cluster in (("cháu gái mới 14 tuổi đã bị gả chồng", "tao_hon"),
                              ("bản em còn tục bắt vợ", "tao_hon"),
                              ("muốn tiếp cận tín dụng ưu đãi để nuôi dê", "vay_chan_nuoi"),
                              ("bị chồng đánh đập thường xuyên", "bao_luc_ruou")):
        with_table = {m.cluster_id: m.score for m in dev_index.similar(question)}
        without = {m.cluster_id: m.score for m in words_only.similar(question)}
        assert with_table[cluster] > without.get(cluster, 0.0) + 10, question


def test_livestock_loan_and_course_loan_stay_apart(index: ClusterIndex) -> None:
    """Both are loans (#vay_von), for different objects (#chan_nuoi vs #hoc_nghe)."""
    index.add(1, "vay vốn nuôi bò sinh sản", "livestock", 1)
    for question in ("vay vốn cho con đi học nghề", "muốn vay vốn cho con học nghề thì làm sao",
                     "ngân hàng chính sách cho vay để con học trung cấp nghề"):
        assert index.best_cluster(question, 1) is None, question
    index.add(2, "vay vốn cho con đi học nghề", "course", 1)
    for question, cluster in (("tiếp cận tín dụng để nuôi lợn", "livestock"),
                              ("vay tiền cho con học nghề may", "course"),
                              ("vay vốn nuôi lợn nái", "livestock")):
        assert index.similar(question, 1)[0].cluster_id == cluster, question


def test_a_long_story_is_offered_the_short_question_it_asks(index: ClusterIndex) -> None:
    """Same concern, diluted by the story around it: offered first. (It used to be "offered, not
    filed without asking" too, but only because with one question stored, IDF against one entry
    made her new words outweigh the shared ones: with any set of 200 questions stored, the
    matcher before match7 joined it at 94, and now at 77.)"""
    index.add(1, "tảo hôn ở bản em", "child-marriage", 4)
    question = "Làm sao để chấm dứt tảo hôn ở đồng bào Mông?"
    assert [m.cluster_id for m in index.similar(question, 4)] == ["child-marriage"]


def test_asking_when_is_not_asking_how(index: ClusterIndex) -> None:
    """Same loan, but "when" (a deadline someone owes her) or "who is responsible" is another
    request than "how do I apply": offered to her and put to staff, never joined silently."""
    index.add(1, "Chị em muốn vay vốn ưu đãi để chăn nuôi bò sinh sản thì làm thế nào",
              "how", 1)
    assert index.best_cluster("vay vốn ưu đãi nuôi bò sinh sản làm thế nào ạ", 1) is not None
    for question in ("bao giờ ngân hàng cho vay nuôi bò", "ai chịu trách nhiệm cho vay nuôi bò"):
        assert index.best_cluster(question, 1) is None, question
        assert index.possible_duplicate(question, 1) is not None, question
        assert [m.cluster_id for m in index.similar(question, 1)] == ["how"], question


def test_sharing_a_place_is_not_sharing_a_request(index: ClusterIndex) -> None:
    """"Trạm y tế" says where, not what: medicine and a midwife are different requests."""
    index.add(1, "trạm y tế xã không có thuốc, khám xong phải về tự mua", "medicine", 4)
    index.add(2, "điểm trường mầm non thiếu giáo viên, một cô dạy ba lứa tuổi", "teachers", 4)
    assert index.best_cluster(
        "Trạm y tế xã không có nữ hộ sinh, chị em đẻ phải xuống bệnh viện", 4) is None
    assert index.best_cluster("tiền ăn bán trú của học sinh mấy tháng chưa được cấp", 4) is None
    assert index.best_cluster("tram y te ko co thuoc ha sot", 4).cluster_id == "medicine"


def test_course_loan_does_not_join_a_training_request(index: ClusterIndex) -> None:
    """A loan for a child's course shares #hoc_nghe with a request for a women's class; it may be
    offered, but it must not be filed under it."""
    index.add(1, "Tỉnh có mở lớp dạy nghề may cho phụ nữ không ạ", "course", 4)
    for question in ("muốn vay vốn cho con học nghề thì làm sao",
                     "vay vốn cho con đi học nghề may"):
        assert index.best_cluster(question, 4) is None, question
    assert index.best_cluster("có lớp dạy nghề may cho phụ nữ không", 4).cluster_id == "course"


def test_a_terser_wording_of_the_same_request_joins(index: ClusterIndex) -> None:
    """Without "may" or "phụ nữ" it is still the same class for women: it joins (the scorer
    trained on every set, cluster_blind3 too, and the cross-validated bar 40). Before, it
    scored 43.5 against a bar of 45 and waited in staff's list."""
    index.add(1, "Tỉnh có mở lớp dạy nghề may cho phụ nữ không ạ", "course", 4)
    assert index.best_cluster("mở lớp học nghề cho chị em", 4).cluster_id == "course"


def test_similar_returns_best_item_per_cluster_best_first(index: ClusterIndex) -> None:
    index.add(1, "vay vốn chăn nuôi bò", "A", 1)
    index.add(2, "vay vốn chăn nuôi bò sinh sản ạ", "A", 1)
    index.add(3, "vay vốn chăn nuôi lợn nái", "B", 1)
    index.add(4, "trạm y tế xã thiếu thuốc", "C", 4)
    matches = index.similar("vay von chan nuoi bo sinh san", topic=1)
    assert [m.cluster_id for m in matches][:2] == ["A", "B"]
    assert matches[0].item_id == 2
    assert len({m.cluster_id for m in matches}) == len(matches)
    assert all(m.score >= index.settings.similar_threshold for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    assert "C" not in {m.cluster_id for m in matches}


def test_similar_respects_limit_and_max_similar(normalizer: Normalizer) -> None:
    idx = ClusterIndex(MatchSettings(max_similar=2, similar_threshold=1.0), normalizer)
    for i in range(6):
        idx.add(i, f"nước sạch cho bản số {i}", f"c{i}")
    assert len(idx.similar("nước sạch cho bản")) == 2
    assert len(idx.similar("nước sạch cho bản", limit=5)) == 5


def test_cross_topic_costs_points_but_does_not_forbid(index: ClusterIndex) -> None:
    index.add(1, "đề nghị làm đường bê tông vào bản", "road-6", topic=6)
    index.add(2, "đề nghị làm đường bê tông vào bản", "road-7", topic=7)
    matches = index.similar("đề nghị làm đường bê tông vào bản", topic=7)
    assert [(m.cluster_id, m.score) for m in matches] == [("road-7", 100.0), ("road-6", 90.0)]
    # The wrong topic alone does not stop a near-identical question from joining.
    joined = index.best_cluster("đề nghị làm đường bê tông vào bản", topic=3)
    assert joined is not None and joined.score == 90.0


def test_text_without_content_matches_nothing(index: ClusterIndex) -> None:
    index.add(1, "ạ ạ 🙏", "c1")
    index.add(2, "vay vốn chăn nuôi", "c2")
    assert index.similar("dạ vâng ạ 🙏🙏") == []
    assert index.best_cluster("ạ") is None
    assert len(index) == 2


# --- updates -------------------------------------------------------------------------------


def test_add_rejects_a_known_id(index: ClusterIndex) -> None:
    index.add(1, "vay vốn", "c1")
    with pytest.raises(ValueError, match="already indexed"):
        index.add(1, "nước sạch", "c2")


def test_remove_forgets_and_readd_revives(index: ClusterIndex) -> None:
    index.add(1, "trạm y tế thiếu thuốc", "c1")
    index.add(2, "tram y te thieu thuoc", "c1")  # same normalised text: one shared entry
    index.remove(1)
    assert index.best_cluster("trạm y tế thiếu thuốc").item_id == 2
    index.remove(2)
    assert len(index) == 0
    assert index.similar("trạm y tế thiếu thuốc") == []
    index.add(3, "Trạm y tế thiếu thuốc!", "c9")
    assert index.best_cluster("tram y te thieu thuoc") == Match(3, "c9", 100.0)
    with pytest.raises(KeyError):
        index.remove(1)


def test_move_and_merge_clusters(index: ClusterIndex) -> None:
    index.add(1, "vay vốn nuôi bò", "A")
    index.add(2, "vay von nuoi bo a", "A")
    index.add(3, "lãi suất vay vốn cao", "B")
    index.move(2, "B")
    assert index.cluster_of(2) == "B"
    assert (index.cluster_size("A"), index.cluster_size("B")) == (1, 2)
    assert {m.cluster_id for m in index.similar("vay vốn nuôi bò")} >= {"A", "B"}
    index.merge_clusters("B", "A")
    assert index.cluster_size("B") == 0 and index.cluster_size("A") == 3
    assert [m.cluster_id for m in index.similar("vay vốn nuôi bò")] == ["A"]
    assert len(index) == 3


RUBBISH = "Rác thải ở suối bản em không ai thu gom, bốc mùi"
TANK = "đề nghị xây bể chứa nước cho các hộ ở bản"
LOAN = "Chị em muốn vay vốn ưu đãi để chăn nuôi bò sinh sản thì làm thế nào"


def test_a_question_joins_the_core_as_a_whole_not_one_member(index: ClusterIndex) -> None:
    """Two unrelated wordings in one core (as if wrongly filed): a question like one of them
    is not close to the core as a whole, so it does not join (no chaining)."""
    index.add(3, TANK, "T", 2)
    index.add(1, RUBBISH, "T", 2)
    index.add(2, LOAN, "L", 1)
    assert index.similar("rác ở suối không ai thu gom", 2)[0].cluster_id == "T"
    assert index.best_cluster("rác ở suối không ai thu gom", 2) is None


def test_a_staff_merge_is_remembered_live_and_after_a_rebuild(index, normalizer) -> None:
    index.add(1, RUBBISH, "W", 2)
    index.add(2, LOAN, "L", 1)
    index.add(3, TANK, "T", 2)
    index.merge_clusters("W", "T")  # staff: one concern after all
    assert index.best_cluster("rác ở suối không ai thu gom", 2).cluster_id == "T"
    rebuilt = ClusterIndex(MatchSettings(), normalizer)  # from storage: home_cluster_id
    rebuilt.add(3, TANK, "T", 2)
    rebuilt.add(1, RUBBISH, "T", 2, home="W")
    rebuilt.add(2, LOAN, "L", 1)
    assert rebuilt.best_cluster("rác ở suối không ai thu gom", 2).cluster_id == "T"


def test_the_request_decides_not_the_subject(index: ClusterIndex) -> None:
    """Same subject (a health-insurance card), another action: re-issue vs keep it free."""
    index.add(1, "thẻ bảo hiểm y tế của con em bị mất, xin cấp lại thẻ", "reissue", 4)
    index.add(2, "trạm y tế xã thiếu thuốc", "medicine", 4)
    assert index.best_cluster("xin cấp lại thẻ bảo hiểm y tế bị mất cho con", 4).cluster_id == (
        "reissue")
    # 88 on words alone; another action (exempt, not re-issue) keeps it out, for staff.
    exempt = "thẻ bảo hiểm y tế của con em xin được miễn phí thẻ"
    assert index.best_cluster(exempt, 4) is None
    assert index.possible_duplicate(exempt, 4).cluster_id == "reissue"


# --- batch clustering ----------------------------------------------------------------------


def test_cluster_records_every_id_once_in_input_order(dev_records, normalizer) -> None:
    labels = cluster_records(dev_records, MatchSettings(), normalizer)
    assert [item_id for item_id, _ in labels] == [r["id"] for r in dev_records]
    assert labels[0][1] == "c1"
    assert all(label.startswith("c") for _, label in labels)


def test_cluster_records_joins_copies_and_separates_concerns(normalizer) -> None:
    records = [
        {"id": "a", "text": "Bản em chưa có nước sạch", "topic": 2},
        {"id": "b", "text": "Chồng say rượu đánh vợ", "topic": 4},
        {"id": "c", "text": "ban e chua co nuoc sach a", "topic": 2},
        {"id": "d", "text": "ban e chua co nuoc sach a"},
    ]
    assert cluster_records(records, MatchSettings(), normalizer) == [
        ("a", "c1"), ("b", "c2"), ("c", "c1"), ("d", "c1")]


def test_cluster_records_rejects_repeated_id(normalizer) -> None:
    with pytest.raises(ValueError, match="already indexed"):
        cluster_records([{"id": 1, "text": "a b"}, {"id": 1, "text": "c d"}],
                        MatchSettings(), normalizer)


def test_cluster_records_is_deterministic_across_processes(tmp_path: Path) -> None:
    # Set iteration order depends on PYTHONHASHSEED; results must not.
    script = ("import json, sys; sys.path.insert(0, sys.argv[1]);"
              "from bot.matching import MatchSettings, cluster_records;"
              "from handlers.normalise import Normalizer;"
              "rows = [json.loads(l) for l in open(sys.argv[2], encoding='utf-8')];"
              "print(json.dumps(cluster_records(rows, MatchSettings(), Normalizer.from_files())))")
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script, str(ROOT), str(DEV_SET)],
                              capture_output=True, text=True, env=env, check=True, timeout=120)
        outputs.add(done.stdout)
    assert len(outputs) == 1


# --- JSON lines ------------------------------------------------------------------------------


def test_cluster_jsonl_round_trip(normalizer) -> None:
    lines = ['{"id": "hỏi-1", "text": "Bản em chưa có nước sạch", "topic": 2}\n', "\n",
             '{"id": 7, "text": "ban em chua co nuoc sach"}\n', "   \n"]
    out = io.StringIO()
    assert cluster_jsonl(lines, out, MatchSettings(), normalizer) == 2
    assert out.getvalue().splitlines() == ['{"id": "hỏi-1", "cluster": "c1"}',
                                           '{"id": 7, "cluster": "c1"}']


@pytest.mark.parametrize(("bad_line", "message"), [
    ('{"id": 3, "text": "x"', "line 3: invalid JSON"),
    ('{"text": "x"}', "line 3: missing or invalid 'id'"),
    ('{"id": 3}', "line 3: missing or invalid 'text'"),
    ('{"id": 3, "text": "x", "topic": "2"}', "line 3: invalid 'topic'"),
    ('["id", "text"]', "line 3: expected a JSON object"),
    ('{"id": 1, "text": "x"}', "line 3: id 1 already used on line 1"),
])
def test_cluster_jsonl_errors_name_the_line(normalizer, bad_line, message) -> None:
    lines = ['{"id": 1, "text": "vay vốn"}', "", bad_line]
    out = io.StringIO()
    with pytest.raises(ValueError, match=message):
        cluster_jsonl(lines, out, MatchSettings(), normalizer)
    assert out.getvalue() == ""


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="join_threshold"):
        MatchSettings(join_threshold=120)
    with pytest.raises(ValueError, match="max_similar"):
        MatchSettings(max_similar=0)


def test_cross_validation_keeps_a_hard_negative_with_its_look_alike() -> None:
    """The estimate on unseen concerns is only honest if a held-out fold holds both a hard
    negative and the concern it resembles (else "kept apart" is never tested), and if no
    concern is split across folds (else its wordings leak into training)."""
    from bench.train_pair_scorer import FOLDS, fold_of, labelled

    records = labelled()
    folds = fold_of(records)
    assert set(folds.values()) == set(range(FOLDS))
    marked = [r for r in records if r.get("hard_negative_of")]
    assert len(marked) >= 150
    assert all(folds[r["cluster"]] == folds[r["hard_negative_of"]] for r in marked)
    assert len({r["id"] for r in records}) == len(records)  # ids made unique across sets


def test_the_shipped_scorer_learned_from_every_labelled_set() -> None:
    """A set committed to tests/data and never trained on (cluster_blind3 was, for a while) is
    labelled knowledge the matcher does not use: retrain with bench/train_pair_scorer.py
    --with-held-back (the held-back files too, since match7: the writer cross-validation
    measured the scorer better with them)."""
    from bot.matching import DEFAULT_SCORER

    model = json.loads(DEFAULT_SCORER.read_text(encoding="utf-8"))
    data = ROOT / "tests" / "data"
    on_disk = [p.stem.removeprefix("cluster_")
               for folder in (data, data / "held_back")
               for p in sorted(folder.glob("cluster_*.jsonl"))]
    assert sorted(model.get("sets", [])) == sorted(on_disk)


def _result(precision: float, f1: float, hard: float | None) -> dict:
    return {"pairwise": {"precision": precision, "f1": f1}, "hard_negatives_alone": hard}


def test_the_joining_bar_is_chosen_for_f1_within_precision_and_every_writers_hard_negatives(
) -> None:
    """The bar cross-validation picks: best F1 among precise enough bars, unless one writer's
    set would see too many of its hard negatives merged (pooled figures let the easy sets pay
    for the densest one)."""
    from bench.train_pair_scorer import select_threshold

    pooled = {30.0: _result(0.93, 0.57, 0.91), 40.0: _result(0.95, 0.52, 0.93),
              45.0: _result(0.96, 0.49, 0.94), 20.0: _result(0.88, 0.60, 0.90)}
    assert select_threshold(pooled) == 30.0  # 20 is more F1 but not precise enough
    per_set = {t: {"dense": _result(0.8, 0.3, hard), "easy": _result(1.0, 0.8, None)}
               for t, hard in ((20.0, 0.70), (30.0, 0.82), (40.0, 0.86), (45.0, 0.89))}
    assert select_threshold(pooled, per_set) == 40.0
    # Nothing qualifies: the most precise bar.
    assert select_threshold({30.0: _result(0.80, 0.6, 0.5), 45.0: _result(0.85, 0.4, 0.6)}) == 45.0


def test_the_writer_cross_validation_never_trains_on_the_writer_it_scores(monkeypatch) -> None:
    """Leave-one-writer-out (bench/train_pair_scorer.py --cv --writers) is the estimate for a
    new writer only if the left-out file's pairs never reach its scorer, held-back files stay
    out of training unless asked, and the bar it is scored at is picked on the other files."""
    import bench.train_pair_scorer as tps

    files = [(name, held, records[:50]) for name, held, records in tps.writers()
             if name in ("dev", "holdout", "blind4")]
    assert [(name, held) for name, held, _r in files] == [
        ("dev", False), ("holdout", False), ("blind4", True)]
    monkeypatch.setattr(tps, "writers", lambda: files)
    normalizer = Normalizer.from_files()
    out = tps.writer_cross_validate([40.0, 60.0], normalizer)
    assert {n: f["trained_on"] for n, f in out["files"].items()} == {
        "dev": ["holdout"], "holdout": ["dev"], "blind4": ["dev", "holdout"]}
    assert set(out["methods"]) == {"join_40", "join_60", "bar_chosen_on_other_folds",
                                   "rapidfuzz_baseline"}
    assert set(out["methods"]["rapidfuzz_baseline"]["per_file"]) == {"dev", "holdout", "blind4"}
    with_held = tps.writer_cross_validate([40.0], normalizer, with_held_back=True)
    assert with_held["files"]["dev"]["trained_on"] == ["holdout", "blind4"]
