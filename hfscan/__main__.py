"""`python -m hfscan`: the same command line as the `hfscan` script."""
from hfscan.cli import main

main()
