from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest

from accounts.services import profile_for
from quizzes.charts import bar_chart
from quizzes.models import KeywordAttempt

from .factories import make_drill
from .helpers import hidden_fields, review_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, learner):
    client.force_login(learner)
    return client


@pytest.fixture
def drills(db):
    return [
        make_drill("PKCS #11", "cloudhsm", ["apis"]),
        make_drill("Key policy", "kms", ["access"]),
        make_drill("FIPS 140-3 Level 3", "both", ["fips"]),
    ]


def test_the_drill_shows_a_keyword_and_four_answers(signed_in, drills):
    html = signed_in.get("/drill/").content.decode()
    assert 'class="drill-keyword"' in html
    for label in ("AWS KMS", "AWS CloudHSM", "Both", "Neither"):
        assert label in html
    assert "HX-Request" in signed_in.get("/drill/")["Vary"]


def test_answering_a_drill_item_without_javascript_redirects_to_the_next(
    signed_in, drills, learner
):
    fields = hidden_fields(signed_in.get("/drill/").content.decode())
    response = signed_in.post("/drill/answer/", {**fields, "chosen": "kms"})
    attempt = KeywordAttempt.objects.get(user=learner)
    query = parse_qs(urlparse(response["Location"]).query)
    assert response.status_code == 302
    assert query["last"] == [str(attempt.pk)]
    assert query["total"] == ["1"]
    page = signed_in.get(response["Location"]).content.decode()
    assert attempt.drill.keyword in page
    assert "left in this round" in page


def test_answering_with_htmx_returns_the_drill_region_with_feedback(signed_in, drills):
    fields = hidden_fields(signed_in.get("/drill/").content.decode())
    response = signed_in.post(
        "/drill/answer/", {**fields, "chosen": "neither"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="drill-card"')
    assert "✗ Not quite" in html


def test_a_round_ends_with_a_score(signed_in, drills):
    url = "/drill/"
    for _ in drills:
        fields = hidden_fields(signed_in.get(url).content.decode())
        url = signed_in.post("/drill/answer/", {**fields, "chosen": "both"})["Location"]
    html = signed_in.get(url).content.decode()
    assert "Round complete: 1 of 3 right" in html


def test_mix_ups_are_listed_after_mistakes(signed_in, drills, learner):
    KeywordAttempt.objects.create(user=learner, drill=drills[0], chosen="kms", correct=False)
    html = signed_in.get("/drill/").content.decode()
    assert "What you mix up most" in html
    assert "AWS CloudHSM → you said AWS KMS" in html


def test_the_dashboard_shows_due_forecast_retention_and_streak(signed_in, single, frozen_now):
    review_post(signed_in, answer={"choice": "0"})
    html = signed_in.get("/dashboard/").content.decode()
    assert '<svg class="chart" id="forecast-chart"' in html
    assert "Forecast as a table" in html
    assert '<span class="stat-value" data-stat="streak">1</span>' in html
    assert "Mastery by topic" in html
    assert "Set your exam date" in html


def test_the_dashboard_shows_readiness_on_exam_day(signed_in, learner, single, frozen_now):
    profile = profile_for(learner)
    profile.exam_date = (frozen_now.now + dt.timedelta(days=10)).date()
    profile.save()
    review_post(signed_in, answer={"choice": "0"})
    html = signed_in.get("/dashboard/").content.decode()
    assert "Predicted recall on exam day" in html
    assert "in 10 days" in html
    assert 'data-stat="readiness"' in html
    assert "On exam day" in html


def test_the_forecast_chart_is_accessible_svg_with_escaped_labels():
    svg = bar_chart([("<Mon>", 3), ("Tue", 0)], title="Due", description="a & b", chart_id="c")
    assert svg.startswith('<svg class="chart" id="c"')
    assert 'role="img"' in svg
    assert '<title id="c-title">Due</title>' in svg
    assert "&lt;Mon&gt;" in svg
    assert "a &amp; b" in svg
    assert "style=" not in svg
    assert svg.count('<rect class="chart-bar"') == 2
