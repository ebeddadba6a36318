"""The bibliography: one author-year style in the text and in the list, readable labels, an address for
everything published on the web, and only the works the book cites."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from pybtex.database import parse_file

import tasks
from test_book import ROOT, toc_files

# Names may hold a non-breaking space ("van\u00a0der Maaten", as the rendered citations write it).
LABEL = re.compile(r"[^\W\d_][\w'’.-]*(?:[ \u00a0][^\W\d_][\w'’.-]*)*(?: and [^\W\d_][\w'’.-]*(?:[ \u00a0][^\W\d_][\w'’.-]*)*| et al\.)?, \d{4}[a-z]?")


def bibliography():
    return parse_file(str(ROOT / "book" / "references.bib"), "bibtex")


def cited_keys() -> set[str]:
    keys = set()
    for page in toc_files():
        text = (ROOT / f"{page}.md").read_text(encoding="utf-8")
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
            keys.update(k.strip() for k in group.split(","))
    return keys


def test_every_citation_has_an_entry():
    missing = cited_keys() - set(bibliography().entries)
    assert not missing, f"cited but not in book/references.bib: {sorted(missing)}"


def test_web_sources_have_their_address():
    """Blog posts, courses, forum threads (@misc): the reader needs the URL."""
    for key in cited_keys():
        entry = bibliography().entries[key]
        if entry.type == "misc":
            assert entry.fields.get("url", "").startswith("https://"), f"{key} has no url"
            assert entry.fields["url"].rstrip("/").count("/") >= 3, f"{key}: the url is a site, not the page"


def test_labels_are_author_year():
    import sys

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import cfcourse_sphinx

    labels = {key: cfcourse_sphinx.author_year_label(entry) for key, entry in bibliography().entries.items()}
    assert labels["keydana2018collaborative"] == "Keydana, 2018"
    assert labels["harper2015movielens"] == "Harper and Konstan, 2015"
    assert labels["koren2009matrix"] == "Koren et al., 2009"
    assert labels["google_mlcc_embeddings"] == "Google, 2024"
    for key, label in labels.items():
        assert LABEL.fullmatch(label), f"{key}: {label!r}"


@pytest.mark.slow
def test_the_list_shows_only_cited_works_with_author_year_labels(built_book):
    html = (built_book / "book" / "bibliography.html").read_text(encoding="utf-8")
    labels = [html_lib.unescape(label) for label in
              re.findall(r'<span class="label"><span class="fn-bracket">\[</span>(.*?)<span', html)]
    assert len(labels) == len(cited_keys()), f"the list shows {len(labels)} works, the book cites {len(cited_keys())}"
    for label in labels:
        assert LABEL.fullmatch(label), f"unreadable label {label!r}"


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in toc_files() if (ROOT / f"{p}.md").read_text().count("{cite}")])
def test_citations_in_the_text_are_author_year(page, built_book):
    html = (built_book / f"{page}.html").read_text(encoding="utf-8")
    cited = re.findall(r'<span class="bibtex-citation"[^>]*>\[(.*?)\]</span>', html, re.S)
    assert cited, f"{page}: no citation rendered"
    for group in cited:
        for text in re.findall(r"<a [^>]*>(.*?)</a>", group):
            text = html_lib.unescape(re.sub(r"<[^>]+>", "", text))  # "Koren <em>et al.</em>, 2009"
            assert LABEL.fullmatch(text), f"{page}: citation {text!r} is not author-year"


def test_pages_are_notebooks_or_prose():
    """(The publishing step relies on it.) Every page of the toc exists as a Markdown file."""
    for page in toc_files():
        assert (ROOT / f"{page}.md").is_file(), page
    assert set(tasks.notebook_pages()) <= set(toc_files())
