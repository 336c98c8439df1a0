"""Full-text search. The rest of the app calls it through this package only."""
