"""``python -m tunelake``: the same command line as the ``tunelake`` script."""

from tunelake.platform.cli.main import run

if __name__ == "__main__":
    run()
