"""The tool version, recorded in every event."""

__version__ = "0.1.0"

TOOL = f"minireg {__version__}"
"""How events name the tool that wrote them."""
