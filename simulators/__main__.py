"""``python -m simulators`` (see simulators/cli.py and docs/simulators.md)."""

from simulators.cli import main

raise SystemExit(main())
