import pytest
from django.urls import reverse

from content.models import Lesson, LessonProgress
from content.services import lessons_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def lessons():
    lessons_sync()
    return list(Lesson.objects.all())


def test_lesson_list_is_public_and_invites_sign_up(client, lessons):
    response = client.get(reverse("lesson_list"))
    assert response.status_code == 200
    assert "Sign up</a> to track" in response.text
    for lesson in lessons:
        assert lesson.title in response.text


def test_lesson_list_shows_the_learners_progress(client, learner, lessons):
    LessonProgress.objects.create(
        user=learner, lesson=lessons[0], understood_at="2026-11-01T00:00Z"
    )
    client.force_login(learner)
    response = client.get(reverse("lesson_list"))
    assert f"You understand 1 of {len(lessons)} lessons." in response.text
    assert response.text.count("Understood ✓") == 1


def test_progress_is_per_learner(client, learner, other_learner, lessons):
    LessonProgress.objects.create(
        user=other_learner, lesson=lessons[0], understood_at="2026-11-01T00:00Z"
    )
    client.force_login(learner)
    assert f"You understand 0 of {len(lessons)} lessons." in client.get(reverse("lesson_list")).text


def test_lesson_page_has_toc_pager_and_sources(client, lessons):
    first, second = lessons[0], lessons[1]
    response = client.get(reverse("lesson_detail", args=[second.slug]))
    assert response.status_code == 200
    assert 'aria-labelledby="toc-heading"' in response.text
    assert f'rel="prev" href="{first.get_absolute_url()}"' in response.text
    assert "last verified" in response.text
    assert "Log in</a> to mark this lesson" in response.text


def test_unknown_lesson_is_404(client, lessons):
    assert client.get("/lessons/no-such-lesson/").status_code == 404


def test_marking_understood_requires_login(client, lessons):
    url = reverse("lesson_understood", args=[lessons[0].slug])
    response = client.post(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not LessonProgress.objects.exists()


def test_marking_understood_without_htmx_redirects_back(client, learner, lessons):
    client.force_login(learner)
    lesson = lessons[0]
    response = client.post(reverse("lesson_understood", args=[lesson.slug]), {"understood": "1"})
    assert response.status_code == 302 and response["Location"] == lesson.get_absolute_url()
    assert LessonProgress.objects.filter(user=learner, lesson=lesson).exists()
    assert "Understood ✓" in client.get(lesson.get_absolute_url()).text


def test_marking_understood_with_htmx_returns_the_fragment(client, learner, lessons):
    client.force_login(learner)
    lesson = lessons[0]
    url = reverse("lesson_understood", args=[lesson.slug])
    response = client.post(url, {"understood": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="understood"')
    assert "<html" not in response.text
    response = client.post(url, {"understood": "0"}, headers={"HX-Request": "true"})
    assert "Mark as understood" in response.text
    assert not LessonProgress.objects.exists()


def test_marking_understood_rejects_get(client, learner, lessons):
    client.force_login(learner)
    assert client.get(reverse("lesson_understood", args=[lessons[0].slug])).status_code == 405


def test_which_service_starts_with_the_first_question(client):
    response = client.get(reverse("which_service"))
    assert response.status_code == 200
    assert 'id="current-question"' in response.text
    assert "?a=0" in response.text


def test_which_service_walks_to_a_result_without_javascript(client):
    from content import decision

    tree = decision.default_tree()
    answers: list[int] = []
    walk = decision.walk(answers)
    while walk.result is None:
        answers.append(0)
        walk = decision.walk(answers)
    response = client.get(reverse("which_service"), {"a": ",".join(map(str, answers))})
    assert walk.result["title"] in response.text
    assert "Start over" in response.text
    assert tree["nodes"]


def test_which_service_htmx_returns_only_the_walk(client):
    response = client.get(reverse("which_service"), {"a": "0"}, headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith('<section id="walk"')
    assert "HX-Request" in response["Vary"]


def test_which_service_ignores_nonsense_answers(client):
    response = client.get(reverse("which_service"), {"a": "99,x,-1"})
    assert response.status_code == 200
    assert 'id="current-question"' in response.text


def test_home_and_healthz(client, lessons):
    assert client.get("/").status_code == 200
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok"}


def test_a_cached_lesson_page_follows_a_new_sync(client, tmp_path):
    source = (
        '---\ntitle: "Grants"\nslug: grants\norder: 1\nsummary: "s"\ntopics: [kms]\n'
        'exam_domains: ["SCS-C03"]\nsources:\n  - title: "KMS guide"\n    verified: 2026-11-28\n'
        "---\n## Grants\n\nFirst version.\n"
    )
    path = tmp_path / "grants.md"
    path.write_text(source)
    lessons_sync(directory=tmp_path)
    assert "First version." in client.get("/lessons/grants/").text
    path.write_text(source.replace("First version.", "Second version."))
    lessons_sync(directory=tmp_path)
    assert "Second version." in client.get("/lessons/grants/").text


def test_reading_anonymously_sets_no_cookie_but_signed_in_pages_carry_the_csrf_header(
    client, learner, lessons
):
    url = lessons[0].get_absolute_url()
    anonymous = client.get(url)
    assert "csrftoken" not in anonymous.cookies
    assert "X-CSRFToken" not in anonymous.text
    client.force_login(learner)
    assert 'hx-headers=\'{"X-CSRFToken"' in client.get(url).text


@pytest.mark.django_db
def test_the_standard_api_result_links_to_the_pkcs11_lab(client):
    from content import decision
    from sandbox.labs import lab_by_slug

    nodes = decision.default_tree()["nodes"]
    labs = {node["lab"] for node in nodes.values() if "lab" in node}
    assert labs and all(lab_by_slug(slug) is not None for slug in labs)
    tree = decision.default_tree()

    def path_to(node_id, target, taken):
        if node_id == target:
            return taken
        for index, answer in enumerate(nodes[node_id].get("answers") or []):
            found = path_to(answer["next"], target, [*taken, index])
            if found is not None:
                return found
        return None

    path = path_to(tree["start"], "result-cloudhsm-api", [])
    walk = decision.walk(path)
    assert walk.result is not None and walk.result["lab"] == "cloudhsm-client-pkcs11"
    page = client.get(reverse("which_service"), {"a": ",".join(map(str, path))}).text
    assert "/sandbox/labs/cloudhsm-client-pkcs11/" in page


@pytest.mark.django_db
def test_the_access_methods_lesson_links_to_lab_9(client):
    lessons_sync()
    page = client.get(reverse("lesson_detail", args=["access-methods"])).text
    assert 'href="/sandbox/labs/cloudhsm-client-pkcs11/"' in page
