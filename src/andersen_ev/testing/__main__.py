"""``python -m andersen_ev.testing``: run the emulator standalone (see :mod:`.standalone`)."""

import sys

from andersen_ev.testing.standalone import main

if __name__ == "__main__":  # pragma: no branch
    sys.exit(main())
