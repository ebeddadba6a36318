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
