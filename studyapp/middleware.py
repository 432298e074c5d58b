from __future__ import annotations

from django.shortcuts import render


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
