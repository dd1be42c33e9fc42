"""The jobs: everything that runs in a worker.

The rule the folders state: :mod:`handlers.gateways` do I/O, :mod:`handlers.decide`
decides (pure functions), :mod:`handlers.jobs` orchestrate read -> decide -> write ->
record. ``actors.py`` declares the Dramatiq actors, ``runner.py`` runs each job in its
transaction, ``middleware/`` keeps the job records. Nothing here imports ``consumer``.
"""
