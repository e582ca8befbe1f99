"""Fixtures of the end-to-end tests: base images built here and a runner for pushed images."""

pytest_plugins = ["tests.fixtures.base_images", "tests.fixtures.run_image"]
