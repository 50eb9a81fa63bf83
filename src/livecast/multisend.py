"""One buffer to many sockets: in one system call through io_uring, or one write each.

Real-time fan-out writes each player's new bytes once per loop turn: one ``write`` per
player and message. The kernel's share of such a write is fixed, but from Python each
one also costs an interpreted call, argument parsing and a GIL release around the
system call, which made livecast's user time twice nginx-rtmp's. ``UringSender`` hands
the kernel all of a flush's sends at once: it fills one submission entry per socket
(only the file descriptor and the length change between calls; the rest of every entry
is written once at start-up), makes one ``io_uring_enter`` that submits them and waits
for their completions, and reads the results back as a list. Every send carries
``MSG_DONTWAIT``, so a full socket answers ``-EAGAIN`` at once instead of being retried
later behind our back: when ``send_all`` returns, every byte it reports is in the
socket, and what is not is the caller's to queue in order.

Linux only (5.6+ for ``IORING_OP_SEND``). Where io_uring is missing or forbidden (old
kernels, ``kernel.io_uring_disabled``, container seccomp) ``choose`` falls back to
``write_each``, one ``os.write`` per socket with the same results. The environment
variable ``LIVECAST_FANOUT`` picks one for A/B measurements: ``auto`` (the default),
``io_uring``, ``write``, or ``transport`` (no direct writes: every byte through the
asyncio transport, the fan-out before this module).

Both write straight to the socket, past the transport that owns it: the hub only does
so for a transport that is not closing and has nothing queued (see ``Group.flush``),
and ``own_socket_fd`` gives no descriptor for TLS or non-stream transports.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import mmap
import os
import socket
import struct
import sys
from array import array
from collections.abc import Callable
from typing import Any

log = logging.getLogger("livecast.uring")

_SYS_SETUP, _SYS_ENTER = 425, 426  # x86-64 and arm64 share these numbers
_OFF_SQ_RING, _OFF_CQ_RING, _OFF_SQES = 0, 0x8000000, 0x10000000
_OP_SEND = 26
_ENTER_GETEVENTS = 1
_SETUP_SUBMIT_ALL, _SETUP_COOP_TASKRUN, _SETUP_SINGLE_ISSUER = 1 << 7, 1 << 8, 1 << 12
_MSG_DONTWAIT, _MSG_NOSIGNAL = 0x40, 0x4000
_MAP_POPULATE = 0x8000
# struct io_uring_params: 10 u32 (sq_entries .. resv[3]), then io_sqring_offsets and
# io_cqring_offsets, each 8 u32 and one u64
_PARAMS = struct.Struct("<10I8IQ8IQ")
# a 64-byte submission entry as 32-bit words: 0 opcode/flags/ioprio, 1 fd, 4-5 addr,
# 6 len, 7 msg_flags, 8-9 user_data; a 16-byte completion: 0-1 user_data, 2 res, 3 flags
_SQE_WORDS, _CQE_WORDS = 16, 4


class UringSender:
    """Sends one buffer to a list of sockets; see the module docstring."""

    def __init__(self, entries: int = 4096, buffer_bytes: int = 1 << 20) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        proto = ctypes.CFUNCTYPE(
            ctypes.c_long, ctypes.c_long, ctypes.c_long, ctypes.c_long,
            ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_long,
            use_errno=True,
        )  # fmt: skip
        self._syscall = proto(("syscall", libc))
        self.fd = self._setup(entries)
        try:
            self._map(buffer_bytes)
        except BaseException:
            os.close(self.fd)
            raise

    def _setup(self, entries: int) -> int:
        flags = _SETUP_SUBMIT_ALL | _SETUP_COOP_TASKRUN | _SETUP_SINGLE_ISSUER
        for tried in (flags, 0):  # kernels before 6.0 refuse the newer flags
            params = ctypes.create_string_buffer(_PARAMS.size)
            struct.pack_into("<3I", params, 0, 0, 0, tried)
            fd = self._syscall(_SYS_SETUP, entries, ctypes.addressof(params), 0, 0, None, 0)
            if fd >= 0:
                self._params = _PARAMS.unpack(params.raw)
                return int(fd)
            err = ctypes.get_errno()
        raise OSError(err, f"io_uring_setup: {os.strerror(err)}")

    def _map(self, buffer_bytes: int) -> None:
        p = self._params
        sq_entries, cq_entries = p[0], p[1]
        sq_head, sq_tail, sq_mask, _, _, _, sq_array = p[10:17]
        cq_head, cq_tail, cq_mask, _, _, cqes = p[19:25]
        rw = mmap.PROT_READ | mmap.PROT_WRITE
        shared = mmap.MAP_SHARED | _MAP_POPULATE
        self._sq_mm = mmap.mmap(self.fd, sq_array + 4 * sq_entries, shared, rw,
                                offset=_OFF_SQ_RING)  # fmt: skip
        self._cq_mm = mmap.mmap(self.fd, cqes + 16 * cq_entries, shared, rw,
                                offset=_OFF_CQ_RING)  # fmt: skip
        self._sqe_mm = mmap.mmap(self.fd, 64 * sq_entries, shared, rw, offset=_OFF_SQES)
        sq = memoryview(self._sq_mm).cast("I")
        cq = memoryview(self._cq_mm).cast("I")
        self._sq, self._cq = sq, cq
        self._sq_head, self._sq_tail = sq_head // 4, sq_tail // 4
        self._cq_head, self._cq_tail = cq_head // 4, cq_tail // 4
        self._sq_mask, self._cq_mask = sq[sq_mask // 4], cq[cq_mask // 4]
        self.entries = sq_entries
        self._cq_entries = cq_entries
        # the SQ array maps ring positions to entries: identity, set once
        sq[sq_array // 4 : sq_array // 4 + sq_entries] = array("I", range(sq_entries))
        self._cqe = memoryview(self._cq_mm)[cqes : cqes + 16 * cq_entries].cast("i")
        self._sqe = memoryview(self._sqe_mm).cast("I")
        self._set_buffer(buffer_bytes)
        w, n = self._sqe, sq_entries
        w[0::_SQE_WORDS] = array("I", [_OP_SEND]) * n  # opcode, flags 0, ioprio 0
        w[7::_SQE_WORDS] = array("I", [_MSG_DONTWAIT | _MSG_NOSIGNAL]) * n
        w[8::_SQE_WORDS] = array("I", range(n))  # user_data: the entry's own index

    def _set_buffer(self, size: int) -> None:
        """One staging buffer at a fixed address, which every entry points at."""
        self._buf = mmap.mmap(-1, size)
        self._buf_view = memoryview(self._buf)
        holder = ctypes.c_char.from_buffer(self._buf)
        addr = ctypes.addressof(holder)
        del holder  # the address stays valid while the mapping lives
        w, n = self._sqe, self.entries
        w[4::_SQE_WORDS] = array("I", [addr & 0xFFFFFFFF]) * n
        w[5::_SQE_WORDS] = array("I", [addr >> 32]) * n
        self.buffer_bytes = size

    def send_all(self, fds: array[int], data: bytes | bytearray | memoryview) -> list[int]:
        """Send ``data`` to every socket in ``fds``; per socket the bytes sent or -errno."""
        size = len(data)
        if size > self.buffer_bytes:
            old = self._buf_view
            self._set_buffer(1 << (size - 1).bit_length())
            old.release()
        self._buf_view[:size] = data
        out: list[int] = []
        count = len(fds)
        for first in range(0, count, self.entries):
            out += self._batch(fds[first : first + self.entries], size)
        return out

    def _batch(self, fds: array[int], size: int) -> list[int]:
        n = len(fds)
        sq, w = self._sq, self._sqe
        tail = sq[self._sq_tail]
        start = tail & self._sq_mask
        first = min(n, self.entries - start)  # entries before the ring wraps
        q = _SQE_WORDS
        w[q * start + 1 : q * (start + first) : q] = fds[:first]
        w[q * start + 6 : q * (start + first) : q] = array("I", [size]) * first
        if first < n:
            rest = n - first
            w[1 : q * rest : q] = fds[first:]
            w[6 : q * rest : q] = array("I", [size]) * rest
        sq[self._sq_tail] = (tail + n) & 0xFFFFFFFF
        done = self._syscall(_SYS_ENTER, self.fd, n, n, _ENTER_GETEVENTS, None, 0)
        if done < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"io_uring_enter: {os.strerror(err)}")
        return self._reap(n, start)

    def _reap(self, n: int, start: int) -> list[int]:
        """The n completions, put back in submission order."""
        cq, cqe = self._cq, self._cqe
        head = cq[self._cq_head]
        if ((cq[self._cq_tail] - head) & 0xFFFFFFFF) < n:
            raise OSError("io_uring: fewer completions than submissions")
        at = head & self._cq_mask
        first = min(n, self._cq_entries - at)

        def column(word: int) -> list[int]:
            c = _CQE_WORDS
            out: list[int] = cqe[c * at + word : c * (at + first) : c].tolist()
            if first < n:
                out += cqe[word : c * (n - first) : c].tolist()
            return out

        res = column(2)
        # all alike (the usual case): order does not matter; else user_data, the entry's
        # index, gives it back
        tags = None if res.count(res[0]) == n else column(0)
        cq[self._cq_head] = (head + n) & 0xFFFFFFFF
        if tags is None:
            return res
        mask = self._sq_mask
        ordered = [0] * n
        for t, r in zip(tags, res, strict=True):
            ordered[(t - start) & mask] = r
        return ordered

    def close(self) -> None:
        for view in (self._sq, self._cq, self._cqe, self._sqe, self._buf_view):
            view.release()
        for mm in (self._sq_mm, self._cq_mm, self._sqe_mm, self._buf):
            mm.close()
        os.close(self.fd)


def write_each(fds: array[int], data: bytes) -> list[int]:
    """The fallback: one ``write`` per socket, same results as ``UringSender.send_all``."""
    out: list[int] = []
    add = out.append
    write = os.write
    for fd in fds:
        try:
            add(write(fd, data))
        except OSError as exc:
            add(-(exc.errno or errno.EIO))
    return out


def open_uring() -> UringSender | None:
    """An io_uring sender, or None where the kernel does not offer one."""
    if sys.platform != "linux":
        return None
    try:
        return UringSender()
    except (OSError, ValueError, AttributeError) as exc:
        log.info("io_uring not available (%s): one write per socket", exc)
        return None


FANOUT_MODES = ("auto", "io_uring", "write", "transport")


def choose(
    mode: str | None = None,
) -> tuple[str, UringSender | None, Callable[[array[int], bytes], list[int]] | None]:
    """(what was chosen, the io_uring sender to close later, the send_all to use);
    ``mode`` defaults to ``$LIVECAST_FANOUT``, else ``auto``."""
    mode = mode or os.environ.get("LIVECAST_FANOUT") or "auto"
    if mode not in FANOUT_MODES:
        raise ValueError(f"LIVECAST_FANOUT must be one of {', '.join(FANOUT_MODES)}")
    if mode == "transport":
        return "transport", None, None
    uring = open_uring() if mode in ("auto", "io_uring") else None
    if uring is not None:
        return "io_uring", uring, uring.send_all
    return "write", None, write_each


def own_socket_fd(transport: Any) -> int:
    """A descriptor of our own (a ``dup``) for the socket under a plain TCP transport, or
    -1 when bytes must go through the transport (TLS, not a stream socket). The caller
    closes it: while it is open its number cannot be reused, even after the transport
    closed its own."""
    extra = getattr(transport, "get_extra_info", None)
    if extra is None or extra("sslcontext") is not None:
        return -1
    sock = extra("socket")
    if sock is None or sock.type != socket.SOCK_STREAM:
        return -1
    fd = int(sock.fileno())
    return os.dup(fd) if fd >= 0 else -1


def close_fd(fd: int) -> None:
    """Close a descriptor from ``own_socket_fd`` (-1: nothing to close)."""
    if fd >= 0:
        os.close(fd)
