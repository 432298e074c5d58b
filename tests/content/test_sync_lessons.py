from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from content.lessons import LESSONS_DIR, LessonSourceError, read_lessons
from content.models import Lesson
from content.services import lessons_sync

GOOD = """---
title: "Envelope encryption"
slug: envelope
order: 3
summary: "Data keys wrap data."
topics: [envelope-encryption]
exam_domains: ["SCS-C03 Domain 5"]
sources:
  - title: "AWS KMS Developer Guide"
    url: "https://docs.aws.amazon.com/kms/"
    verified: 2026-11-28
---
## Data keys

KMS returns a plaintext and an encrypted data key. <script>alert(1)</script>
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.django_db
def test_sync_is_idempotent(tmp_path):
    write(tmp_path, "envelope.md", GOOD)
    first = lessons_sync(directory=tmp_path)
    second = lessons_sync(directory=tmp_path)
    assert first.created == ["envelope"]
    assert second.unchanged == ["envelope"] and not second.created and not second.updated
    assert Lesson.objects.count() == 1


@pytest.mark.django_db
def test_sync_renders_once_and_sanitizes(tmp_path):
    write(tmp_path, "envelope.md", GOOD)
    lessons_sync(directory=tmp_path)
    lesson = Lesson.objects.get(slug="envelope")
    assert '<h2 id="data-keys">' in lesson.body_html
    assert "<script" not in lesson.body_html
    assert lesson.sources[0]["verified"] == "2026-11-28"
    assert 'href="#data-keys"' in lesson.toc_html


@pytest.mark.django_db
def test_changed_file_updates_and_removed_file_is_pruned(tmp_path):
    path = write(tmp_path, "envelope.md", GOOD)
    lessons_sync(directory=tmp_path)
    path.write_text(GOOD.replace("Data keys wrap data.", "Changed."), encoding="utf-8")
    assert lessons_sync(directory=tmp_path).updated == ["envelope"]
    assert Lesson.objects.get().summary == "Changed."
    path.unlink()
    assert lessons_sync(directory=tmp_path).removed == ["envelope"]
    assert not Lesson.objects.exists()


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            GOOD.replace('title: "Envelope encryption"\n', ""),
            "bad.md: front matter field 'title' is missing",
        ),
        (
            GOOD.replace("order: 3", "order: third"),
            "bad.md: front matter field 'order' must be int",
        ),
        (
            GOOD.replace("topics: [envelope-encryption]", "topics: oops"),
            "field 'topics' must be list",
        ),
        (
            GOOD.replace("verified: 2026-11-28", "verified: yesterday"),
            "'sources[0].verified' must be a date",
        ),
        (GOOD.replace("slug: envelope", "slug: Not A Slug"), "field 'slug' must be lowercase"),
        (GOOD.replace("---\n", "", 1), "bad.md: no front matter"),
        (GOOD.replace('summary: "Data keys wrap data."', "summary: [unclosed"), "not valid YAML"),
    ],
)
def test_bad_front_matter_names_the_file_and_field(tmp_path, broken, message):
    write(tmp_path, "bad.md", broken)
    with pytest.raises(LessonSourceError, match=None) as error:
        read_lessons(tmp_path)
    assert message in str(error.value)


def test_duplicate_slugs_are_refused(tmp_path):
    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", GOOD)
    with pytest.raises(LessonSourceError, match="b.md: front matter field 'slug' duplicates a.md"):
        read_lessons(tmp_path)


@pytest.mark.django_db
def test_command_reports_a_bad_file_as_a_command_error(tmp_path):
    write(tmp_path, "bad.md", GOOD.replace("order: 3\n", ""))
    with pytest.raises(CommandError, match="bad.md: front matter field 'order' is missing"):
        call_command("sync_lessons", directory=tmp_path)
    assert not Lesson.objects.exists()


def test_shipped_lessons_are_valid_and_long_enough():
    lessons = read_lessons(LESSONS_DIR)
    slugs = {lesson.slug for lesson in lessons}
    assert {
        "cloudhsm-vs-kms",
        "kms-in-depth",
        "cloudhsm-in-depth",
        "fips-140-levels",
        "access-methods",
        "custom-key-stores",
        "use-cases",
    } <= slugs
    for lesson in lessons:
        if lesson.slug != "cloudhsm-vs-kms":
            assert len(lesson.body.split()) >= 600, lesson.slug


def test_the_seed_lesson_keeps_its_decision_guide_and_corrections():
    seed = next(lesson for lesson in read_lessons(LESSONS_DIR) if lesson.slug == "cloudhsm-vs-kms")
    body = seed.body
    for row in [
        "Needs AWS integration",
        "PKCS #11",
        "FIPS 140-2 Level 3",
        "Client-side encryption",
        "TLS",
        "Oracle TDE",
        "Need AWS to manage keys",
    ]:
        assert row in body, row
    assert "exam-answer" in body and "aws-today" in body
    assert "CNG" in body
    assert "/static/img/cloudhsm-architecture.svg" in body
    assert "Images/image-4.png" not in body
