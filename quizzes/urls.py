from django.urls import include, path

urlpatterns = [
    path("", include("quizzes.urls_learn")),
    path("author/", include("quizzes.urls_author")),
]
