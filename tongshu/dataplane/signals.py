"""Signals of the data plane.

`batch_applied` is sent after a batch has been applied and recorded, with `batch` and `resource` (libraries refresh
from it; quality and push listen too).
"""

from django.dispatch import Signal

batch_applied = Signal()
