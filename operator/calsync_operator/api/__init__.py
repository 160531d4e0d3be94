"""The CalendarSync API contract, pure: what the operator, the webhook and ``calsync check`` agree on.

The resource's names (group, version, plural, annotations, finalizer, copy tags), the spec as
typed frozen data with every default and a field-path error for each mistake, the condition
helpers (``lastTransitionTime`` moves only on a flip) and the timestamp formats. Nothing here
does I/O or reads the clock; every other package may import it, and it imports none of them.
"""
