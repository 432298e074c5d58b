"""The site navigation, reversed once per process instead of on every page render."""

from __future__ import annotations

from functools import cache

from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import mark_safe
from django_htmx.jinja import htmx_script

from accounts.models import is_instructor

from .onboarding import setup_banner

MAIN = [
    ("Lessons", "lesson_list"),
    ("Which service?", "which_service"),
    ("Review", "review"),
    ("Keyword drill", "drill"),
    ("Mock exams", "exam_list"),
    ("Sandbox", "sandbox_home"),
]
INSTRUCTOR = [("Author", "author_home")]
ACCOUNT = [("Dashboard", "dashboard")]


@cache
def _links(entries: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    found = []
    for label, name in entries:
        try:
            found.append((label, reverse(name)))
        except NoReverseMatch:
            continue  # that part of the site is not installed
    return tuple(found)


def _marked(links, path: str) -> list[dict[str, object]]:
    """Mark the one link whose URL is the longest prefix of the current path."""
    matches = [url for _, url in links if path.startswith(url)]
    current = max(matches, key=len) if matches else None
    return [{"label": label, "url": url, "current": url == current} for label, url in links]


@cache
def site_assets() -> dict[str, str]:
    """URLs every page needs; with hashed static names they cannot change while running."""
    return {
        "css": static("css/site.css"),
        "js": static("js/site.js"),
        "favicon": static("img/favicon.svg"),
        "htmx_script": mark_safe(htmx_script()),  # noqa: S308 - django-htmx's own tag output
        "home": reverse("home"),
        "login": reverse("login"),
        "logout": reverse("logout"),
        "signup": reverse("signup"),
        "profile": reverse("profile"),
    }


def navigation(request):
    user = getattr(request, "user", None)  # absent on an error page before authentication
    main = list(_links(tuple(MAIN)))
    if user is not None and is_instructor(user):
        main += _links(tuple(INSTRUCTOR))
    account = _links(tuple(ACCOUNT)) if user is not None and user.is_authenticated else ()
    return {
        "site": site_assets(),
        "main_nav": _marked(main, request.path),
        "account_nav": _marked(account, request.path),
        "setup_banner": (
            setup_banner(user)
            if user is not None
            and user.is_authenticated
            and not request.path.startswith("/welcome/")
            else None
        ),
    }
