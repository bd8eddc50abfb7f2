"""The one error of pulling: a Chinese message and a stable code, recorded on the failed batch or shown beside the
field that caused it."""

from __future__ import annotations


class SourceFault(Exception):
    def __init__(self, message: str, code: str = "source_fault") -> None:
        super().__init__(message)
        self.message, self.code = message, code
