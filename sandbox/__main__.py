"""``python -m sandbox``: the same as the ``passbox`` command."""

from sandbox.cli import main

raise SystemExit(main())
