"""Kubernetes for every role: how each logs in, and the operator's own calls.

``connect``: ``load_configuration`` — a Pod's ServiceAccount, else the kubeconfig, through the
official client — used by the webhook and the commands for people, plus ``connect`` with the
one-line errors a person at a terminal needs; ``login``: the operator's own login, without the
official client; ``client``: the operator's calls outside kopf, on aiohttp — the CalendarSync
status patch, token Secrets and their write-back; ``lean_bodies``: watch events reach kopf
without ``managedFields`` and with shared strings. Nothing here knows how a pass works; the
controller decides what to write.
"""
