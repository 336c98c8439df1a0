"""Exports of debriefs, themes and practices as CSV, XLSX and JSON.

rows.py turns what a user may read into plain row dicts (generators, read in
batches); formats.py writes them out as a stream of chunks; routes.py and the
`kb export` command hand them to the browser or a file."""
