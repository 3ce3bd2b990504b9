#!/usr/bin/env python3
"""Where each server's instructions per request go, from the callgrind
profiles the io bench leaves in target/bench-io/ (full run, or quick mode
with CORO_BENCH_CALLGRIND=1):

    python3 coro-io/benches/io/attribute.py [target/bench-io]

For each server and protocol: (the 11,000-request profile - the 1,000-request
one) / 10,000, grouped by where the instructions are: the source file of
the code (inlined code counts where it was written), or, for the standard
library's inlined code, the function it was inlined into. Needs
callgrind_annotate (valgrind).
"""

import collections
import pathlib
import re
import subprocess
import sys

LINE = re.compile(r"\s*([\d,]+) \([ \d.]+%\)\s+(.*?):(.*?)(?: \[.*\])?$")


def group(path: str, function: str) -> str:
    if "examples/" in path or "benches/io/" in path:
        return "server code (shared http module, connection logic)"
    for marker, name in [
        ("/httparse-", "httparse"),
        ("coro-io/src/net", "coro-io: sockets (net)"),
        ("coro-io/src", "coro-io: event loop"),
        ("coro-core/src", "coro-core: resume, suspend, wake queue"),
        ("/tokio-", "tokio"),
        ("/mio-", "mio"),
    ]:
        if marker in path:
            return name
    if "sysdeps" in path or "nptl" in path or path.startswith("./"):
        return "libc: syscall wrappers, memcpy"
    for marker, name in [
        ("coro_io::net", "coro-io: sockets (net)"),
        ("coro_io::", "coro-io: event loop"),
        ("coro_core::", "coro-core: resume, suspend, wake queue"),
        ("tokio::", "tokio"),
        ("mio::", "mio"),
        ("httparse", "httparse"),
    ]:
        if marker in function:
            return name
    if function.startswith("io::"):
        return "server code (shared http module, connection logic)"
    return "std (inlined in a server's own loop)"


def groups(profile: pathlib.Path) -> collections.Counter:
    out = subprocess.run(
        ["callgrind_annotate", "--threshold=100", "--auto=no", str(profile)],
        capture_output=True, text=True, check=True,
    ).stdout
    c = collections.Counter()
    for line in out.splitlines():
        m = LINE.match(line)
        if m and "PROGRAM TOTALS" not in line:
            c[group(m.group(2), m.group(3))] += int(m.group(1).replace(",", ""))
    return c


def main() -> None:
    d = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-io")
    for kind in ["http", "echo"]:
        for server in ["coro", "tokio", "mio"]:
            small, large = d / f"callgrind.{server}-{kind}.1000.out", d / f"callgrind.{server}-{kind}.11000.out"
            if not (small.exists() and large.exists()):
                print(f"{server}-{kind}: no profiles in {d}")
                continue
            a, b = groups(small), groups(large)
            diff = {g: (b[g] - a[g]) / 10_000 for g in set(a) | set(b)}
            print(f"{server}-{kind}: {sum(diff.values()):.0f} instructions/request")
            for g, v in sorted(diff.items(), key=lambda x: -x[1]):
                if abs(v) >= 1:
                    print(f"  {v:7.0f}  {g}")


if __name__ == "__main__":
    main()
