"""`kb evaluate`: labelled public feedback loaded through the API and
measured per label, in a throwaway database."""

import json
from collections import Counter
from dataclasses import replace

from click.testing import CliRunner

from kb.cli import main
from kb.evaluation.baseline import chi2, top_terms
from kb.evaluation.dataset import (
    CFPB_SAMPLE,
    DATASETS,
    SAMPLE,
    Text,
    query_terms,
    read_queries,
    read_texts,
    repair,
)
from kb.evaluation.dataset import QUERIES as QUERIES_FILE
from kb.evaluation.load import is_cut, quote_parts
from kb.evaluation.measure import found_terms

LIMIT = 100


def test_evaluate_prints_every_label_with_figures_between_0_and_1(app, tmp_path):
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(
        main, ["evaluate", "--dataset", "airline", "--limit", str(LIMIT), "--json", str(out)]
    )

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

    result = CliRunner().invoke(main, ["evaluate", "--dataset", "airline", "--csv", str(reviews)])

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


# A buyer's own labelled feedback: made-up texts, named columns, semicolons.
PRICING = [
    "The price was far above our budget for the year",
    "Their price per seat doubled at renewal",
    "We could not justify the price to finance",
    "Price came in higher than the other vendor",
    "The list price left no room for a discount",
    "A lower price from the incumbent won it",
    "The price of the add-ons was the deal breaker",
    "Finance said the price was out of line",
    "Their price made the business case fail",
    "Too high a price for a team of our size",
]
ONBOARDING = [
    "Onboarding would have taken a whole quarter",
    "The onboarding plan needed three consultants",
    "Our admins feared a long onboarding",
    "Onboarding for the regional offices was unclear",
    "The pilot showed how slow onboarding is",
    "No onboarding help in our time zone",
    "Onboarding required data we do not keep",
    "They could not commit to an onboarding date",
    "The onboarding checklist ran to forty steps",
    "Reps dreaded the onboarding sessions",
]
REPORTING = [
    "The dashboards could not show pipeline by region",
    "Dashboards were too rigid for our managers",
    "Exports lacked the dashboards we need every Monday",
    "We wanted dashboards the board could read",
    "Dashboards broke whenever a field was renamed",
    "Custom dashboards cost extra",
    "Nobody could build dashboards without help",
    "The dashboards refreshed once a day only",
    "Dashboards had no drill down",
    "Leadership preferred the dashboards of the rival",
]
OTHER = [
    "The champion left the company",
    "Legal review stalled for months",
    "A reorganisation froze all purchases",
    "The project lost its sponsor",
    "Timing was simply wrong this year",
]


def _buyer_files(tmp_path):
    data = tmp_path / "buyer.csv"
    lines = ["Account;Comment;Reason"]
    for label, texts in (
        ("Pricing", PRICING),
        ("Onboarding", ONBOARDING),
        ("Reporting", REPORTING),
        ("Something else", OTHER),
    ):
        lines += [f"Acme {i};{text};{label}" for i, text in enumerate(texts)]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    queries = tmp_path / "buyer_queries.csv"
    queries.write_text(
        "label,query,terms\n"
        "Pricing,price OR expensive,price\n"
        "Onboarding,onboarding,\n"  # no terms: the query's words are the terms
        "Reporting,dashboards OR dashboard,dashboard\n"
    )
    return data, queries


def test_any_labelled_csv_is_evaluated_with_its_own_columns_and_queries(app, tmp_path):
    data, queries = _buyer_files(tmp_path)
    out = tmp_path / "figures.json"

    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--csv",
            str(data),
            "--text-column",
            "comment",  # matched whatever its case
            "--label-column",
            "Reason",
            "--queries",
            str(queries),
            "--json",
            str(out),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "5 texts have a label with no query" in result.output
    assert "(Something else); they stay in the data as texts of no label" in result.output
    table = result.output.split("mean over labels")[0]
    for label in ("Pricing", "Onboarding", "Reporting"):
        assert f"\n{label}" in table
    figures = json.loads(out.read_text())
    assert figures["texts"] == 35
    assert figures["labels_without_query"] == {"Something else": 5}
    rows = {row["label"]: row for row in figures["labels"]}
    assert list(rows) == ["Pricing", "Onboarding", "Reporting"]
    for row in rows.values():
        # Each label's query finds exactly its ten texts, and nothing else.
        assert row["texts"] == 10
        assert row["precision_at_20"] == row["recall"] == 1.0, row
        assert row["theme_count"] == row["theme_listed"] == row["search_results"] == 10
        assert row["theme_precision"] == row["theme_recall"] == 1.0
        # A word in every text of the label and in none of the others is
        # found by discovery and by the baseline alike.
        assert row["discovery_coverage"] == row["baseline_coverage"] == 1.0, row
    assert rows["Onboarding"]["terms"] == 1
    assert rows["Onboarding"]["discovery_found"] == ["onboarding"]


def test_starting_queries_are_written_from_the_labels_of_the_data(tmp_path):
    data, _ = _buyer_files(tmp_path)
    written = tmp_path / "queries.csv"

    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--csv",
            str(data),
            "--text-column",
            "Comment",
            "--label-column",
            "Reason",
            "--write-queries",
            str(written),
        ],
    )

    assert result.exit_code == 0, result.output
    assert f"Wrote a query for each of the 4 labels to {written}" in result.output
    assert "Evaluation data in" not in result.output  # nothing was loaded
    # The most frequent labels first, with their number of texts.
    assert written.read_text().splitlines()[:2] == [
        "label,query,terms,texts",
        "Onboarding,onboarding,,10",
    ]
    assert [(q.label, q.query, q.terms) for q in read_queries(written)] == [
        ("Onboarding", "onboarding", ("onboarding",)),
        ("Pricing", "pricing", ("pricing",)),
        ("Reporting", "reporting", ("reporting",)),
        ("Something else", "something OR else", ("something", "else")),
    ]


def test_a_named_column_that_is_missing_is_refused_with_the_file_s_columns(app, tmp_path):
    data, queries = _buyer_files(tmp_path)

    result = CliRunner().invoke(
        main,
        ["evaluate", "--csv", str(data), "--text-column", "verbatim", "--label-column", "Reason"],
    )

    assert result.exit_code == 1
    assert "has no column 'verbatim'; its columns are: Account, Comment, Reason." in result.output
    assert "Evaluation data in" not in result.output


def test_only_the_airline_data_has_its_label_leak_undone_and_sentiment_filtered(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text(
        "text,label,airline_sentiment\n"
        "Late Flight again and the Cancelled Flight fee,Travel,positive\n"
    )

    texts = read_texts(other)

    assert [(t.label, t.text) for t in texts] == [
        ("Travel", "Late Flight again and the Cancelled Flight fee")
    ]


def test_a_tab_separated_file_is_read_and_terms_default_to_the_query_s_words(tmp_path):
    data = tmp_path / "reviews.tsv"
    data.write_text("review\tcondition\nSlow, then fast; fine\tspeed\n")

    assert read_texts(data, text_column="review", label_column="condition") == [
        Text("Slow, then fast; fine", "speed")
    ]
    assert query_terms('"customer service" OR hold OR rude -spam NOT "nice staff"') == (
        "customer service",
        "hold",
        "rude",
    )
    assert query_terms("(late OR delay*) AND outcome:lost") == ("late", "delay", "lost")


def test_without_the_airline_sample_installed_the_command_asks_for_a_file(
    app, tmp_path, monkeypatch
):
    missing = tmp_path / "airline_complaints_sample.csv"
    monkeypatch.setitem(DATASETS, "airline", replace(DATASETS["airline"], data=missing))

    result = CliRunner().invoke(main, ["evaluate", "--dataset", "airline"])

    assert result.exit_code == 1
    assert "The airline sample is not installed with the product" in result.output
    assert "kb evaluate --csv FILE --text-column COLUMN" in result.output


def test_by_default_the_public_domain_complaints_are_evaluated_by_issue(app, tmp_path):
    out = tmp_path / "figures.json"

    result = CliRunner().invoke(main, ["evaluate", "--limit", "80", "--json", str(out)])

    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert figures["data"].endswith("cfpb_complaints_sample.csv")
    assert figures["texts"] == 80
    issues = [q.label for q in read_queries(DATASETS["cfpb"].queries)]
    labels = [row["label"] for row in figures["labels"]]
    assert len(labels) >= 5
    assert labels == [label for label in issues if label in labels]
    assert "Incorrect information on your report" in result.output
    for row in figures["labels"]:
        for key in ("discovery_coverage", "baseline_coverage", "precision_at_20", "recall"):
            assert 0 <= row[key] <= 1, (row["label"], key, row[key])
        assert row["theme_count"] == row["theme_listed"] == row["search_results"]


def test_the_bundled_complaints_have_a_query_for_every_product_and_the_larger_issues():
    texts = read_texts(CFPB_SAMPLE, label_column="issue")
    products = Counter(t.label for t in read_texts(CFPB_SAMPLE, label_column="product"))
    issues = Counter(t.label for t in texts)

    assert len(texts) == 1532
    with_query = {q.label for q in read_queries(DATASETS["cfpb"].queries)}
    assert with_query == {label for label, n in issues.items() if n >= 30}
    product_queries = {q.label for q in read_queries(DATASETS["cfpb-products"].queries)}
    assert product_queries == {label for label, n in products.items() if n >= 25}
    assert CFPB_SAMPLE.stat().st_size <= 2_000_000


def test_a_long_complaint_is_loaded_whole_as_several_quotes():
    text = " ".join(f"word{i}" for i in range(900))  # about 6,600 characters

    parts = quote_parts(text)

    assert len(parts) == 4
    assert all(len(part) <= 2000 for part in parts)
    assert " ".join(parts) == text
    assert not is_cut(text)
    assert is_cut("x " * 25_000)


def test_your_own_file_without_queries_is_refused_with_its_labels(app, tmp_path):
    data, _ = _buyer_files(tmp_path)

    result = CliRunner().invoke(
        main,
        ["evaluate", "--csv", str(data), "--text-column", "comment", "--label-column", "reason"],
    )

    assert result.exit_code == 1
    assert "(Onboarding, Pricing, Reporting, Something else) with --queries FILE" in result.output
    assert "Evaluation data in" not in result.output
