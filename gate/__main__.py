"""`python -m gate` runs the command line."""

from gate.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
