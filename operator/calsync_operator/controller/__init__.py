"""The operator: kopf handlers and the sync pass they run, read top-down.

``handlers`` register with kopf and ask ``rules.triggers`` whether a pass is due;
``sync_pass.run_pass`` runs it (credentials → per-source steps → memory → conditions → the one
status write → Events and mails); ``source_step`` is one source's step (channels through
``channel_step``, then ``calsync_operator.sync``'s engine), returning what it found as a
``rules.outcomes.SourceOutcome``; ``memory`` is what the process keeps between passes, changed
only through its own methods; ``teardown`` handles deletion; ``clients`` builds Google clients
from token Secrets; ``runner`` is the operator process. ``rules`` holds the pure decisions.
"""
