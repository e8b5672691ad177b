"""bench/server/run.sh on a machine where nginx is slow to write its pid file: the benchmark waits
for it (bounded), and says clearly when it never comes, instead of failing in `pgrep -P ""`.

The script runs for real against the real `seccomp-gate serve`, with stand-ins on PATH for what a
test has no time or package for: wrk (prints a fixed result), `openssl s_time` (likewise; other
openssl commands are the real one) and nginx (a Python HTTPS server with a master and a worker
process, that writes its pid file when told to).
"""

import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import textwrap
import unittest

from harness import BINARY, SOURCE_DIR

RUN_SH = os.path.join(SOURCE_DIR, "bench", "server", "run.sh")

FAKE_WRK = """\
#!/bin/sh
echo "  Latency Distribution"
echo "     50%    1.00ms"
echo "     99%    2.00ms"
echo "  1000 requests in 1.00s, 1.00MB read"
echo "Requests/sec:   1000.00"
"""

FAKE_OPENSSL = """\
#!/bin/sh
if [ "$1" = s_time ]; then
    echo "100 connections in 1.00s; 100.00 connections/user sec, bytes read 0"
    echo "100 connections in 1 real seconds, 0 bytes read per connection"
    exit 0
fi
exec {real} "$@"
"""

# nginx -v, and nginx -c CONF -e LOG: serves HTTPS on the conf's listen address from a worker
# process; the master writes the conf's pid file after FAKE_NGINX_PID_DELAY seconds ("never": not
# at all), and ends the worker when it is told to end.
FAKE_NGINX = """\
#!/usr/bin/env python3
import http.server, os, re, signal, ssl, sys, time

if sys.argv[1:2] == ["-v"]:
    print("nginx version: nginx/0.0-fake", file=sys.stderr)
    sys.exit(0)
conf = open(sys.argv[sys.argv.index("-c") + 1]).read()
port = int(re.search(r"listen 127\\.0\\.0\\.1:(\\d+) ssl;", conf).group(1))
pid_file = re.search(r"^pid (\\S+);", conf, re.M).group(1)
cert = re.search(r"ssl_certificate (\\S+);", conf).group(1)
key = re.search(r"ssl_certificate_key (\\S+);", conf).group(1)

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass

worker = os.fork()
if worker == 0:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()

def stop(*_):
    os.kill(worker, signal.SIGKILL)
    os._exit(0)

signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
delay = os.environ.get("FAKE_NGINX_PID_DELAY", "0")
if delay != "never":
    time.sleep(float(delay))
    with open(pid_file, "w") as f:
        f.write(f"{os.getpid()}\\n")
while True:
    signal.pause()
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_executable(path, text):
    path.write_text(text)
    path.chmod(0o755)


class BenchRunScript(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [tool for tool in ("openssl", "curl", "taskset", "pgrep") if not shutil.which(tool)]
        if missing:
            raise unittest.SkipTest("bench/server/run.sh needs " + ", ".join(missing))

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="seccomp-gate-bench-test-")
        self.bin = pathlib.Path(self._tmp.name)
        write_executable(self.bin / "wrk", FAKE_WRK)
        write_executable(self.bin / "openssl", FAKE_OPENSSL.format(real=shutil.which("openssl")))
        write_executable(self.bin / "nginx", textwrap.dedent(FAKE_NGINX))

    def tearDown(self):
        self._tmp.cleanup()

    def run_bench(self, pid_delay):
        cpu = str(min(os.sched_getaffinity(0)))
        env = {**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}", "DURATION": "1s",
               "SERVER_PORT": str(free_port()), "NGINX_PORT": str(free_port()),
               "SERVER_CPU": cpu, "CLIENT_CPU": cpu, "FAKE_NGINX_PID_DELAY": pid_delay}
        return subprocess.run(["bash", RUN_SH, BINARY], env=env, capture_output=True, timeout=120,
                              check=False, stdin=subprocess.DEVNULL)

    def test_pid_file_written_after_nginx_answers(self):
        result = self.run_bench("1.5")
        output = (result.stdout + result.stderr).decode()
        self.assertEqual(result.returncode, 0, output)
        self.assertIn("# nginx 0.0-fake, fixed AdmissionReview", output)
        self.assertIn("peak RSS (worker): ", output)

    def test_no_pid_file_fails_with_a_clear_message(self):
        result = self.run_bench("never")
        self.assertEqual(result.returncode, 1, (result.stdout + result.stderr).decode())
        self.assertIn(b"run.sh: nginx wrote no pid file (", result.stderr)
        self.assertIn(b"nginx.pid) within 10 s; nginx's error log:", result.stderr)
        self.assertNotIn(b"pgrep", result.stderr)


if __name__ == "__main__":
    unittest.main()
