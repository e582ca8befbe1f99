"""Serializers of the notifications API. A channel's URL and secret are write-only."""

from __future__ import annotations

from collections.abc import Callable

from rest_framework import serializers

from notifications.addresses import MAX_URL_CHARS
from notifications.events import headline
from notifications.models import Delivery, EmailSubscription, WebhookChannel

MAX_SECRET_CHARS = 1024


class ChannelSerializer(serializers.ModelSerializer[WebhookChannel]):
    """`url` and `secret` are accepted on write and never returned (`url_host`, `has_secret`
    tell what is set): Slack, DingTalk and WeCom put the webhook's credential in the URL."""

    url = serializers.CharField(write_only=True, max_length=MAX_URL_CHARS)
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_SECRET_CHARS,
    )
    has_secret = serializers.SerializerMethodField()

    class Meta:
        model = WebhookChannel
        fields = [
            "name",
            "kind",
            "url",
            "url_host",
            "secret",
            "has_secret",
            "build_events",
            "rollout_events",
            "enabled",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["url_host", "created_at", "updated_at"]
        # The name is checked free in the view (the project comes from the URL).
        validators: list[Callable[..., object]] = []

    def get_has_secret(self, channel: WebhookChannel) -> bool:
        return bool(channel.secret_encrypted)


class ChannelUpdateSerializer(ChannelSerializer):
    """An omitted `url` or `secret` keeps the stored one (the form never receives them)."""

    url = serializers.CharField(write_only=True, required=False, max_length=MAX_URL_CHARS)

    class Meta(ChannelSerializer.Meta):
        read_only_fields = ["name", "kind", "url_host", "created_at", "updated_at"]


class SubscriptionSerializer(serializers.ModelSerializer[EmailSubscription]):
    """The signed-in member's own e-mail subscription; mail goes to their account's address."""

    subscribed = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)  # null: none yet

    class Meta:
        model = EmailSubscription
        fields = ["subscribed", "email", "build_events", "rollout_events", "updated_at"]

    def get_subscribed(self, subscription: EmailSubscription) -> bool:
        return subscription.pk is not None

    def get_email(self, subscription: EmailSubscription) -> str:
        return subscription.user.email


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    headline = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "headline",
            "state",
            "attempts",
            "status_code",
            "error",
            "created_at",
            "last_attempt_at",
        ]
        read_only_fields = fields

    def get_headline(self, delivery: Delivery) -> str:
        try:
            return headline(delivery.facts)
        except (KeyError, TypeError, ValueError):
            return delivery.event
