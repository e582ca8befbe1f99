"""URLs of the notifications API, included under /api/v1/ by b2i_console/api_urls.py."""

from django.urls import path

from notifications.api import views

NOTIFY = "workspaces/<str:workspace>/projects/<str:project>/notifications/"
CHANNEL = NOTIFY + "channels/<str:name>/"

urlpatterns = [
    path(NOTIFY + "channels/", views.ChannelList.as_view(), name="api-notify-channels"),
    path(CHANNEL, views.ChannelDetail.as_view(), name="api-notify-channel"),
    path(CHANNEL + "test/", views.ChannelTest.as_view(), name="api-notify-channel-test"),
    path(
        CHANNEL + "deliveries/",
        views.ChannelDeliveries.as_view(),
        name="api-notify-channel-deliveries",
    ),
    path(NOTIFY + "subscription/", views.MySubscription.as_view(), name="api-notify-subscription"),
    path(
        NOTIFY + "subscription/test/",
        views.MySubscriptionTest.as_view(),
        name="api-notify-subscription-test",
    ),
    path(
        NOTIFY + "subscription/deliveries/",
        views.MySubscriptionDeliveries.as_view(),
        name="api-notify-subscription-deliveries",
    ),
]
