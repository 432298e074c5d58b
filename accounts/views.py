from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from .forms import ProfileForm, SignUpForm
from .models import Profile
from .services import profile_for, setup_step_set


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        setup_step_set(user=user, step=Profile.SetupStep.EXAM)
        login(request, user)
        messages.success(request, f"Welcome, {user.username}! Four short steps get you going.")
        return redirect("welcome")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def profile(request):
    instance = profile_for(request.user)
    form = ProfileForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})
