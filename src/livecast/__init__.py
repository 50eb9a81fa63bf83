"""livecast: a live-streaming media server."""

__version__ = "0.1.0"
