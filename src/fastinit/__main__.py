"""``python -m fastinit``: the same as the ``fastinit`` command."""

import sys

if __name__ == "__main__":
    try:
        from fastinit.cli import main
    except KeyboardInterrupt:  # Ctrl-C while NumPy and the extension are still loading
        sys.stderr.write("\nfastinit: interrupted\n")
        sys.exit(130)
    sys.exit(main())
