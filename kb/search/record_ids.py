"""Document number -> debrief id, for a whole view at once.

Turning a large document set into debrief ids through stored fields reads
one document at a time; the unique `key` field's term index holds every
document's key in one pass. A segment never changes once written, so its
mapping is kept per segment and shared by every view of the process."""

import threading
from array import array

from kb.search.docsets import View
from kb.search.documents import DEBRIEF, parse_key

NOT_A_DEBRIEF = -1
_by_segment: dict[tuple[str, int], array] = {}
_lock = threading.Lock()
_KEEP = 64  # segments remembered; an index has far fewer at a time


def _segment_debrief_ids(reader, segment_id: str) -> array:
    key = (segment_id, reader.doc_count_all())
    with _lock:
        found = _by_segment.get(key)
    if found is not None:
        return found
    ids = array("q", [NOT_A_DEBRIEF]) * reader.doc_count_all()
    try:
        # A key is unique: its term info holds its one document.
        for btext, info in reader.iter_field("key"):
            doc_type, doc_id = parse_key(btext.decode("utf-8"))
            if doc_type == DEBRIEF:
                ids[info.min_id()] = doc_id
    except (AttributeError, TypeError):
        for docnum in range(reader.doc_count_all()):
            if not reader.is_deleted(docnum):
                doc_type, doc_id = parse_key(reader.stored_fields(docnum)["key"])
                if doc_type == DEBRIEF:
                    ids[docnum] = doc_id
    with _lock:
        if len(_by_segment) > _KEEP:
            _by_segment.clear()
        _by_segment[key] = ids
    return ids


def debrief_ids(view: View) -> array:
    """Indexed by the view's document numbers: the debrief id of each
    (NOT_A_DEBRIEF for other document types)."""
    ids = array("q")
    for data, reader, _ in view.leaves:
        ids.extend(_segment_debrief_ids(reader, data.segment_id))
    return ids
