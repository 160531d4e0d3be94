"""The operator: kopf handlers and the sync pass they run, wired from the lower packages.

``handlers`` register with kopf and decide, through ``rules.triggers``, whether a pass is due;
``sync_pass`` runs one pass over a CalendarSync (credentials → channels → sync → one status
write → Events and mails); ``source_step`` and ``channel_step`` are its per-source parts, calling
the engine in ``calsync_operator.sync``; ``teardown`` handles deletion; ``memory`` is what the
process keeps between passes; ``clients`` builds Google clients from token Secrets; ``runner``
is the operator process. ``rules`` holds the controller's pure decisions (no I/O).
"""
