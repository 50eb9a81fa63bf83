"""Run a coroutine on uvloop when it is installed (as livecast itself does)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def raise_nofile(want: int = 65536) -> int:
    """Raise the open-files limit as far as allowed; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def run_publisher(
    main: Callable[[], Coroutine[Any, Any, None]],
    summary: Callable[[], dict[str, object]],
    errors: tuple[type[BaseException], ...],
) -> int:
    """A bench publisher's life: run ``main`` until it ends or SIGTERM/SIGINT, then print
    ``summary()`` as one JSON line (with the error that ended it, if one did)."""

    async def amain() -> None:
        task = asyncio.create_task(main())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        run(amain())
    except errors as exc:
        print(f"publisher: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        print(json.dumps({"error": str(exc), **summary()}), flush=True)
        return 1
    print(json.dumps(summary()), flush=True)
    return 0


def publisher_arguments(description: str | None) -> argparse.ArgumentParser:
    """The options both bench publishers take."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1935)
    ap.add_argument("--app", default="live")
    ap.add_argument("--stream", default="bench")
    ap.add_argument("--file", type=Path, required=True)
    ap.add_argument("--send-log", type=Path, help="write 'timestamp wall_ms' per video message")
    return ap
