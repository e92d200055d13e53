"""``python -m qcodec`` runs the command-line interface."""

from qcodec.cli.app import main

main()
