"""Themes: named, saved searches whose figures are computed by the search
engine (which debriefs mention a theme is never stored), and discovery of
new themes among the debriefs' words and phrases."""
