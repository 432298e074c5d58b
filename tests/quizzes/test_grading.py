from __future__ import annotations

import pytest

from quizzes.grading import answer_is_blank, correct_answer, grade, match_choices

from .factories import match_data, multiple_data, order_data, single_data, truefalse_data


def test_single_choice_is_right_only_with_the_correct_option():
    data = single_data()
    assert grade(data, 0).correct
    assert grade(data, 0).credit == 1.0
    assert not grade(data, 1).correct
    assert grade(data, 1).credit == 0.0


def test_single_choice_marks_each_option_handled_right_or_wrong():
    assert grade(single_data(), 2).items == (False, True, False, True)


@pytest.mark.parametrize("answer", [None, "0", True, 17, -1, [0]])
def test_single_choice_rejects_blank_and_malformed_answers(answer):
    assert not grade(single_data(), answer).correct


def test_multiple_response_needs_exactly_the_correct_options():
    data = multiple_data()
    assert grade(data, [0, 2]).correct
    assert not grade(data, [0]).correct
    assert not grade(data, [0, 1, 2]).correct


def test_multiple_response_records_partial_credit_with_wrong_picks_subtracted():
    data = multiple_data()
    assert grade(data, [0]).credit == 0.5
    assert grade(data, [0, 1]).credit == 0.0
    assert grade(data, [0, 1, 2]).credit == 0.5
    assert grade(data, []).credit == 0.0


def test_true_false_compares_booleans():
    data = truefalse_data(answer=False)
    assert grade(data, False).correct
    assert not grade(data, True).correct
    assert not grade(data, "false").correct
    assert not grade(data, None).correct


def test_match_is_correct_only_when_every_pair_is_right():
    data = match_data()
    assert grade(data, ["AWS KMS", "AWS CloudHSM", "AWS CloudHSM"]).correct
    two_of_three = grade(data, ["AWS KMS", "AWS CloudHSM", "AWS KMS"])
    assert not two_of_three.correct
    assert two_of_three.credit == pytest.approx(2 / 3)
    assert two_of_three.items == (True, True, False)


def test_match_with_blanks_scores_the_pairs_given():
    result = grade(match_data(), ["AWS KMS", None])
    assert not result.correct
    assert result.credit == pytest.approx(1 / 3)


def test_order_is_correct_only_when_fully_in_order():
    data = order_data()
    assert grade(data, [1, 2, 3, 4]).correct
    swapped = grade(data, [1, 3, 2, 4])
    assert not swapped.correct
    assert swapped.credit == 0.5
    assert swapped.items == (True, False, False, True)


def test_order_with_missing_positions_is_wrong():
    assert not grade(order_data(), [1, 2, None, None]).correct
    assert not grade(order_data(), "1234").correct


def test_correct_answer_has_the_answer_shape_of_each_type():
    assert correct_answer(single_data()) == 0
    assert correct_answer(multiple_data()) == [0, 2]
    assert correct_answer(truefalse_data()) is False
    assert correct_answer(match_data()) == ["AWS KMS", "AWS CloudHSM", "AWS CloudHSM"]
    assert correct_answer(order_data()) == [1, 2, 3, 4]


def test_correct_answers_grade_as_correct_for_every_type():
    for data in (single_data(), multiple_data(), truefalse_data(), match_data(), order_data()):
        assert grade(data, correct_answer(data)).correct, data["type"]


def test_match_choices_are_the_distinct_right_sides_sorted():
    assert match_choices(match_data()) == ["AWS CloudHSM", "AWS KMS"]


def test_blank_answers_are_recognised_per_type():
    assert answer_is_blank(single_data(), None)
    assert answer_is_blank(multiple_data(), [])
    assert answer_is_blank(match_data(), [None, None, None])
    assert not answer_is_blank(match_data(), [None, "AWS KMS", None])
    assert not answer_is_blank(truefalse_data(), False)
