from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("welcome/", views.welcome, name="welcome"),
    path("welcome/<slug:step>/", views.welcome, name="welcome_step"),
    path("healthz", views.healthz, name="healthz"),
    path("ping", views.ping, name="ping"),
    path("favicon.ico", views.favicon),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("lessons/", include("content.urls")),
    path("sandbox/", include("sandbox.urls")),
    path("", include("quizzes.urls")),
]
