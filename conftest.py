"""Root pytest configuration: the chapters' .ipynb twins are generated before collection,
so that nbval (``--nbval-lax``, see pyproject.toml) runs every chapter as a test."""

from tasks import sync_notebooks


def pytest_configure(config):
    sync_notebooks()
