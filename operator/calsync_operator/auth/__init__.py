"""``calsync auth``: Google's installed-app OAuth sign-in, and the Secret that keeps the token.

``flow`` runs google-auth-oauthlib's flow (browser or copy-paste) for a client-secrets file;
``command`` checks the names and the cluster before anyone signs in, then writes the token
JSON into a Secret (or prints its YAML). The options are in ``calsync_operator.cli.auth``.
"""
