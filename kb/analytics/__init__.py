"""Figures over the debriefs: reason analytics, win rates and the perception
gap between what reps report and what buyers say. Each figure is an SQL
aggregate over submitted debriefs, returned as plain data for pages, the API
and exports."""
