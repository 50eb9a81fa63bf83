"""CPU and memory of a process tree from /proc (Linux only, no psutil).

``utime + stime`` of every live process in the tree (threads included, since
/proc/PID/stat sums them) and the sum of their VmRSS.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class TreeSample:
    cpu_s: float  # user + system seconds, whole tree
    user_s: float
    system_s: float
    rss_kb: int
    pids: tuple[int, ...]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode()
    except OSError:
        return None
    # the command name is in parentheses and may contain spaces
    return raw[raw.rindex(")") + 2 :].split()


def tree_pids(root: int) -> list[int]:
    """root and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(name))
    out = [root]
    i = 0
    while i < len(out):
        out.extend(children.get(out[i], ()))
        i += 1
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sample_tree(root: int) -> TreeSample:
    user = system = 0
    rss = 0
    pids = tree_pids(root)
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is None:
            continue
        # after "(comm) ": state=0 ppid=1 ... utime=11 stime=12
        user += int(fields[11])
        system += int(fields[12])
        rss += _rss_kb(pid)
    return TreeSample((user + system) / CLK_TCK, user / CLK_TCK, system / CLK_TCK, rss, tuple(pids))


def self_cpu() -> tuple[float, float]:
    """This process's (user, system) CPU seconds, microsecond resolution."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime, ru.ru_stime
