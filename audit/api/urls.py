"""URLs of the audit API, included under /api/v1/ by b2i_console/api_urls.py."""

from django.urls import path

from audit.api import views

urlpatterns = [
    path("audit/entries/", views.AuditEntryList.as_view(), name="api-audit-entries"),
    path("audit/entries.csv", views.AuditEntryCsv.as_view(), name="api-audit-entries-csv"),
]
