"""The CalendarSync API contract, pure: what the operator, the webhook and ``calsync check`` agree on.

``names`` (group, version, plural, annotations, finalizer, label, copy tags and the ids derived
from calendars and events), ``spec`` (the spec as typed frozen data with every default and a
field-path error for each mistake), ``status`` (the one type of a ``status.sources[]`` entry,
with its counts and push channels), ``conditions`` (``lastTransitionTime`` moves only on a flip;
what counts as failing), ``messages`` (an alert mail as data) and ``times`` (timestamp formats).
Nothing here does I/O or reads the clock; every other package may import it, and it imports
none of them.
"""
