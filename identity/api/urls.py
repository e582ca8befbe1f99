"""URLs of the identity API, included under /api/v1/ by b2i_console/api_urls.py."""

from django.urls import path

from identity.api import views

urlpatterns = [
    path("group-mappings/", views.GroupRoleMappingList.as_view(), name="api-group-mappings"),
    path(
        "group-mappings/<int:pk>/",
        views.GroupRoleMappingDetail.as_view(),
        name="api-group-mapping",
    ),
]
