"""Attack, red-team pass 3 (promise: a member never sees another member's name, phone, ID
number, email or address): woman A writes her details into her question the way women type
them (a phone half in words, an email spelled out, her house, her name with no "tên" cue);
woman B, in the same commune, types a similar question, or only a guess at A's details, and
reads everything the bot sends her (tests/fakes/her_details.py). What a commune leader reads
of the same questions: tests/handlers/test_leader_masking.py.

B's screen must hold none of A's details in any form (what B reads of A's question are only
words B typed herself, and of those only her topic words: not the guess), and a guess made of
A's details must not be answered with an offer: the offer would confirm that a question with
that name or that phone exists (matching reads masked text, on both sides). Every case fails
without the change (where the masker already caught the detail, through the "sdt", "zalo",
"số CCCD", "Tôi" the offer quoted back, or through the match the detail pulled).
"""

from __future__ import annotations

import re

import pytest

from tests.fakes.her_details import DETAILS, IDS, TOPIC, Woman, assert_none_of_hers
from tests.fakes.offers import OFFERED, SIMILAR


@pytest.mark.parametrize(("detail", "secrets"), DETAILS, ids=IDS)
async def test_b_typing_a_similar_question_with_the_guess_reads_none_of_it(
        staff_runtime, detail, secrets):
    """B's question is A's topic plus A's detail: she is offered A's question (the topic
    matches), and reads only her topic words back, nothing that says A wrote the detail."""
    await Woman(staff_runtime, "a").stores("nam tam", f"{detail}. {TOPIC}")
    b = Woman(staff_runtime, "b")
    screen = await b.asks("nam tam", f"{SIMILAR}, {detail}")
    assert OFFERED in b.text
    quoted = re.search(r'1\. "(.+)" \(\d+ người đã hỏi\)', b.text)
    assert quoted is not None and "vay vốn ưu đãi chăn nuôi bò sinh sản" in quoted.group(1)
    # what she reads back are her topic words only: not even the "sđt", "zalo" or "email"
    # she typed before the guess, which would tell her A wrote one
    topic_words = set(re.findall(r"\w+", SIMILAR))
    assert set(re.findall(r"\w+", quoted.group(1))) <= topic_words, quoted.group(1)
    assert_none_of_hers(screen, secrets)


@pytest.mark.parametrize(("detail", "secrets"), DETAILS, ids=IDS)
async def test_a_guess_made_of_her_details_is_offered_nothing(staff_runtime, detail, secrets):
    """B types only A's name, phone, email or house: no offer, so no confirmation that a
    question holding them exists."""
    await Woman(staff_runtime, "a").stores("nam tam", f"{detail}. {TOPIC}")
    b = Woman(staff_runtime, "b")
    screen = await b.asks("nam tam", f"{detail} xin hỏi ạ")
    assert OFFERED not in screen
    assert "Chị muốn ghi tên mình hay gửi ẩn danh" in b.text  # her own question goes on
    assert_none_of_hers(screen, secrets)
