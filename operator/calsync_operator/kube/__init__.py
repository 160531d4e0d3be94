"""Kubernetes for every role: one way to log in, and the operator's own calls.

``connect``: ``load_configuration`` — a Pod's ServiceAccount, else the kubeconfig — used by the
operator, the webhook and the commands for people, plus ``connect`` with the one-line errors a
person at a terminal needs; ``login``: the operator's own login, without the official client
(the webhook and the commands use ``connect``); ``client``: the operator's calls outside kopf,
on aiohttp — the CalendarSync status patch, token Secrets and their write-back;
``lean_bodies``: watch events reach kopf without ``managedFields`` and with shared strings. Nothing here knows how a pass works; the controller decides what to
write.
"""
