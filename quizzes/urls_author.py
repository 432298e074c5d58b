"""Authoring URLs, mounted at ``/author/``."""

from django.urls import path

from . import views_author as views
from . import views_import

urlpatterns = [
    path("", views.author_home, name="author_home"),
    path("banks/new/", views.bank_create_view, name="author_bank_create"),
    path("banks/<int:bank_id>/", views.bank_detail, name="author_bank"),
    path("banks/<int:bank_id>/settings/", views.bank_settings, name="author_bank_settings"),
    path("banks/<int:bank_id>/publish/", views.bank_publish, name="author_bank_publish"),
    path("banks/<int:bank_id>/editors/", views.bank_editor_invite, name="author_bank_editors"),
    path(
        "banks/<int:bank_id>/editors/<int:user_id>/remove/",
        views.bank_editor_remove_view,
        name="author_bank_editor_remove",
    ),
    path("banks/<int:bank_id>/export/", views.bank_export_view, name="author_bank_export"),
    path(
        "banks/<int:bank_id>/questions/new/",
        views.question_create_view,
        name="author_question_create",
    ),
    path("banks/<int:bank_id>/preview/", views.question_preview, name="author_question_preview"),
    path("questions/<int:question_id>/", views.question_edit, name="author_question_edit"),
    path("questions/<int:question_id>/state/", views.question_state, name="author_question_state"),
    path(
        "questions/<int:question_id>/history/",
        views.question_history,
        name="author_question_history",
    ),
    path(
        "questions/<int:question_id>/revert/<int:number>/",
        views.question_revert_view,
        name="author_question_revert",
    ),
    path("questions/<int:question_id>/stats/", views.question_stats, name="author_question_stats"),
    path("import/", views_import.import_upload, name="author_import"),
    path("import/<str:token>/", views_import.import_preview, name="author_import_preview"),
]
