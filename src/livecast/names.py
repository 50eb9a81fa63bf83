"""Which app and stream names from the network livecast accepts.

Names reach URLs and, for HLS and recordings, file paths, so every input (RTMP
publish/play, HTTP paths) checks them here, once, with the same rule.
"""

MAX_NAME_LENGTH = 255


def bad_name(name: str) -> str | None:
    """Why a name from the network is refused, or None."""
    if not name:
        return "empty stream name"
    if len(name) > MAX_NAME_LENGTH:
        return f"stream name longer than {MAX_NAME_LENGTH} characters"
    if "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        return "stream name may not contain '/', '\\', NUL or be '.' or '..'"
    if any(ord(c) < 0x20 for c in name):
        return "stream name contains control characters"
    return None
