"""The sandbox's SigV4-signed endpoints run without the browser's middleware."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, resolve

#: What ``signed_api.signed_api_view`` sets on a view that authenticates every request by
#: its own signature and uses no cookie, session, CSRF token, message or template.
SIGNED_API_MARK = "signed_request_api"


class SignedApiMiddleware:
    """Calls a signed API view (the KMS, S3 and CloudHSM client endpoints) right after
    SecurityMiddleware, without the browser's middleware below it (sessions, CSRF, user,
    messages, CSP, htmx, time zone): none of it applies to a request signed with an access
    key, and the pass through it was about a tenth of such a request's server time. Any other
    address goes down the whole stack: only paths under ``SIGNED_API_PREFIXES`` are resolved
    here, and only a view that carries the mark is called."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.prefixes = tuple(settings.SIGNED_API_PREFIXES)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path_info.startswith(self.prefixes):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if not getattr(match.func, SIGNED_API_MARK, False):
            return self.get_response(request)
        request.resolver_match = match
        response: HttpResponseBase = match.func(request, *match.args, **match.kwargs)
        return response
