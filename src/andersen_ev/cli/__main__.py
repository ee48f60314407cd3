"""``python -m andersen_ev.cli``: the same as the ``andersen-ev`` command."""

import sys

from andersen_ev.cli.app import main

if __name__ == "__main__":  # pragma: no branch
    sys.exit(main())
