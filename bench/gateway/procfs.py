"""What /proc says about a process tree and a core: CPU seconds, peak RSS, core busy time."""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str]:
    text = (_PROC / str(pid) / "stat").read_text()
    # The command name (field 2) may hold spaces; everything after its ")" is space-separated.
    return text[text.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """Every live descendant of `pid`."""
    parents: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry.name))[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def tree(pid: int) -> list[int]:
    """`pid` and its descendants."""
    return [pid, *children(pid)]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by `pids` (all their threads); gone ones count 0."""
    total = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def peak_rss_mb(pids: list[int]) -> float:
    """The sum of each process's peak resident set (VmHWM), in MiB."""
    total_kb = 0
    for pid in pids:
        try:
            status = (_PROC / str(pid) / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def core_busy_seconds(core: int) -> float:
    """Seconds core `core` has spent not idle since boot (steal included: time we did not get)."""
    prefix = f"cpu{core} "
    for line in (_PROC / "stat").read_text().splitlines():
        if line.startswith(prefix):
            user, nice, system, idle, iowait, irq, softirq, steal = map(int, line.split()[1:9])
            return (user + nice + system + irq + softirq + steal) / _TICK
    raise ValueError(f"no core {core} in /proc/stat")


def pin(core: int) -> None:
    """Pin the calling process (as a Popen `preexec_fn`, the child) to one core."""
    os.sched_setaffinity(0, {core})
