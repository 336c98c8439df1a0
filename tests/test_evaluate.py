"""`kb evaluate`: labelled public feedback loaded through the API and
measured per label, in a throwaway database."""

import json

from click.testing import CliRunner

from kb.cli import main
from kb.evaluation.baseline import chi2, top_terms
from kb.evaluation.dataset import QUERIES as QUERIES_FILE
from kb.evaluation.dataset import SAMPLE, read_queries, read_texts, repair
from kb.evaluation.measure import found_terms

LIMIT = 100


def test_evaluate_prints_every_label_with_figures_between_0_and_1(app, tmp_path):
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(main, ["evaluate", "--limit", str(LIMIT), "--json", str(out)])

    assert result.exit_code == 0, result.output
    present = {t.label for t in read_texts(SAMPLE, LIMIT)}
    labels = [q.label for q in read_queries(QUERIES_FILE) if q.label in present]
    assert len(labels) >= 6
    table = result.output.split("mean over labels")[0]
    for label in labels:
        assert f"\n{label[:27]}" in table
    assert "Discovery coverage: the share of a label's defining terms" in result.output

    figures = json.loads(out.read_text())
    assert figures["texts"] == LIMIT
    assert [row["label"] for row in figures["labels"]] == labels
    assert sum(row["texts"] for row in figures["labels"]) <= LIMIT
    for row in figures["labels"]:
        for key in (
            "discovery_coverage",
            "baseline_coverage",
            "precision_at_20",
            "recall",
            "theme_precision",
            "theme_recall",
        ):
            assert 0 <= row[key] <= 1, (row["label"], key, row[key])
        # A theme counts exactly the debriefs its search link lists.
        assert row["theme_count"] == row["theme_listed"] == row["search_results"]
    # No field common to every debrief carries an analyst's word.
    assert all(row["search_results"] < LIMIT for row in figures["labels"])


def test_a_file_without_a_label_column_is_refused_clearly(app, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,stars\nGreat,5\n")

    result = CliRunner().invoke(main, ["evaluate", "--data", str(bad)])

    assert result.exit_code == 1
    assert "needs a 'text' column and a label column (negativereason or label)" in result.output
    assert "Evaluation data in" not in result.output  # refused before any database was made


def test_a_file_whose_labels_have_no_query_is_refused_clearly(app, tmp_path):
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("text,label\nToo slow,speed\nToo dear,price\n")

    result = CliRunner().invoke(main, ["evaluate", "--data", str(reviews)])

    assert result.exit_code == 1
    assert "None of the labels of" in result.output
    assert "(price, speed) has a query" in result.output
    assert "Evaluation data in" not in result.output


def test_the_full_published_file_reads_only_negative_texts_and_undoes_the_label_leak(tmp_path):
    published = tmp_path / "Tweets.csv"
    published.write_bytes(
        "tweet_id,airline_sentiment,negativereason,airline,text\n"
        "1,negative,Late Flight,United,@united delayed and Late Flight again\n"
        "2,positive,,United,@united thanks!\n"
        "3,negative,Cancelled Flight,Delta,@Delta you Cancelled Flightled my flight – why\n"
        "4,negative,,Delta,@Delta meh\n".encode("cp1252")
    )

    texts = read_texts(published)

    assert [(t.label, t.text) for t in texts] == [
        ("Late Flight", "@united delayed and late again"),
        ("Cancelled Flight", "@Delta you cancelled my flight – why"),
    ]
    assert repair("Late Flightr, reLate Flightd") == "later, related"
    assert repair("I'm Flight Booking Problems 3 tickets") == "I'm booking 3 tickets"


def test_the_baseline_ranks_by_chi2_and_keeps_only_significant_terms():
    texts = ["bag lost again"] * 8 + ["seat broken"] * 8 + ["bag fine"] * 2
    in_group = [True] * 8 + [False] * 10

    top = top_terms(texts, in_group)

    # Every text of the group, none of the rest: chi² 18; "bag" is also in
    # two of the rest: chi² 11.52, still significant.
    assert set(top[:4]) == {"lost", "again", "bag lost", "lost again"}
    assert top[4:] == ["bag"]
    # By hand: a=8 of 8 in the group, c=0 of 10 in the rest.
    assert chi2(8, 8, 0, 10) == 18.0


def test_a_defining_term_is_found_inside_a_longer_finding_after_analysis():
    findings = [("delai",), ("custom", "servic", "hold")]

    assert found_terms(["delayed", "late"], findings) == ["delayed"]
    assert found_terms(["customer service", "service customer"], findings) == ["customer service"]
