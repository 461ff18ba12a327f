"""The tool version, recorded in every event."""

__version__ = "0.1.0"
