from __future__ import annotations

from django.contrib.auth.models import User

from .models import Profile


def profile_for(user: User) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile
