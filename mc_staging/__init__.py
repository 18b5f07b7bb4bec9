"""mc_staging: the reference multi-region MC staging target that runs on loopback.

Three region processes (SQLite WAL each), asynchronous A/A replication, a GLB and a control
plane (rollout, flags, tripwires, DR, autonomy, faults), operated through the ``mc-staging`` CLI.
The suite (``pytest_mc``) only ever talks to it through ``docs/target-contract.md``.
"""

from __future__ import annotations

__version__ = "0.3.1"
