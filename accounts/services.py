from __future__ import annotations

from django.contrib.auth.models import User

from .models import Profile


def profile_for(user: User) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def setup_step_set(*, user: User, step: str) -> Profile:
    """Move the learner's first-run path to ``step`` (a ``Profile.SetupStep``)."""
    profile = profile_for(user)
    profile.setup_step = Profile.SetupStep(step)
    profile.save(update_fields=["setup_step"])
    return profile
