"""The ``calsync`` console script: ``main`` builds the parser, one module per subcommand.

Each command module exposes ``register(subparsers)`` and stays cheap to import: what a command
runs is imported inside its function, so ``calsync --help`` loads no server, no kopf and no
Google client. The CLI is the top layer: it may import every other package; nothing imports it.
"""
