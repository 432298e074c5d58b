"""Error pages are the site's own pages and always offer a way on; nothing internal shows."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_an_unknown_address_gets_a_styled_404_with_a_way_home(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "This page does not exist" in page
    assert 'href="/"' in page and "site.css" in page


def test_a_learner_on_an_instructor_page_gets_a_styled_403(client, learner):
    client.force_login(learner)
    response = client.get("/author/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "You cannot open this page" in page and "Continue reviewing" in page


def test_a_stale_form_token_gets_a_page_that_explains_and_changes_nothing(learner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    response = client.post("/review/settings/", {"desired_retention": "0.8"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "This form has expired" in page and "nothing was changed" in page
    assert "CSRF token" not in page  # the reason is for logs, not for learners


def test_a_server_error_page_renders_without_the_request_context():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page and 'href="/"' in page
    assert "Traceback" not in page


@pytest.mark.logs_errors  # Django logs a disallowed Host header as a security error
def test_a_bad_host_header_gets_the_styled_400_even_before_authentication(client):
    response = client.get("/", headers={"host": "not-this-site.example"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "That request could not be read" in page and 'href="/"' in page


def test_opening_a_form_address_in_the_browser_gets_a_styled_405(client, learner):
    client.force_login(learner)
    response = client.get("/sandbox/console/", headers={"Accept": "text/html,*/*"})
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = response.content.decode()
    assert "This address is a form" in page and "Nothing was changed" in page
    assert 'href="/"' in page


def test_api_clients_keep_the_bare_405(client, learner):
    client.force_login(learner)
    response = client.get("/sandbox/console/", headers={"Accept": "application/json"})
    assert response.status_code == 405 and response.content == b""
