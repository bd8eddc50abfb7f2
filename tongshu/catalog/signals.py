"""Signals other parts of the platform listen to (search index, data plane, notifications).

`resource_published` is sent after a version is published, inside the publishing transaction's on_commit, with
`resource`, `version` and `actor`; `resource_retired` likewise when a resource is retired.
"""

from django.dispatch import Signal

resource_published = Signal()
resource_retired = Signal()
