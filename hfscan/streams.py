"""Keeping standard output hfscan's own: what transformers prints while it is read goes to standard error.

Discovery and classification import transformers' modules and build its
configs, which may print (``print()`` in a config's constructor, a native
library writing to file descriptor 1).  Commands run those phases inside
:func:`stdout_to_stderr`, so ``--format json`` output always parses.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Everything written to standard output inside the block (Python's and file descriptor 1) goes to stderr."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no file descriptor 1 to move (an embedding host): Python's stream only
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)
