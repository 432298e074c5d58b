from django.urls import path

from . import views

urlpatterns = [
    path("", views.lesson_list, name="lesson_list"),
    path("which-service/", views.which_service, name="which_service"),
    path("<slug:slug>/", views.lesson_detail, name="lesson_detail"),
    path("<slug:slug>/understood/", views.lesson_understood, name="lesson_understood"),
]
