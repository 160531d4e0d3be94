"""``calsync check``: the health verdict over every CalendarSync, the operator and the webhook.

``health`` is pure: from the objects and the probe results it decides healthy or not, the table
people read and whether a mail is due. The command (``calsync_operator.cli.check``) does the
probes and the sending.
"""
