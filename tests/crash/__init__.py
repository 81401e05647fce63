"""Crash tests: a real server killed at each boundary of the sale (issue 11)."""
