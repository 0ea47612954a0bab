"""Record the statistical caveat warnings of one estimation step as messages of the run."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def record_caveats(step: str, collected: list[tuple[str, str]]) -> Iterator[None]:
    """Record statistical caveat warnings of one step instead of letting them escape."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        collected.append((step, str(warning.message)))
