"""``python -m minireg`` runs the same Typer app as the ``minireg`` script."""

from minireg.cli import main

main()
