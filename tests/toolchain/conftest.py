"""Fixtures of the toolchain tests: a fake GAP SDK and a project folder."""

from tests.fake_sdk import fake_sdk, project  # noqa: F401 - fixtures
