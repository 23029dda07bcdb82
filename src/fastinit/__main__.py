"""``python -m fastinit``: the same as the ``fastinit`` command."""

import sys

from fastinit.cli import main

if __name__ == "__main__":
    sys.exit(main())
