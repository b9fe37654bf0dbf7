"""Reporting: the paper's tables from measured summaries and reported rows, statistics, figures."""
