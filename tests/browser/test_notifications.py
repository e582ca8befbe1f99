"""The Notifications page in a real Chromium: an admin adds a Slack-compatible channel, sends a
test to a loopback receiver and reads the delivery log; a viewer manages only their e-mail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from notifications.models import EmailSubscription, WebhookChannel
from tests.browser.conftest import ConsoleServer, World, screenshot, sign_in_as
from tests.fixtures.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def test_admin_adds_a_channel_sends_a_test_and_reads_the_log(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    world: World,
    receiver: WebhookReceiver,
) -> None:
    sign_in_as(context, world.alice, console_server)
    page.goto(world.project_path + "notifications/")
    page.get_by_role("button", name="Add channel").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill("team-chat")
    dialog.get_by_label("Type").select_option("slack")
    dialog.get_by_label("Webhook URL").fill(receiver.url("/services/T1/B2/key-in-url"))
    dialog.get_by_label("Builds").select_option("failed_recovered")
    dialog.get_by_role("button", name="Add").click()
    expect(dialog).to_be_hidden()
    row = page.locator("[data-testid=channels] tr[data-name=team-chat]")
    expect(row).to_contain_text("127.0.0.1")
    expect(page.locator("body")).not_to_contain_text("key-in-url")

    row.get_by_role("button", name="Send test").click()
    expect(page.get_by_text("Test notification delivered.")).to_be_visible()
    [request] = receiver.wait_for(1)
    assert request.path == "/services/T1/B2/key-in-url"
    assert request.json()["text"] == "Test notification: shop"

    row.get_by_role("button", name="Delivery log").click()
    log = page.get_by_role("dialog").get_by_test_id("deliveries")
    expect(log).to_contain_text("Delivered")
    expect(log).to_contain_text("HTTP 200")
    screenshot(page, "16-notifications-delivery-log", docs=True)
    channel = WebhookChannel.objects.get()
    assert (channel.kind, channel.build_events) == ("slack", "failed_recovered")


def test_a_viewer_sets_their_own_e_mail_and_cannot_add_channels(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World
) -> None:
    sign_in_as(context, world.victor, console_server)
    page.goto(world.project_path + "notifications/")
    expect(page.get_by_role("heading", name="Webhook channels")).to_be_visible()
    expect(page.get_by_role("button", name="Add channel")).to_have_count(0)
    form = page.get_by_test_id("subscription-form")
    form.get_by_label("Builds").select_option("failed")
    form.get_by_label("Rollouts of services").check()
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved")).to_be_visible()
    subscription = EmailSubscription.objects.get()
    assert subscription.user_id == world.victor.pk  # type: ignore[attr-defined]
    assert (subscription.build_events, subscription.rollout_events) == ("failed", True)
    page.reload()
    expect(page.get_by_test_id("subscription-form").get_by_label("Builds")).to_have_value("failed")
