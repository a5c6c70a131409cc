"""``python -m tunelake``: the same command line as the ``tunelake`` script."""

import sys

from tunelake.platform.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
