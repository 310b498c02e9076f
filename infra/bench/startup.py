#!/usr/bin/env python3
"""Cold-start (init) benchmark for the Lambda function binaries.

Starts a minimal fake Lambda Runtime API on 127.0.0.1, launches a function
binary against it and measures the time from process spawn to the binary's
first ``GET /2018-06-01/runtime/invocation/next`` poll. That interval is the
init cost of our code plus the Rust runtime (tokio, tracing, SDK config,
client construction), excluding Lambda's own sandbox/firecracker start and
the download/unpack of the zip. The poll is never answered: the connection is
held until the process has been killed.

Each binary is run ``--warmup`` times untimed (to get it into the page cache)
and then ``--runs`` times; the table reports the spawn-to-first-poll wall
time (min / median / p90 / max, ms), the median on-CPU time of the process
up to that point ("CPU ms": sum over its threads of
/proc/<pid>/task/*/schedstat; robust against other load on the machine,
which inflates the wall figures), the peak resident set size (VmHWM from
/proc/<pid>/status, read just before the kill, i.e. after init) in MiB, and
the binary's size. The 1/5/15-minute load average is printed before and
after: wall figures taken at a load above the core count are not cold-start
figures but scheduling delays.

Usage:
    python3 infra/bench/startup.py BIN [BIN...] [--runs N] [--warmup N]
                                   [--timeout S] [--env K=V ...] [--json FILE]

Only functions whose init makes no network call give a meaningful figure:
identity-me, identity-register, notifications-welcome-email,
analytics-registrations, platform-outbox-relay (and identity-logout,
identity-list-users, identity-set-roles, which init like identity-me).
identity-login, identity-refresh and identity-authorizer fetch the JWT
secret from Secrets Manager at init; here that call goes to
AWS_ENDPOINT_URL (127.0.0.1:9, discard port, refused), they exit before
polling and are reported as FAILED.

Python 3.11 standard library only. Talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

NEXT_PATH = "/2018-06-01/runtime/invocation/next"
INIT_ERROR_PATH = "/2018-06-01/runtime/init/error"

# Environment every function gets, as in Lambda (no network at init).
BASE_ENV = {
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    "AWS_LAMBDA_FUNCTION_VERSION": "1",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    # Discard port: refused if anything were to call AWS during init.
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_EC2_METADATA_DISABLED": "true",
}

# Per-function configuration (what template.yaml sets). Unknown binaries get
# the union, which is harmless: functions ignore variables they do not read.
FUNCTION_ENV = {
    "identity-register": {"TABLE_NAME": "t", "BOOTSTRAP_ADMIN_EMAILS": ""},
    "identity-me": {"TABLE_NAME": "t"},
    "identity-logout": {"TABLE_NAME": "t"},
    "identity-refresh": {"TABLE_NAME": "t", "JWT_SECRET_ID": "s",
                         "JWT_ISSUER": "i", "JWT_AUDIENCE": "a"},
    "identity-list-users": {"TABLE_NAME": "t"},
    "identity-set-roles": {"TABLE_NAME": "t"},
    "identity-login": {"TABLE_NAME": "t", "JWT_SECRET_ID": "s",
                       "JWT_ISSUER": "i", "JWT_AUDIENCE": "a"},
    "identity-authorizer": {"JWT_SECRET_ID": "s", "JWT_ISSUER": "i",
                            "JWT_AUDIENCE": "a"},
    "notifications-welcome-email": {"TABLE_NAME": "t", "BUCKET_NAME": "b",
                                    "EMAIL_FROM": "a@example.com"},
    "analytics-registrations": {"TABLE_NAME": "t", "BUCKET_NAME": "b"},
    "platform-outbox-relay": {
        "TOPIC_ARN": "arn:aws:sns:us-east-1:000000000000:t"},
}
UNION_ENV: dict[str, str] = {}
for _env in FUNCTION_ENV.values():
    UNION_ENV.update(_env)


@dataclass
class Run:
    """State of the one process currently under test."""

    polled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    poll_time: float | None = None
    init_error: str | None = None


class RuntimeApi(http.server.ThreadingHTTPServer):
    daemon_threads = True
    current: Run | None = None


class Handler(http.server.BaseHTTPRequestHandler):
    server: RuntimeApi
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # silence default stderr logging
        pass

    def do_GET(self) -> None:
        now = time.perf_counter()
        run = self.server.current
        if self.path != NEXT_PATH or run is None:
            self._reply(404, b"{}")
            return
        if run.poll_time is None:
            run.poll_time = now
            run.polled.set()
        # Hold the connection: no invocation is ever handed out.
        run.release.wait(timeout=600)
        self.close_connection = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        run = self.server.current
        if self.path == INIT_ERROR_PATH and run is not None:
            run.init_error = body.decode("utf-8", "replace")[:500]
            run.polled.set()
        self._reply(202, b'{"status":"OK"}')

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def read_hwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def read_cpu_ns(pid: int) -> int | None:
    """On-CPU time of all live threads (first field of each task's
    /proc/<pid>/task/<tid>/schedstat, ns). Unlike wall time it barely moves
    when other processes compete for the cores."""
    total, seen = 0, False
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as f:
                total += int(f.read().split()[0])
                seen = True
        except (OSError, ValueError, IndexError):
            pass
    return total if seen else None


def one_run(server: RuntimeApi, binary: str, env: dict[str, str],
            timeout: float) -> tuple[float, int | None]:
    """Returns (init ms, VmHWM KiB). Raises RuntimeError on failure."""
    run = Run()
    server.current = run
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = start + timeout
            while not run.polled.wait(timeout=0.05):
                if proc.poll() is not None or time.perf_counter() > deadline:
                    break
            hwm = read_hwm_kib(proc.pid)
            cpu = read_cpu_ns(proc.pid)
        finally:
            proc.kill()
            proc.wait()
            run.release.set()
            server.current = None
        if run.poll_time is None:
            err.seek(0)
            tail = err.read()[-800:].decode("utf-8", "replace")
            why = (f"init error posted: {run.init_error}" if run.init_error
                   else f"exit code {proc.returncode}" if proc.returncode
                   not in (None, -9) else f"no poll within {timeout}s")
            raise RuntimeError(f"{binary}: {why}\n{tail}")
    return (run.poll_time - start) * 1000.0, hwm, cpu


def load_average() -> str:
    """1/5/15-minute load average: the figures are only as quiet as this."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(values)
    rank = max(1, -(-9 * len(ordered) // 10))  # ceil(0.9 * n)
    return ordered[rank - 1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binaries", nargs="+", metavar="BIN")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=1,
                    help="untimed runs per binary first (default 1)")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="seconds to wait for the first poll (default 10)")
    ap.add_argument("--env", action="append", default=[], metavar="K=V",
                    help="extra environment variable for every binary")
    ap.add_argument("--json", metavar="FILE",
                    help="also write raw samples as JSON to FILE")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be >= 1")

    server = RuntimeApi(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    home = tempfile.mkdtemp(prefix="startup-bench-home-")  # no ~/.aws

    rows, raw, failed = [], {}, False
    names = [os.path.basename(os.path.abspath(b)) for b in args.binaries]
    print(f"loadavg at start: {load_average()}", flush=True)
    for binary in args.binaries:
        path = os.path.abspath(binary)
        name = os.path.basename(path)
        # Same binary name from several build dirs: label it dir/name.
        label = (os.path.join(os.path.basename(os.path.dirname(path)), name)
                 if names.count(name) > 1 else name)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
               **BASE_ENV, **FUNCTION_ENV.get(name, UNION_ENV),
               "AWS_LAMBDA_FUNCTION_NAME": name,
               "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}"}
        for kv in args.env:
            k, _, v = kv.partition("=")
            env[k] = v
        times, hwms, cpus = [], [], []
        try:
            for i in range(args.warmup + args.runs):
                ms, hwm, cpu = one_run(server, path, env, args.timeout)
                if i >= args.warmup:
                    times.append(ms)
                    if hwm is not None:
                        hwms.append(hwm)
                    if cpu is not None:
                        cpus.append(cpu / 1e6)
        except RuntimeError as e:
            print(f"FAILED {e}", file=sys.stderr)
            failed = True
            continue
        raw[label] = {"path": path, "init_ms": times, "init_cpu_ms": cpus,
                     "vmhwm_kib": hwms, "size_bytes": os.path.getsize(path)}
        rows.append((label, len(times), min(times), statistics.median(times),
                     p90(times), max(times),
                     statistics.median(cpus) if cpus else float("nan"),
                     statistics.median(hwms) / 1024 if hwms else float("nan"),
                     os.path.getsize(path) / 1024 / 1024))

    server.shutdown()
    print(f"loadavg at end:   {load_average()}")
    if rows:
        header = ("binary", "runs", "min ms", "median ms", "p90 ms", "max ms",
                  "CPU ms", "VmHWM MiB", "size MiB")
        width = max(len(header[0]), *(len(r[0]) for r in rows))
        print(f"{header[0]:<{width}}  " + "  ".join(f"{h:>9}" for h in header[1:]))
        for r in rows:
            print(f"{r[0]:<{width}}  {r[1]:>9}  " +
                  "  ".join(f"{v:>9.2f}" for v in r[2:]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(raw, f, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
