from django.urls import path

from . import views_dashboard, views_drill, views_exam, views_review

urlpatterns = [
    path("review/", views_review.review, name="review"),
    path("review/answer/", views_review.review_answer, name="review_answer"),
    path("review/answered/<int:log_id>/", views_review.review_feedback, name="review_feedback"),
    path("review/undo/", views_review.review_undo_view, name="review_undo"),
    path("review/leech/<int:card_id>/", views_review.review_leech, name="review_leech"),
    path("review/settings/", views_review.review_settings_view, name="review_settings"),
    path("review/banks/", views_review.review_banks, name="review_banks"),
    path("drill/", views_drill.drill, name="drill"),
    path("drill/answer/", views_drill.drill_answer, name="drill_answer"),
    path("dashboard/", views_dashboard.dashboard, name="dashboard"),
    path("exams/", views_exam.exam_list, name="exam_list"),
    path("exams/start/", views_exam.exam_start_view, name="exam_start"),
    path("exams/<int:exam_id>/", views_exam.exam_detail, name="exam_detail"),
    path("exams/<int:exam_id>/q/<int:position>/", views_exam.exam_question, name="exam_question"),
    path("exams/<int:exam_id>/q/<int:position>/save/", views_exam.exam_save, name="exam_save"),
    path("exams/<int:exam_id>/finish/", views_exam.exam_finish_view, name="exam_finish"),
    path("exams/<int:exam_id>/result/", views_exam.exam_result, name="exam_result"),
]
