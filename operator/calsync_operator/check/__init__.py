"""``calsync check``: the health verdict over every CalendarSync, the operator and the webhook.

``health`` is pure: from the objects and the probe results it decides healthy or not (with the
same idea of "failing" as the operator's alerts), the table people read and whether a mail is
due. ``command`` does the I/O around it: the probes, the Kubernetes reads, the output and the
mail with its ConfigMap memory. The options are in ``calsync_operator.cli.check``.
"""
