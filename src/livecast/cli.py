"""Command line entry point (placeholder until the server lands)."""

import sys

from livecast import __version__


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    print(f"livecast {__version__} {' '.join(args)}".rstrip())
    return 0
