"""The ``andersen-ev`` command line (``andersen-ev --help``; ``andersen-ev demo`` to try it).

Built on the public library only; it loads the emulator (:mod:`andersen_ev.testing`) solely
inside the ``emulator`` and ``demo`` commands.
"""

from andersen_ev.cli.app import main

__all__ = ["main"]
