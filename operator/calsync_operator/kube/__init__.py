"""The operator's and the people's connection to Kubernetes.

``connect``: the kubeconfig (or in-cluster) login that the commands for people use;
``client``: the operator's own calls — the CalendarSync status patch, token Secrets, Events.
Nothing here knows how a pass works; the controller decides what to write.
"""
