"""``calsync auth``: Google's installed-app OAuth sign-in that produces a token JSON.

``flow`` runs google-auth-oauthlib's flow (browser or copy-paste) for a client-secrets file; the
command (``calsync_operator.cli.auth``) writes the token into a Secret or prints its YAML.
"""
