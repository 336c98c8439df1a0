"""Practices and lessons: peer-shared best practices from wins, and lessons
from losses, named or anonymous (SPEC §4.4).

Pages, the API and (later) exports read a practice only through
`presenters.present(practice, viewer)`, which decides what that viewer may
learn about its author and its deal.
"""
