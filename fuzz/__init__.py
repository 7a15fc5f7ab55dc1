"""Fuzzing harnesses for arthur_capture (atheris); see docs/reliability.md.

``fuzz.targets`` holds the targets as plain functions (no atheris needed, so the regression
tests replay crashers anywhere); ``fuzz.worker`` runs one target under atheris;
``fuzz/run.py`` runs them all for a bounded time.
"""
