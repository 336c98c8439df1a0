"""Running a parsed query against a View: the documents it matches, as a
bitmap, and the weighted text terms that rank them."""

from whoosh import query

from kb.search.analysis import PAIR_SEPARATOR
from kb.search.docsets import View

ScoringTerms = list[tuple[str, str, float]]


def evaluate(view: View, node: query.Query) -> tuple[int, ScoringTerms]:
    if isinstance(node, query.Term):
        terms = [(node.fieldname, node.text, node.boost)] if node.fieldname == "text" else []
        return view.docs(node.fieldname, node.text), terms
    if isinstance(node, query.Phrase):
        return _phrase(view, node)
    if isinstance(node, query.And):
        return _and(view, node.subqueries)
    if isinstance(node, query.Or):
        bits, terms = 0, []
        for child in node.subqueries:
            child_bits, child_terms = evaluate(view, child)
            bits |= child_bits
            terms += child_terms
        return bits, terms
    if isinstance(node, query.Not):
        bits, _ = evaluate(view, node.query)
        return view.live & ~bits, []
    if isinstance(node, query.AndNot):
        bits, terms = evaluate(view, node.a)
        excluded, _ = evaluate(view, node.b)
        return bits & ~excluded, terms
    if isinstance(node, query.AndMaybe):
        bits, terms = evaluate(view, node.a)
        _, optional = evaluate(view, node.b)
        return bits, terms + optional
    if isinstance(node, query.NumericRange):
        low, high = node.start, node.end
        if low is not None and node.startexcl:
            low += 1
        if high is not None and node.endexcl:
            high -= 1
        return view.range_docs(node.fieldname, low, high), []
    if isinstance(node, query.Every):
        return view.live, []
    raise TypeError(f"cannot evaluate {node!r}")


def _and(view: View, children: list[query.Query]) -> tuple[int, ScoringTerms]:
    bits, terms, excluded = None, [], 0
    for child in children:
        if isinstance(child, query.Not):
            child_bits, _ = evaluate(view, child.query)
            excluded |= child_bits
            continue
        child_bits, child_terms = evaluate(view, child)
        bits = child_bits if bits is None else bits & child_bits
        terms += child_terms
    if bits is None:
        bits = view.live
    return bits & ~excluded, terms


def _phrase(view: View, node: query.Phrase) -> tuple[int, ScoringTerms]:
    """Documents with every adjacent pair of the phrase's words. For two
    words that is exactly the phrase; longer phrases could in principle match
    their pairs in different places, which real text almost never does."""
    words = node.words
    if len(words) == 1:
        return evaluate(view, query.Term(node.fieldname, words[0], boost=node.boost))
    pairs = [a + PAIR_SEPARATOR + b for a, b in zip(words, words[1:], strict=False)]
    bits = view.live
    for pair in pairs:
        bits &= view.docs("pairs", pair)
    return bits, [("pairs", pair, node.boost) for pair in pairs]
