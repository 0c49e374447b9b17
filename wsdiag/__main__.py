"""``python -m wsdiag``."""

from wsdiag.cli import main

main()
