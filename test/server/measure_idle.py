"""Measures the server's memory per idle connection (issue 9, item 3): RSS before any
connection, with N TCP connections that have not started TLS, after the TLS handshake and one
keep-alive request on each, and after they all close.

    SECCOMP_GATE=build/dev/cli/seccomp-gate python3 test/server/measure_idle.py 1500 4000

Not a ctest test (test_hostile.IdleConnectionMemoryTest asserts a bound); this prints figures.
"""

import socket
import sys
import time

import harness


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(field + " not found")


def settle(pid, seconds=1.0):
    time.sleep(seconds)
    return rss_kib(pid)


def open_idle(server, count, request=True):
    """`count` TCP connections, then TLS on each, then one GET /healthz on each (keep-alive).
    Returns (raw sockets, tls sockets, rss after TCP, rss after TLS + request)."""
    pid = server.process.pid
    raw = [socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(count)]
    after_tcp = settle(pid)
    context = server.context()
    tls = [context.wrap_socket(sock, server_hostname="localhost") for sock in raw]
    if request:
        for sock in tls:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        for sock in tls:
            data = b""
            while b"\r\n\r\nok\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    raise AssertionError("closed: " + repr(data))
                data += chunk
    after_tls = settle(pid)
    return raw, tls, after_tcp, after_tls


def measure(count, extra_args=()):
    pki = harness.shared_pki()
    workspace = harness.Workspace(pki)
    server = harness.Server(workspace, "--handshake-timeout", "120s",
                            "--max-connections", str(count + 100), *extra_args)
    try:
        pid = server.process.pid
        base = settle(pid, 0.5)
        raw, tls, after_tcp, after_tls = open_idle(server, count)
        for sock in tls:
            sock.close()
        harness.wait_until(lambda: server.metric("seccomp_gate_connections") <= 1, timeout=30)
        after_close = settle(pid, 2.0)
        hwm = rss_kib(pid, "VmHWM")
        print(f"{count} connections: base {base} KiB; TCP only +{after_tcp - base} KiB "
              f"({(after_tcp - base) / count:.1f} KiB each); after TLS + 1 request "
              f"+{after_tls - base} KiB ({(after_tls - base) / count:.1f} KiB each); "
              f"after close +{after_close - base} KiB; VmHWM {hwm} KiB", flush=True)
    finally:
        server.stop()
        workspace.cleanup()


if __name__ == "__main__":
    for n in sys.argv[1:] or ["1500"]:
        measure(int(n))
