"""Item statistics from known attempts: facility, discrimination, option picks, flags."""

from __future__ import annotations

import statistics as pystats

import pytest
from django.urls import reverse

from quizzes import stats
from quizzes.models import ReviewLog
from quizzes.selectors_author import bank_statistics, question_statistics
from quizzes.stats import ExamTotal, Response

from .factories import NOW, SAMPLES, editor_data, make_exam, make_log, make_question

# Five mock exams of ten items: (this item right?, exam total right including this item).
# The rest-of-exam scores are 8/9, 7/9, 3/9, 2/9 and 4/9.
STRONG_GET_IT = [(True, 9), (True, 8), (False, 3), (False, 2), (True, 5)]
STRONG_MISS_IT = [(False, 8), (False, 7), (True, 4), (True, 3), (False, 4)]
# Worked by hand: item scores x = 1,1,0,0,1 and rest*9 = 8,7,3,2,4 give
# Sxy = 4.6/9, Sxx = 1.2, Syy = 26.8/81, so r = 4.6 / sqrt(1.2 * 26.8) = 0.8111.
EXPECTED_R = 0.8111


def exam_rows(plan):
    responses = [
        Response(1, right, 1 if right else 0, exam) for exam, (right, _) in enumerate(plan)
    ]
    totals = {exam: ExamTotal(total, 10) for exam, (_, total) in enumerate(plan)}
    return responses, totals


# --- pure functions ------------------------------------------------------------------


def test_facility_is_the_mean_score():
    assert stats.facility_index([1, 1, 0, 0, 1]) == pytest.approx(0.6)
    assert stats.facility_index([]) is None


def test_pearson_matches_the_standard_library():
    xs, ys = [1, 1, 0, 0, 1], [8 / 9, 7 / 9, 3 / 9, 2 / 9, 4 / 9]
    assert stats.pearson(xs, ys) == pytest.approx(pystats.correlation(xs, ys))
    assert stats.pearson([1, 1, 1], [0.2, 0.5, 0.9]) is None  # no variance
    assert stats.pearson([1], [1]) is None


def test_discrimination_is_the_item_rest_correlation():
    responses, totals = exam_rows(STRONG_GET_IT)
    index, used = stats.discrimination_index(responses, totals)
    assert used == 5
    assert index == pytest.approx(EXPECTED_R, abs=1e-4)


def test_negative_discrimination_is_flagged():
    responses, totals = exam_rows(STRONG_MISS_IT)
    item = stats.item_stats(data=SAMPLES["single"], responses=responses, exam_totals=totals)
    assert item.discrimination == pytest.approx(-EXPECTED_R, abs=1e-4)
    assert item.flags[0].startswith("Negative discrimination (-0.81)")


def test_discrimination_needs_three_exams_and_ignores_reviews():
    responses, totals = exam_rows(STRONG_GET_IT[:2])
    responses += [Response(1, True, 1), Response(1, False, 0)]  # reviews: no exam
    assert stats.discrimination_index(responses, totals) == (None, 2)


def test_an_exam_with_only_this_item_has_no_rest():
    responses = [Response(1, True, 1, 1), Response(1, False, 0, 2), Response(1, True, 1, 3)]
    totals = {1: ExamTotal(1, 1), 2: ExamTotal(0, 1), 3: ExamTotal(1, 1)}
    assert stats.discrimination_index(responses, totals) == (None, 0)


def test_single_choice_picks_and_the_unpicked_distractor_flag():
    responses = [Response(1, a == 1, a) for a in (1, 1, 0, 1, 2)]
    item = stats.item_stats(data=SAMPLES["single"], responses=responses, exam_totals={})

    (group,) = item.groups
    assert [(p.label, p.correct, p.count) for p in group.picks] == [
        ("AWS KMS", False, 1),
        ("AWS CloudHSM", True, 3),
        ("AWS Certificate Manager", False, 1),
        ("Amazon S3", False, 0),
    ]
    assert group.picks[1].share == pytest.approx(0.6)
    assert item.facility == pytest.approx(0.6)
    assert item.flags == (
        "Distractor 4 (“Amazon S3”) was never picked in 5 answers: make it more plausible "
        "or replace it.",
    )


def test_too_few_answers_raise_no_distractor_flag():
    responses = [Response(1, True, 1) for _ in range(stats.MIN_ANSWERS_FOR_DISTRACTOR_FLAG - 1)]
    assert stats.item_stats(data=SAMPLES["single"], responses=responses, exam_totals={}).flags == ()


def test_blank_exam_items_count_as_attempts_but_not_as_picks():
    responses = [Response(1, False, None, 1), Response(1, True, 1), Response(1, False, [], 2)]
    item = stats.item_stats(data=SAMPLES["multiple"], responses=responses, exam_totals={})
    assert (item.attempts, item.answered) == (3, 1)
    assert item.facility == pytest.approx(1 / 3)


def test_multiple_response_counts_each_chosen_option():
    answers = [[0, 1], [0], [0, 2], [1], "garbage", [5, True]]
    picks = stats.option_picks(SAMPLES["multiple"], answers)
    assert [p.count for p in picks[0].picks] == [3, 2, 1]


def test_true_false_picks():
    (group,) = stats.option_picks(SAMPLES["truefalse"], [True, False, False, "x"])
    assert [(p.label, p.correct, p.count) for p in group.picks] == [
        ("True", False, 1),
        ("False", True, 2),
    ]


def test_match_picks_show_what_each_keyword_was_matched_with():
    answers = [
        ["AWS CloudHSM", "AWS KMS", "AWS CloudHSM"],
        ["AWS KMS", "AWS KMS", None],
        ["AWS KMS", "AWS KMS", "AWS KMS"],
    ]
    groups = stats.option_picks(SAMPLES["match"], answers)
    assert [g.label for g in groups] == ["PKCS #11", "Key policy", "Crypto user"]
    assert [(p.label, p.correct, p.count) for p in groups[0].picks] == [
        ("AWS CloudHSM", True, 1),
        ("AWS KMS", False, 2),
    ]
    assert [(p.label, p.count) for p in groups[2].picks] == [("AWS CloudHSM", 1), ("AWS KMS", 1)]


def test_order_picks_show_where_each_step_was_placed():
    groups = stats.option_picks(SAMPLES["order"], [[1, 2, 3], [2, 1, 3], [None, 1, 3]])
    assert [(p.label, p.correct, p.count) for p in groups[0].picks] == [
        ("position 1", True, 1),
        ("position 2", False, 1),
    ]
    assert groups[2].picks[0].count == 3


# --- from the database ----------------------------------------------------------------


@pytest.fixture
def fillers(bank):
    return [make_question(bank, "truefalse", key=f"filler-{n}") for n in range(9)]


def sit_exams(user, question, fillers, plan):
    for right, total in plan:
        rest_right = total - (1 if right else 0)
        items = [(question, 1 if right else 0, right)]
        items += [(f, True, n < rest_right) for n, f in enumerate(fillers)]
        make_exam(user, items)


@pytest.mark.django_db
def test_question_statistics_from_known_attempts(question, fillers, learner, other_learner):
    sit_exams(learner, question, fillers, STRONG_GET_IT)
    make_exam(learner, [(question, 0, False)], finished=False)  # in progress: ignored
    make_log(other_learner, question, correct=True, chosen=1)
    make_log(other_learner, question, correct=False, chosen=0)
    voided = make_log(other_learner, question, correct=False, chosen=3)
    ReviewLog.objects.filter(pk=voided.pk).update(voided_at=NOW)
    exam_feed = make_log(learner, question, correct=False, chosen=0)
    ReviewLog.objects.filter(pk=exam_feed.pk).update(source=ReviewLog.Source.EXAM)

    result = question_statistics(question=question)

    overall = result.overall
    assert overall.attempts == 7  # 5 finished exams + 2 live reviews
    assert overall.facility == pytest.approx(4 / 7)
    assert overall.discrimination == pytest.approx(EXPECTED_R, abs=1e-4)
    assert overall.exam_attempts == 5
    (current,) = result.revisions
    assert [p.count for p in current.stats.groups[0].picks] == [3, 4, 0, 0]
    assert result.flags == (
        "Distractor 3 (“AWS Certificate Manager”) was never picked in 7 answers: make it "
        "more plausible or replace it.",
        "Distractor 4 (“Amazon S3”) was never picked in 7 answers: make it more plausible "
        "or replace it.",
    )


@pytest.mark.django_db
def test_statistics_are_split_by_revision(author_client, question, learner):
    make_log(learner, question, correct=True, chosen=1)
    author_client.post(
        reverse("author_question_edit", args=[question.pk]),
        editor_data("single", prompt="Reworded: which has PKCS #11?"),
    )
    question.refresh_from_db()
    make_log(learner, question, correct=False, chosen=2, n=1)

    result = question_statistics(question=question)

    assert result.overall.attempts == 2
    assert [(block.revision.number, block.stats.attempts) for block in result.revisions] == [
        (2, 1),
        (1, 1),
    ]
    assert [p.count for p in result.revisions[0].stats.groups[0].picks] == [0, 0, 1, 0]


@pytest.mark.django_db
def test_bank_statistics_summarise_every_question(bank, question, learner):
    other = make_question(bank, "truefalse", key="tf")
    make_log(learner, question, correct=True, chosen=1)
    make_log(learner, question, correct=False, chosen=0, n=1)

    summary = bank_statistics(questions=[question, other])

    assert summary[question.pk].overall.facility == pytest.approx(0.5)
    assert summary[other.pk].overall.attempts == 0
    assert summary[other.pk].overall.facility is None


@pytest.mark.django_db
def test_the_statistics_page_shows_indexes_picks_and_flags(
    author_client, question, fillers, learner
):
    sit_exams(learner, question, fillers, STRONG_MISS_IT)

    page = author_client.get(reverse("author_question_stats", args=[question.pk])).content.decode()

    assert "Facility index" in page
    assert "0.40" in page  # 2 of 5 right
    assert "-0.81" in page
    assert "Negative discrimination" in page
    assert "item–rest correlation" in page
    assert "AWS Certificate Manager" in page


@pytest.mark.django_db
def test_the_bank_page_shows_facility_and_flags(author_client, bank, question, fillers, learner):
    sit_exams(learner, question, fillers, STRONG_MISS_IT)
    page = author_client.get(reverse("author_bank", args=[bank.pk])).content.decode()
    row = page.split(f'id="question-{question.pk}"')[1].split("</tr>")[0]
    assert "<td>5</td>" in row
    assert "0.40" in row and "-0.81" in row
    assert "flags" in row
