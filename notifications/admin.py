"""Django admin for operators: webhook channels (URL and secret write-only), members' e-mail
subscriptions, and the delivery log (read only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from b2i_console.errors import UserError
from notifications import services
from notifications.addresses import MAX_URL_CHARS, check_webhook_url
from notifications.models import ChannelKind, Delivery, EmailSubscription, WebhookChannel


class WebhookChannelForm(forms.ModelForm[WebhookChannel]):
    """URL and secret are write-only: never rendered back; left empty, the stored ones stay."""

    new_url = forms.CharField(
        label="Webhook URL",
        required=False,
        max_length=MAX_URL_CHARS,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only (Slack, DingTalk and WeCom URLs hold the robot's key). "
        "Leave empty to keep the stored URL.",
    )
    new_secret = forms.CharField(
        label="Signing secret",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. DingTalk's signing secret or the generic webhook's HMAC key. "
        "Leave empty to keep the stored one.",
    )

    class Meta:
        model = WebhookChannel
        fields = [
            "project",
            "name",
            "kind",
            "new_url",
            "new_secret",
            "build_events",
            "rollout_events",
            "enabled",
        ]

    def clean_new_url(self) -> str:
        url: str = self.cleaned_data.get("new_url") or ""
        if not url and not self.instance.url_encrypted:
            raise forms.ValidationError(_("Give the webhook URL."))
        if url:
            try:
                check_webhook_url(url)
            except UserError as exc:
                raise forms.ValidationError(exc.message) from exc
        return url

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        needs_secret = cleaned.get("kind") == ChannelKind.WEBHOOK
        if needs_secret and not cleaned.get("new_secret") and not self.instance.secret_encrypted:
            self.add_error("new_secret", "A generic webhook needs a signing secret.")
        return cleaned


@admin.register(WebhookChannel)
class WebhookChannelAdmin(admin.ModelAdmin[WebhookChannel]):
    form = WebhookChannelForm
    list_display = ["name", "project", "kind", "url_host", "build_events", "rollout_events"]
    list_filter = ["kind", "enabled", "project__workspace"]
    search_fields = ["name", "url_host", "project__name"]

    def save_model(
        self, request: HttpRequest, obj: WebhookChannel, form: WebhookChannelForm, change: bool
    ) -> None:
        if not change:
            # The admin site only serves signed-in staff: request.user is a User here.
            obj.creator = request.user  # type: ignore[assignment]
        url = form.cleaned_data.get("new_url") or None
        secret = form.cleaned_data.get("new_secret") or None
        services.save_channel(obj, url, secret)


@admin.register(EmailSubscription)
class EmailSubscriptionAdmin(admin.ModelAdmin[EmailSubscription]):
    list_display = ["user", "project", "build_events", "rollout_events", "updated_at"]
    list_filter = ["build_events", "rollout_events", "project__workspace"]
    search_fields = ["user__username", "user__email", "project__name"]
    autocomplete_fields = ["user"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    """The delivery log: what was sent where, how many attempts, what the receiver answered."""

    list_display = ["created_at", "project", "event", "target", "state", "attempts", "status_code"]
    list_filter = ["state", "event", "project__workspace"]
    search_fields = ["project__name", "channel__name", "subscription__user__username", "error"]
    readonly_fields = [
        "project",
        "channel",
        "subscription",
        "event",
        "facts",
        "state",
        "attempts",
        "status_code",
        "error",
        "created_at",
        "last_attempt_at",
    ]

    @admin.display(description="to")
    def target(self, delivery: Delivery) -> str:
        if delivery.channel is not None:
            return f"channel {delivery.channel.name}"
        return f"e-mail to {delivery.subscription.user if delivery.subscription else '?'}"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
