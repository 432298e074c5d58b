"""What the learner's dashboard shows: due today, the forecast, true retention, mastery per
topic, exam-day readiness, streak and time spent. Only reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from accounts.models import Profile

from . import scheduling
from .charts import bar_chart
from .models import ReviewSettings
from .selectors import ReviewQueue, confusions_for, local_day_start, percent
from .selectors_progress import (
    forecast_for,
    leeches_for,
    log_totals_for,
    mastery_for,
    streak_for,
)
from .services_review import scheduler_context
from .sql import DUE_COUNT_CAP


def _minutes(ms: int) -> int:
    return round(ms / 60000)


def dashboard_context(
    *,
    user: Any,
    now: dt.datetime,
    queue: ReviewQueue,
    settings: ReviewSettings,
    bank_ids: list[int],
) -> dict[str, Any]:
    """Everything the dashboard shows, read for ``user`` at ``now`` (``bank_ids``: the banks
    they study, as the queue was read for)."""
    profile: Profile | None = getattr(user, "profile", None)  # read with the session
    time_zone = profile.time_zone if profile else "UTC"
    day_start = local_day_start(now, time_zone)
    forecast = forecast_for(user=user, now=now, time_zone=time_zone, bank_ids=bank_ids)
    # Today's bar of the forecast is what is due by tonight, overdue cards included.
    due_today = min(forecast[0][1], DUE_COUNT_CAP + 1)
    chart = bar_chart(
        [(day.strftime("%a %d"), count) for day, count in forecast],
        title="Reviews due over the next 14 days",
        description="; ".join(f"{day:%A %d %B}: {count}" for day, count in forecast),
        chart_id="forecast-chart",
    )

    exam_date = profile.exam_date if profile else None
    cutoff = scheduling.exam_cutoff(exam_date, time_zone=time_zone, now=now)
    scheduler, _ = scheduler_context(user=user, now=now, settings=settings, profile=profile)
    topics, overall = mastery_for(
        user=user, now=now, exam_at=cutoff, scheduler=scheduler, bank_ids=bank_ids
    )

    totals = log_totals_for(user=user, now=now, time_zone=time_zone)
    retention, retention_month = totals.retention, totals.retention_month
    return {
        "queue": queue,
        "due_now": queue.due_count,
        "due_today": due_today,
        "due_capped": due_today > DUE_COUNT_CAP,
        "new_today": queue.new_count,
        "forecast": forecast,
        "chart": chart,
        "retention": retention,
        "retention_pct": percent(retention.rate),
        "retention_month": retention_month,
        "retention_month_pct": percent(retention_month.rate),
        "desired_pct": percent(settings.desired_retention),
        "topics": [
            {
                "topic": topic,
                "recall_now_pct": percent(topic.recall_now),
                "recall_exam_pct": percent(topic.recall_exam),
                "seen_pct": percent(topic.seen_share),
            }
            for topic in topics
        ],
        "overall": overall,
        "overall_now_pct": percent(overall.recall_now),
        "overall_exam_pct": percent(overall.recall_exam),
        "exam_date": exam_date,
        "exam_upcoming": cutoff is not None,
        "days_to_exam": (exam_date - day_start.date()).days if cutoff and exam_date else None,
        "target_exam": profile.get_target_exam_display() if profile else "",
        "streak": streak_for(user=user, now=now, time_zone=time_zone),
        "minutes_today": _minutes(totals.ms_today),
        "minutes_week": _minutes(totals.ms_week),
        "minutes_all": _minutes(totals.ms_all),
        "leeches": leeches_for(user=user),
        "confusions": confusions_for(user=user),
    }
