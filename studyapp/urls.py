from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("ping", views.ping, name="ping"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("lessons/", include("content.urls")),
    path("", include("quizzes.urls")),
    path("sandbox/", include("sandbox.urls")),
]
