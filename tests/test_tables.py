"""The book's tables and glued numbers share one formatter (book.number), and the ranking
comparison is one compact table: HR@10 with its interval in one column, NDCG@10 and coverage."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cfcourse import book, ranking
from test_ranking import random_encoded


def test_number_formats_like_format_without_minus_zero_or_nan():
    assert book.number(0.12345, ".3f") == "0.123"
    assert book.number(1234567, ",") == "1,234,567"
    assert book.number(-0.0001, ".3f") == "0.000"
    assert book.number(-0.0001, "+.3f") == "+0.000"
    assert book.number(-0.25, ".2f") == "-0.25"
    assert book.number(float("nan"), ".3f") == "" and book.number(None, ".1f") == ""
    assert book.number(np.float32(math.nan), ".3f") == ""
    assert book.number(np.float64(0.5), ".1%") == "50.0%"


def test_glue_text_uses_the_book_formatter():
    assert book.glue_text("pages_test_zero", -0.0002, ".3f") == "0.000"


def test_glue_text_displays_what_myst_nb_glue_displays(monkeypatch):
    import IPython.display
    from IPython.core.interactiveshell import InteractiveShell
    from myst_nb.ext.glue import glue

    InteractiveShell.instance()  # a shell, as in a notebook's kernel
    calls = []
    monkeypatch.setattr(IPython.display, "display", lambda *args, **kwargs: calls.append((args, kwargs)))
    import myst_nb.ext.glue as glue_module

    monkeypatch.setattr(glue_module, "ipy_display", lambda *args, **kwargs: calls.append((args, kwargs)))
    assert book.glue_text("pages_test_key", 0.12345, ".2f") == "0.12"
    glue("pages_test_key", book.PastedText("0.12"), display=False)
    assert len(calls) == 2 and calls[0] == calls[1], calls
    (bundle,), options = calls[0]
    assert bundle["application/papermill.record/text/markdown"] == "0.12"
    assert bundle["application/papermill.record/text/plain"] == "0.12"
    assert options["metadata"]["scrapbook"] == {"name": "pages_test_key", "mime_prefix": book.GLUE_PREFIX}


def test_glue_string_displays_what_myst_nb_glue_displays_and_keeps_a_final_zero(monkeypatch):
    import IPython.display
    from IPython.core.interactiveshell import InteractiveShell
    from myst_nb.core.variables import format_plain_text
    from myst_nb.ext.glue import glue

    InteractiveShell.instance()
    calls = []
    monkeypatch.setattr(IPython.display, "display", lambda *args, **kwargs: calls.append((args, kwargs)))
    import myst_nb.ext.glue as glue_module

    monkeypatch.setattr(glue_module, "ipy_display", lambda *args, **kwargs: calls.append((args, kwargs)))
    assert book.glue_string("pages_test_string", "0.870") == "0.870"
    glue("pages_test_string", "0.870", display=False)
    assert len(calls) == 2 and calls[0] == calls[1], calls
    (bundle,), _ = calls[0]
    assert format_plain_text(bundle["application/papermill.record/text/plain"], "s") == "0.870"
    with pytest.raises(TypeError, match="format it first"):
        book.glue_string("pages_test_string", 0.87)


def test_the_compact_comparison_has_one_interval_column_and_no_index_title():
    split = ranking.temporal_split(random_encoded(), n_test=2, n_valid=1)
    rng = np.random.default_rng(0)
    rows = [ranking.evaluate(rng.random((split.n_users, split.n_movies)), split, name=name)
            for name in ("popularity", "ranking model")]
    table = ranking.comparison_table(rows)
    shown = ranking.format_comparison(table)
    assert shown.columns.tolist() == ["HR@10 [95% CI]", "NDCG@10", "coverage %"]
    assert shown.index.tolist() == ["popularity", "ranking model"] and shown.index.name is None
    for text, (_, row) in zip(shown["HR@10 [95% CI]"], table.iterrows()):
        mean, low, high = (float(x) for x in text.replace("[", "").replace("]", "").replace(",", "").split())
        assert math.isclose(mean, row["HR@10"], abs_tol=5e-4)
        assert math.isclose(low, row["HR@10 low"], abs_tol=5e-4) and math.isclose(high, row["HR@10 high"], abs_tol=5e-4)
        assert low <= mean <= high
    timed = table.assign(**{"training s": [0.25, 30.0]})  # whole seconds: "30.0" would read as a count
    assert ranking.format_comparison(timed)["training s"].tolist() == ["<1", "30"]
    # the benchmark's printed table keeps one number per column
    wide = ranking.format_comparison(table, compact=False)
    assert {"HR@10", "low", "high", "MRR"} <= set(wide.columns)
    with pytest.raises(ValueError, match="no column 'HR@5'"):
        ranking.format_comparison(table, k=5)
    assert isinstance(shown, pd.DataFrame)


def test_the_compact_table_shortens_long_model_names_and_the_benchmark_keeps_them():
    split = ranking.temporal_split(random_encoded(), n_test=2, n_valid=1)
    rng = np.random.default_rng(0)
    names = ["popularity", "rating model (dot + bias)", "crash course softmax (bag + genres)", "bag of movies (mean)"]
    table = ranking.comparison_table(ranking.evaluate(rng.random((split.n_users, split.n_movies)), split, name=name)
                                     for name in names)
    shown = ranking.format_comparison(table).index.tolist()
    assert shown == ["popularity", "rating model", "crash course", "bag of movies"]
    assert max(len(n) for n in shown) <= ranking.SHORT_NAME_LENGTH
    assert ranking.format_comparison(table, compact=False).index.tolist() == names  # what scripts read
    # two names that would shorten to the same one keep their own
    assert ranking.short_names(["ranking model (softmax)", "ranking model (softmax over user ids)", "EASE"]) == [
        "ranking model (softmax)", "ranking model (softmax over user ids)", "EASE"]


def test_glued_numbers_reads_what_a_page_glued_numbers_and_intervals(tmp_path):
    import json

    (tmp_path / "notebooks").mkdir()
    glued = {key: {"data": {"text/plain": text}} for key, text in
             {"hr": "0.074", "ci": "0.061–0.087", "words": "0.027 to 0.047", "quoted": "'0.000'", "none": "–"}.items()}
    (tmp_path / "notebooks" / "07_x.glue.json").write_text(json.dumps(glued), encoding="utf-8")
    read = book.glued_numbers("notebooks/07_x", ["hr", "ci", "words", "quoted"], folder=tmp_path)
    assert read == [0.074, 0.061, 0.087, 0.027, 0.047, 0.0]
    assert math.isnan(book.glued_numbers("notebooks/07_x", ["none"], folder=tmp_path)[0])
    with pytest.raises(KeyError, match="glues no 'missing'"):
        book.glued_numbers("notebooks/07_x", ["missing"], folder=tmp_path)
    with pytest.raises(FileNotFoundError, match="was notebooks/08_y built"):
        book.glued_numbers("notebooks/08_y", ["hr"], folder=tmp_path)


def test_intervals_draws_one_readable_row_per_model_best_at_the_top():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from cfcourse import plots

    table = pd.DataFrame({"HR@10": [0.04, 0.08, 0.0, np.nan], "low": [0.03, 0.07, 0.0, np.nan],
                          "high": [0.05, 0.09, 0.0, np.nan]}, index=["popularity", "EASE", "ALS", "no run"])
    with matplotlib.rc_context({k: v for k, v in plots.STYLE.items() if k != "figure.hooks"}):
        ax = plots.intervals(table, reference="popularity")
        assert [t.get_text() for t in ax.get_yticklabels()] == ["ALS", "popularity", "EASE"]  # best at the top
        assert ax.get_xlim()[0] < 0 and plots.check_text_size(ax.figure) >= plots.MIN_TEXT_PX
        assert ax.figure.get_size_inches()[0] <= plots.MAX_WIDTH
        plt.close(ax.figure)
    with pytest.raises(ValueError, match="within its interval"):
        plots.intervals(table.assign(low=table["HR@10"] + 0.01))
    with pytest.raises(ValueError, match="lacks the column"):
        plots.intervals(table.drop(columns="high"))
    with pytest.raises(ValueError, match="not a row"):
        plots.intervals(table, reference="GRU")
