"""The Google adapter: every byte that goes to Google (or the emulator) goes through here.

It implements the port the sync engine is written against (``calsync_operator.sync.port``):
``client`` builds google-api-python-client once per credential and batches writes
(``batch``), ``transport`` and ``credentials`` handle HTTP and OAuth refresh, ``retry`` decides
with tenacity on Google's reasons (``sync.reasons``), ``ratelimit`` keeps each account under its
quota, ``endpoints`` says where Google lives, ``metrics`` counts calls. See docs/google.md.
"""
