"""Run one command; write its wall time, peak RSS and exit code as JSON.

    python -I -S launch.py <result.json> <command> [args...]

Why a separate small process: on Linux a process's ``ru_maxrss`` survives
``exec`` and starts from the address space it was forked from (kernel
``setmax_mm_hiwater_rss`` at exec), so a command spawned straight from the
benchmark process (hundreds of MB: DuckDB, pandas) would report at least the
benchmark's size. Spawned from this ~10 MB launcher, it reports its own peak.
Standard library only; stdout and stderr are inherited.
"""

import json
import os
import sys
import time


def main() -> int:
    result_path, command = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    with open(result_path, "w") as f:
        json.dump({"seconds": seconds, "maxrss_kib": usage.ru_maxrss, "returncode": code}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
