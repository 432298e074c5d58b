from django.urls import path

from . import hsm_api, kms_api, s3_api, views_account, views_console, views_files, views_labs

urlpatterns = [
    path("", views_console.sandbox_home, name="sandbox_home"),
    path("architecture/", views_console.architecture, name="sandbox_architecture"),
    path("console/", views_console.console, name="sandbox_console"),
    path("files/", views_files.file_upload, name="sandbox_file_upload"),
    path("files/<str:name>/", views_files.file_download, name="sandbox_file_download"),
    path("files/<str:name>/delete/", views_files.file_delete, name="sandbox_file_delete"),
    path("credentials/", views_account.credentials, name="sandbox_credentials"),
    path(
        "credentials/<str:access_key_id>/reveal/",
        views_account.credential_reveal,
        name="sandbox_credential_reveal",
    ),
    path(
        "credentials/<str:access_key_id>/rotate/",
        views_account.credential_rotate,
        name="sandbox_credential_rotate",
    ),
    path(
        "credentials/<str:access_key_id>/revoke/",
        views_account.credential_revoke,
        name="sandbox_credential_revoke",
    ),
    path("clock/", views_account.clock_advance, name="sandbox_clock"),
    path("reset/", views_account.reset, name="sandbox_reset"),
    path("audit/", views_account.audit_log, name="sandbox_audit"),
    path("labs/", views_labs.lab_list, name="sandbox_labs"),
    path("labs/<slug:slug>/", views_labs.lab_detail, name="sandbox_lab"),
    path("labs/<slug:slug>/check/", views_labs.lab_check, name="sandbox_lab_check"),
    path("labs/<slug:slug>/do/<slug:action>/", views_labs.lab_action, name="sandbox_lab_action"),
    # The KMS endpoint: boto3 keeps the trailing slash of endpoint_url; accept both forms
    # because a POST cannot follow an APPEND_SLASH redirect.
    path("kms/", kms_api.kms_endpoint, name="sandbox_kms"),
    path("kms", kms_api.kms_endpoint, name="sandbox_kms_no_slash"),
    path("cloudhsm/client/", hsm_api.hsm_client_endpoint, name="sandbox_hsm_client"),
    # S3, path-style: the bucket and key are in the path, as boto3 sends them.
    path("s3", s3_api.s3_endpoint),
    path("s3/", s3_api.s3_endpoint, name="sandbox_s3"),
    path("s3/<str:bucket>", s3_api.s3_endpoint),
    path("s3/<str:bucket>/<path:key>", s3_api.s3_endpoint),
]
