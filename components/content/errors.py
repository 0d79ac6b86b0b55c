"""The one error this package raises for inputs it refuses and registries that refuse it."""

from __future__ import annotations


class ContentError(Exception):
    """A folder that cannot become an image, or a push that failed; the message names the path."""
