"""Helpers shared by more than one test area (``tests/`` is on ``sys.path`` through its
top-level conftest, so a test imports ``support.<module>``). Helpers of one area stay in that
area's own ``*_support.py`` module."""
