"""Evidence across campaigns: pool many studies' estimates into one answer per assumption."""

from flows.synthesis.file import Synthesis, load_synthesis

__all__ = ["Synthesis", "load_synthesis"]
