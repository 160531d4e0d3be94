"""``calsync demo``: the whole system in one process, with no cluster and no Google account.

- ``story``: the scripted changes and what the target calendar must show after each (pure);
- ``view``: the live screen and the plain log lines, rendered from plain data (pure);
- ``world``: the in-process parts on loopback (in-memory Kubernetes API, Google emulator,
  webhook under uvicorn, kopf operator), started and stopped together;
- ``runner``: plays the story against the world and keeps the view up to date;
- ``cli``: the subcommand.

``calendarsync.yaml`` is a copy of ``examples/calendarsync.yaml`` shipped as package data (a
test keeps the two equal), so ``pip install calsync && calsync demo`` needs no clone.
"""
