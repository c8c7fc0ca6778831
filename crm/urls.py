from django.contrib.auth import views as auth_views
from django.urls import path

from crm import views
from crm.login import LoginView

urlpatterns = [
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("", views.home, name="home"),
    path("import/", views.import_page, name="crm-import"),
    path("import/columns/", views.import_columns, name="crm-import-columns"),
    path("import/<int:run_id>/", views.import_run, name="crm-import-run"),
    path("import/<int:run_id>/status/", views.import_run_status, name="crm-import-run-status"),
]
