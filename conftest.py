"""Root pytest configuration: the chapters' .ipynb twins are generated before collection,
so that nbval (``--nbval-lax``, see pyproject.toml) runs every chapter as a test."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def pytest_configure(config):
    from cfcourse._notebooks import sync_notebooks

    sync_notebooks(ROOT / "notebooks")
