"""Benchmarks run by `make bench`: each prints a table, and every compared figure comes
from the same run."""
