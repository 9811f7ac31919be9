from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from renfang.api.main import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", include("renfang.accounts.urls")),
    path("audit/", include("renfang.web.audit_urls")),
    path("api/", api.urls),
    path("", include("renfang.web.urls")),
]
