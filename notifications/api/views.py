"""REST API of notifications: a project's webhook channels (admins), each member's own e-mail
subscription, "send test" actions and delivery logs.

Every view resolves the project and the permission through projects.access in `initial()`,
before the body is read: an invisible project answers 404, a forbidden change 403.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from audit.api.auditing import AuditedView
from audit.recording import Scope
from b2i_console.errors import UserError
from notifications import services
from notifications.api import serializers as s
from notifications.models import Delivery, EmailSubscription, WebhookChannel
from projects import access
from projects.api.views import signed_in_user
from projects.models import Project


class ProjectNotifications(AuditedView, generics.GenericAPIView[Any]):
    """Resolves `self.project`; channels: reading for members, writing for the admins."""

    project: Project
    own_subscription = False

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        project = access.access_project_for_user(
            request.user, self.kwargs["workspace"], self.kwargs["project"], "view"
        )
        if self.own_subscription:
            self.project = access.check_own_subscription(request.user, project)
        else:
            write = request.method not in SAFE_METHODS
            self.project = access.check_notification_channels(request.user, project, write=write)
        self.audit_scope = Scope.of_project(self.project)

    def channel(self) -> WebhookChannel:
        found = self.project.notification_channels.filter(name=self.kwargs["name"]).first()
        if found is None:
            raise Http404("No such notification channel.")
        return found


class TestThrottle(UserRateThrottle):
    """A test sends to an address users choose: a rate limit keeps it from scanning networks."""

    scope = "notification-test"
    rate = "20/min"


# Recorded fields of a channel: never its URL (Slack, DingTalk and WeCom keys are in it) or secret.
CHANNEL_FIELDS = ("name", "kind", "build_events", "rollout_events")


class ChannelList(ProjectNotifications, generics.ListCreateAPIView[WebhookChannel]):
    serializer_class = s.ChannelSerializer
    audit_object_type = "channel"
    audit_fields = CHANNEL_FIELDS

    def get_queryset(self) -> QuerySet[WebhookChannel]:
        return self.project.notification_channels.all()

    def perform_create(self, serializer: serializers.BaseSerializer[WebhookChannel]) -> None:
        data = dict(serializer.validated_data)
        if self.project.notification_channels.filter(name=data["name"]).exists():
            raise UserError(
                "notify:name-taken",
                f"This project already has a notification channel named {data['name']!r}.",
                status=409,
            )
        url, secret = data.pop("url"), data.pop("secret", "")
        channel = WebhookChannel(project=self.project, creator=signed_in_user(self.request), **data)
        serializer.instance = services.save_channel(channel, url, secret)


class ChannelDetail(ProjectNotifications, generics.RetrieveUpdateDestroyAPIView[WebhookChannel]):
    serializer_class = s.ChannelUpdateSerializer
    audit_object_type = "channel"
    audit_fields = CHANNEL_FIELDS

    def get_object(self) -> WebhookChannel:
        return self.channel()

    def perform_update(self, serializer: serializers.BaseSerializer[WebhookChannel]) -> None:
        channel = serializer.instance
        assert isinstance(channel, WebhookChannel)
        data = dict(serializer.validated_data)
        url, secret = data.pop("url", None), data.pop("secret", None)
        for field, value in data.items():
            setattr(channel, field, value)
        services.save_channel(channel, url, secret)


class ChannelTest(ProjectNotifications, generics.GenericAPIView[WebhookChannel]):
    serializer_class = s.DeliverySerializer
    throttle_classes = [TestThrottle]
    audit_object_type = "channel"
    audit_actions = {"POST": "channel.test"}
    audit_id_key = "-"  # the answer is a delivery: the channel is the URL's

    @extend_schema(request=None, responses=s.DeliverySerializer)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        delivery = services.send_test(self.project, signed_in_user(request), channel=self.channel())
        return Response(s.DeliverySerializer(delivery).data)


class ChannelDeliveries(ProjectNotifications, generics.ListAPIView[Delivery]):
    serializer_class = s.DeliverySerializer

    def get_queryset(self) -> QuerySet[Delivery]:
        return self.channel().deliveries.all()


class OwnSubscription(ProjectNotifications, generics.GenericAPIView[EmailSubscription]):
    """The signed-in member's own subscription: no URL names anybody else's."""

    serializer_class = s.SubscriptionSerializer
    own_subscription = True
    audit_object_type = "subscription"
    audit_actions = {
        "PUT": "subscription.update",
        "DELETE": "subscription.delete",
        "POST": "subscription.test",
    }
    audit_id_key = audit_id_kwarg = "-"  # the signed-in member's own: the actor says whose
    audit_fields = ("build_events", "rollout_events")

    def subscription(self) -> EmailSubscription:
        user = signed_in_user(self.request)
        found = self.project.email_subscriptions.select_related("user").filter(user=user).first()
        return found or EmailSubscription(project=self.project, user=user)


class MySubscription(OwnSubscription):
    """GET shows the signed-in member's subscription (`subscribed: false` when none); PUT sets
    it; DELETE ends it."""

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.subscription()).data)

    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.get_serializer(self.subscription(), data=request.data)
        body.is_valid(raise_exception=True)
        body.save()
        return Response(body.data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.subscription()
        if subscription.pk is not None:
            subscription.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MySubscriptionTest(OwnSubscription):
    throttle_classes = [TestThrottle]

    @extend_schema(request=None, responses=s.DeliverySerializer)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.subscription()
        if subscription.pk is None:
            raise UserError("notify:not-subscribed", "Subscribe first, then send a test.", 409)
        delivery = services.send_test(
            self.project, signed_in_user(request), subscription=subscription
        )
        return Response(s.DeliverySerializer(delivery).data)


class MySubscriptionDeliveries(ProjectNotifications, generics.ListAPIView[Delivery]):
    serializer_class = s.DeliverySerializer
    own_subscription = True

    def get_queryset(self) -> QuerySet[Delivery]:
        user = signed_in_user(self.request)
        return Delivery.objects.filter(
            project=self.project, subscription__user=user, subscription__project=self.project
        )
