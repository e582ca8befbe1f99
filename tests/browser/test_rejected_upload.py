"""After a refused upload the form keeps saying why (Create does not replace it with "Choose
the artifact file") and another file can be picked at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import ConsoleServer, World, sign_in_as
from tests.fixtures.artifacts import build_http_jar

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_refusal_stays_until_another_file_is_chosen(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World, tmp_path: Path
) -> None:
    world.add_registry_secret("http://127.0.0.1:9")
    not_a_jar = tmp_path / "x.jar"
    not_a_jar.write_text("hello, I am not a JAR\n")
    sign_in_as(context, world.alice, console_server)
    page.goto(world.project_path + "imagebuilders/create/")
    page.get_by_role("button", name="JAR").click()
    page.locator("input[name=name]").fill("hello")
    chooser = page.get_by_test_id("artifact-file")
    result = page.get_by_test_id("artifact-result")

    chooser.set_input_files(str(not_a_jar))
    # The engine's reason is a clause for the build log; here it starts the sentence.
    expect(result).to_have_text(re.compile(r"^This file is not a JAR: it is not a zip archive"))
    expect(result).to_contain_text("Choose another file.")
    expect(chooser).to_have_value("")  # cleared: the same path, once fixed, can be picked again

    page.get_by_role("button", name="Create").click()
    expect(result).to_contain_text("not a zip archive")
    expect(result).not_to_contain_text("Choose the artifact file")

    chooser.set_input_files(str(build_http_jar(tmp_path, "v1")))
    expect(page.get_by_test_id("inspection-summary")).to_contain_text("Java 17 bytecode")
    expect(result).not_to_contain_text("not a zip archive")
