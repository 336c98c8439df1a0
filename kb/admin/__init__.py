"""Administration: users, teams, competitors, the reason taxonomy, the lists of
segments, regions, industries and product lines, the audit log, and each
user's own API tokens."""
