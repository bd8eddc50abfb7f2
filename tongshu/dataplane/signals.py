"""Signals of the data plane.

`batch_applied(batch=…, resource=…)` is sent once a batch's rows are in the store and its status is `applied`:
data quality recomputes the score and closes overdue to-dos, libraries refresh from their sources.
"""

from __future__ import annotations

from django.dispatch import Signal

batch_applied = Signal()
