"""``python -m passbox``: the same as the ``passbox`` command."""

from passbox.cli import main

raise SystemExit(main())
