"""eos: the storage library behind the Eos Salt modules.

The work is done in C (eos._eos); this package only re-exports it, plus the few helpers the
Salt glue shares.
"""
from eos._eos import *  # noqa: F401,F403
from eos._eos import parse_size, run  # noqa: F401
