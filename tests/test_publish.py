"""Publishing: the GitHub workflow, the notebooks that the launch buttons open, and their links.

The Colab and Binder buttons of every notebook page must open a runnable ``.ipynb`` that the
publishing step (``python3 tasks.py publish``, run and pushed by the workflow) produces; on Colab
its first cell installs the package and fetches the data, and elsewhere it does nothing.
"""

from __future__ import annotations

import os
import re
import sys
import types
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import jupytext
import nbformat
import pytest
import yaml

import tasks
from test_book import ROOT, toc_files

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import cfcourse_sphinx  # noqa: E402

WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
REF = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("publish") / "notebooks-branch"
    tasks.publish([], out=out, ref=REF)
    return out


def readme_commands() -> list[str]:
    """The commands of the README's "The two commands" block, without their comments."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The two commands", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip().startswith("python3")]


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def runs(job: dict) -> list[str]:
    return [line.strip() for step in steps(job) for line in str(step.get("run", "")).splitlines() if line.strip()]


def uses(job: dict, action: str) -> list[dict]:
    return [step for step in steps(job) if str(step.get("uses", "")).startswith(action + "@")]


# --------------------------------------------------------------------------------------
# The workflow
# --------------------------------------------------------------------------------------


def test_readme_has_two_commands():
    assert readme_commands() == ["python3 tasks.py book", "python3 tasks.py test"]


def test_workflow_runs_the_readme_commands_then_publishes():
    flow = workflow()
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"] and "pull_request" in triggers
    build = flow["jobs"]["build"]
    assert build["timeout-minutes"] <= 90, "CI has 90 minutes"
    commands = runs(build)
    for command in readme_commands():
        assert command in commands, f"the workflow does not run the README's command {command!r}"
    python = uses(build, "actions/setup-python")
    assert python and 3.11 <= float(python[0]["with"]["python-version"]) <= 3.13
    # publish after the two commands, then upload the site that `tasks.py book` wrote
    order = [commands.index(c) for c in [*readme_commands(), "python3 tasks.py publish"]]
    assert order == sorted(order)
    site = uses(build, "actions/upload-pages-artifact")
    assert site and site[0]["with"]["path"] == "_build/html"
    assert (tasks.ROOT / site[0]["with"]["path"]).resolve() == (tasks.ROOT / "_build" / "html").resolve()


def test_workflow_deploys_pages_and_pushes_the_notebooks_branch():
    flow = workflow()
    deploy = flow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and "refs/heads/main" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert uses(deploy, "actions/deploy-pages")
    assert deploy["environment"]["name"] == "github-pages"
    push = uses(flow["jobs"]["build"], "peaceiris/actions-gh-pages")
    assert push, "the published notebooks must be pushed to their branch"
    settings = tasks.book_settings()
    assert push[0]["with"]["publish_branch"] == settings["notebooks_branch"]
    assert (ROOT / push[0]["with"]["publish_dir"]).resolve() == tasks.PUBLISH.resolve()
    assert "refs/heads/main" in push[0]["if"]
    assert flow["jobs"]["build"]["permissions"]["contents"] == "write"


# --------------------------------------------------------------------------------------
# The published notebooks
# --------------------------------------------------------------------------------------


def test_every_notebook_page_is_published(published: Path):
    pages = tasks.notebook_pages()
    chapters = [page for page in toc_files() if page.startswith("notebooks/")]
    assert set(chapters) <= set(pages)
    found = sorted(p.relative_to(published).with_suffix("").as_posix() for p in published.rglob("*.ipynb"))
    assert found == sorted(pages)
    for page in pages:
        notebook = nbformat.read(published / f"{page}.ipynb", as_version=4)
        nbformat.validate(notebook)
        source = jupytext.read(ROOT / f"{page}.md")
        assert notebook.cells[0].metadata.get("cfcourse") == "colab-setup"
        assert [c.source for c in notebook.cells[1:]] == [c.source for c in source.cells], page
        assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")
        assert notebook.metadata["kernelspec"]["name"] == "python3"
    requirement = (published / ".binder" / "requirements.txt").read_text().strip()
    assert requirement == f"cfcourse @ git+{tasks.book_settings()['repository_url']}@{REF}"


def _run_setup_cell(source: str, monkeypatch, on_colab: bool) -> tuple[list, list]:
    import subprocess

    from cfcourse import data

    calls, loads = [], []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr(data, "load_movielens", lambda *a, **k: loads.append(a))
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "colab-setup", "exec"), {})
    return calls, loads


def test_colab_cell_does_nothing_outside_colab(published: Path, monkeypatch):
    cell = nbformat.read(published / "notebooks" / "01_data.ipynb", as_version=4).cells[0]
    calls, loads = _run_setup_cell(cell.source, monkeypatch, on_colab=False)
    assert calls == [] and loads == []


def test_colab_cell_installs_the_package_and_gets_the_data_on_colab(published: Path, monkeypatch):
    cell = nbformat.read(published / "notebooks" / "01_data.ipynb", as_version=4).cells[0]
    calls, loads = _run_setup_cell(cell.source, monkeypatch, on_colab=True)
    assert len(calls) == 1 and loads == [()]
    (command,), options = calls[0]
    assert command[0] == sys.executable and command[1:4] == ["-m", "pip", "install"]
    assert command[-1] == f"cfcourse @ git+{tasks.book_settings()['repository_url']}@{REF}"
    assert options == {"check": True}
    assert max(len(line) for line in cell.source.splitlines()) <= 88


def test_repository_url_is_written_once():
    """The repository's address appears in _config.yml only; everything else derives it."""
    url = tasks.book_settings()["repository_url"]
    needle = url.split("://", 1)[1].lower()
    skip = {".git", ".venv", "_build", "node_modules", "__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
    holders = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in skip]
        for name in files:
            path = Path(folder) / name
            if path.suffix != ".ipynb" and needle in path.read_text(encoding="utf-8", errors="ignore").lower():
                holders.append(path.relative_to(ROOT).as_posix())
    assert holders == ["_config.yml"]


# --------------------------------------------------------------------------------------
# The launch links
# --------------------------------------------------------------------------------------


def _target(url: str) -> tuple[str, str, str]:
    """(owner/name, branch, path) that a Colab or Binder link opens."""
    parsed = urlparse(url)
    if parsed.netloc == "colab.research.google.com":
        match = re.fullmatch(r"/github/([^/]+/[^/]+)/blob/([^/]+)/(.+)", parsed.path)
        assert match, url
        return match.group(1), unquote(match.group(2)), unquote(match.group(3))
    if parsed.netloc == "mybinder.org":
        match = re.fullmatch(r"/v2/gh/([^/]+/[^/]+)/([^/]+)", parsed.path)
        assert match, url
        urlpath = parse_qs(parsed.query)["urlpath"][0]
        assert urlpath.startswith("lab/tree/"), url
        return match.group(1), unquote(match.group(2)), urlpath.removeprefix("lab/tree/")
    raise AssertionError(f"not a Colab or Binder link: {url}")


def _check_target(url: str, published: Path) -> None:
    settings = tasks.book_settings()
    repo, branch, path = _target(url)
    assert f"https://github.com/{repo}" == settings["repository_url"], url
    assert branch == settings["notebooks_branch"], url
    assert path.endswith(".ipynb") and (published / path).is_file(), f"{url} opens {path}, which is not published"


def test_launch_urls_open_published_notebooks(published: Path):
    settings = tasks.book_settings()
    for page in tasks.notebook_pages():
        urls = cfcourse_sphinx.launch_urls(settings["repository_url"], settings["notebooks_branch"], page)
        assert set(urls) == {"Binder", "Colab"}
        for url in urls.values():
            _check_target(url, published)


def test_a_repository_url_that_is_not_github_is_a_clear_error():
    from sphinx.errors import ExtensionError

    with pytest.raises(ExtensionError, match="https://github.com/OWNER/NAME"):
        cfcourse_sphinx.launch_urls("https://example.org/someone/something", "notebooks", "notebooks/01_data")


@pytest.mark.slow
def test_every_launch_link_of_the_book_opens_a_published_notebook(published: Path, built_book: Path):
    html = built_book
    pages = tasks.notebook_pages()
    for page in toc_files():
        text = (html / f"{page}.html").read_text(encoding="utf-8")
        links = re.findall(r'href="(https://(?:colab\.research\.google\.com|mybinder\.org)/[^"]+)"', text)
        if page not in pages:
            assert links == [], f"{page} is not a notebook but has launch links"
            continue
        hosts = sorted(urlparse(link.replace("&amp;", "&")).netloc for link in links)
        assert hosts == ["colab.research.google.com", "mybinder.org"], f"{page}: {links}"
        for link in links:
            _check_target(link.replace("&amp;", "&"), published)


@pytest.mark.slow
def test_the_site_has_a_favicon(built_book: Path):
    html = built_book
    text = (html / "notebooks" / "01_data.html").read_text(encoding="utf-8")
    match = re.search(r'<link rel="icon" href="([^"]+)"', text)
    assert match, "no favicon link"
    assert (html / "notebooks" / match.group(1)).resolve().is_file()
