"""The ``eventform`` commands, thin: parse arguments, call the packages below, print.

Imports: any eventform package; nothing imports it.

Started as the ``eventform`` program, a Ctrl-C or SIGTERM that arrives while the commands are still being imported
(nothing has been done yet) ends the process with one line instead of an import traceback; ``main()`` then installs
the real handlers (:mod:`eventform.cli.boundary`).
"""

import os
import signal
import sys


def _while_starting(signum: int, _frame: object) -> None:
    how = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    sys.stderr.write(f"eventform: interrupted ({how}) while starting, nothing was done; fix: run the command again\n")
    os._exit(128 + signum)


if os.path.basename(sys.argv[0]) == "eventform" or sys.argv[0] == "-m":  # the program, not a library import
    for _signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(_signum) is not signal.SIG_IGN:
            signal.signal(_signum, _while_starting)
