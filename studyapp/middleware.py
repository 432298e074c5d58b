from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.urls import Resolver404, resolve

#: What a view sets (``view.signed_request_api = True``) when it authenticates every request
#: by its own signature and uses no cookie, session, CSRF token, message or template.
SIGNED_API_MARK = "signed_request_api"


class SignedApiMiddleware:
    """Calls a signed API view (the sandbox's KMS, S3 and CloudHSM client endpoints) right
    after SecurityMiddleware, without the browser's middleware below it (sessions, CSRF,
    user, messages, CSP, htmx, time zone): none of it applies to a request signed with an
    access key, and the pass through it was about a tenth of such a request's server time.
    Any other address goes down the whole stack: only paths under ``SIGNED_API_PREFIXES``
    are resolved here, and only a view that carries the mark is called."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefixes = tuple(settings.SIGNED_API_PREFIXES)

    def __call__(self, request):
        if not request.path_info.startswith(self.prefixes):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if not getattr(match.func, SIGNED_API_MARK, False):
            return self.get_response(request)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)


class MethodNotAllowedPageMiddleware:
    """Django answers a GET to a POST-only address (a bookmarked form action, the address bar)
    with an empty 405. A browser gets the site's own page instead, with a way on; API clients
    and htmx keep the bare answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 405
            and not response.content
            and "text/html" in request.headers.get("Accept", "")
            and not request.headers.get("HX-Request")
        ):
            page = render(request, "405.html", status=405)
            page["Allow"] = response.get("Allow", "")
            return page
        return response
