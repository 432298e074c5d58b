from __future__ import annotations

import datetime as dt
import random

import fsrs
import pytest

from quizzes import scheduling
from quizzes.scheduling import MemoryState

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def scheduler(cutoff=None, now=NOW, **overrides):
    options = {
        "desired_retention": 0.9,
        "learning_steps_minutes": [1, 10],
        "relearning_steps_minutes": [10],
        "now": now,
        "cutoff": cutoff,
        "fuzz": False,
    } | overrides
    return scheduling.scheduler_for(**options)


@pytest.mark.parametrize(
    ("correct", "guessed", "duration_ms", "rating"),
    [
        (False, False, 3_000, fsrs.Rating.Again),
        (False, True, 90_000, fsrs.Rating.Again),
        (True, True, 3_000, fsrs.Rating.Hard),
        (True, False, 61_000, fsrs.Rating.Hard),
        (True, False, 7_999, fsrs.Rating.Easy),
        (True, False, 8_000, fsrs.Rating.Good),
        (True, False, 60_000, fsrs.Rating.Good),
    ],
)
def test_ratings_come_from_the_answer(correct, guessed, duration_ms, rating):
    assert (
        scheduling.rating_for(correct=correct, guessed=guessed, duration_ms=duration_ms) == rating
    )


def test_a_miss_is_never_rated_hard():
    for duration in (0, 5_000, 30_000, 120_000):
        for guessed in (True, False):
            rating = scheduling.rating_for(correct=False, guessed=guessed, duration_ms=duration)
            assert rating == fsrs.Rating.Again


def test_learning_steps_parse_minutes_hours_and_days():
    assert scheduling.parse_steps("1m 10m") == [1, 10]
    assert scheduling.parse_steps("5, 1h 2d") == [5, 60, 2880]
    assert scheduling.parse_steps("") == []


@pytest.mark.parametrize("text", ["1x", "m", "0m", "-5m", "1.5m"])
def test_bad_learning_steps_are_refused(text):
    with pytest.raises(ValueError):
        scheduling.parse_steps(text)


def test_a_new_card_answered_good_moves_to_the_next_learning_step():
    state = scheduling.next_state(MemoryState(), fsrs.Rating.Good, scheduler=scheduler(), now=NOW)
    assert state.state == scheduling.LEARNING
    assert state.step == 1
    assert state.due == NOW + dt.timedelta(minutes=10)
    assert state.last_review == NOW
    assert state.reps == 1


def test_a_new_card_answered_easy_graduates_to_review():
    state = scheduling.next_state(MemoryState(), fsrs.Rating.Easy, scheduler=scheduler(), now=NOW)
    assert state.state == scheduling.REVIEW
    assert state.due >= NOW + dt.timedelta(days=1)


def test_forgetting_a_review_card_counts_a_lapse_and_relearns():
    review = MemoryState(
        state=scheduling.REVIEW,
        stability=20.0,
        difficulty=5.0,
        due=NOW,
        last_review=NOW - dt.timedelta(days=20),
        reps=5,
    )
    state = scheduling.next_state(review, fsrs.Rating.Again, scheduler=scheduler(), now=NOW)
    assert state.state == scheduling.RELEARNING
    assert state.lapses == 1
    assert state.due == NOW + dt.timedelta(minutes=10)


def test_intervals_never_run_past_the_exam_date():
    review = MemoryState(
        state=scheduling.REVIEW,
        stability=80.0,
        difficulty=3.0,
        due=NOW,
        last_review=NOW - dt.timedelta(days=60),
        reps=8,
    )
    cutoff = scheduling.exam_cutoff(dt.date(2026, 11, 12), time_zone="UTC", now=NOW)
    uncapped = scheduling.next_state(review, fsrs.Rating.Easy, scheduler=scheduler(), now=NOW)
    capped = scheduling.next_state(
        review, fsrs.Rating.Easy, scheduler=scheduler(cutoff=cutoff), now=NOW, cutoff=cutoff
    )
    assert uncapped.due > cutoff
    assert capped.due <= cutoff


def test_the_maximum_interval_is_the_days_left_before_the_exam():
    cutoff = NOW + dt.timedelta(days=9, hours=5)
    assert scheduler(cutoff=cutoff).maximum_interval == 9
    assert scheduler(cutoff=NOW + dt.timedelta(hours=3)).maximum_interval == 1
    assert scheduler().maximum_interval == scheduling.NO_MAXIMUM_INTERVAL


def test_the_eve_of_the_exam_still_caps_due_at_the_cutoff():
    cutoff = NOW + dt.timedelta(hours=10)
    state = scheduling.next_state(
        MemoryState(), fsrs.Rating.Easy, scheduler=scheduler(cutoff=cutoff), now=NOW, cutoff=cutoff
    )
    assert state.due == cutoff


def test_exam_cutoff_is_the_start_of_exam_day_in_the_learner_zone():
    cutoff = scheduling.exam_cutoff(dt.date(2026, 11, 20), time_zone="Asia/Tokyo", now=NOW)
    assert cutoff == dt.datetime(2026, 11, 19, 15, 0, tzinfo=dt.UTC)


def test_a_past_exam_date_caps_nothing():
    assert scheduling.exam_cutoff(dt.date(2026, 11, 1), time_zone="UTC", now=NOW) is None
    assert scheduling.exam_cutoff(None, time_zone="UTC", now=NOW) is None


def test_retrievability_falls_with_time_and_is_zero_for_unseen_cards():
    state = MemoryState(
        state=scheduling.REVIEW, stability=10.0, difficulty=5.0, due=NOW, last_review=NOW
    )
    soon = scheduling.retrievability(state, at=NOW + dt.timedelta(days=1), scheduler=scheduler())
    later = scheduling.retrievability(state, at=NOW + dt.timedelta(days=30), scheduler=scheduler())
    assert 0 < later < soon <= 1
    assert scheduling.retrievability(MemoryState(), at=NOW, scheduler=scheduler()) == 0


@pytest.mark.parametrize("desired_retention", [0.8, 0.9, 0.97])
def test_the_forgetting_curve_on_numbers_answers_what_fsrs_does(desired_retention):
    rng = random.Random(11)
    sched = fsrs.Scheduler(desired_retention=desired_retention)
    recall = scheduling.forgetting_curve(sched)
    for _ in range(300):
        stability = rng.uniform(0.05, 400.0)
        last_review = NOW - dt.timedelta(seconds=rng.uniform(0, 400 * 86400))
        at = NOW + dt.timedelta(seconds=rng.uniform(-86400, 90 * 86400))
        state = MemoryState(
            state=scheduling.REVIEW, stability=stability, difficulty=5.0, due=NOW,
            last_review=last_review,
        )  # fmt: skip
        expected = scheduling.retrievability(state, at=at, scheduler=sched)
        assert recall(stability, last_review, at) == pytest.approx(expected, rel=1e-12)
    assert recall(None, NOW, NOW) == recall(3.0, None, NOW) == 0.0


def test_a_card_becomes_a_leech_at_six_lapses_and_again_every_three():
    assert not scheduling.is_new_leech(lapses_before=4, lapses_after=5)
    assert scheduling.is_new_leech(lapses_before=5, lapses_after=6)
    assert not scheduling.is_new_leech(lapses_before=6, lapses_after=7)
    assert scheduling.is_new_leech(lapses_before=8, lapses_after=9)
    assert not scheduling.is_new_leech(lapses_before=6, lapses_after=6)
