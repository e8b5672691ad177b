"""Graceful shutdown on SIGTERM: /readyz fails at once, requests are served for the shutdown
delay, then the server stops accepting, answers with Connection: close, finishes what is in
flight and exits 0 within the grace period. No request sent to it goes unanswered."""

import http.client
import signal
import socket
import threading
import time
import unittest

import harness


class ShutdownTest(unittest.TestCase):
    def setUp(self):
        self.pki = harness.shared_pki()
        self.workspace = harness.Workspace(self.pki)
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
        self.workspace.cleanup()

    def start(self, *args):
        self.server = harness.Server(self.workspace, *args)
        return self.server

    def wait_exit(self, timeout):
        return self.server.process.wait(timeout=timeout)

    def test_sigterm_mid_stream_fails_no_request_and_exits_0(self):
        server = self.start("--shutdown-delay", "1s", "--shutdown-grace", "5s")
        body = harness.read_bytes(harness.data_file("admission-pod.json"))
        expected = harness.review_output(self.workspace.policy_file,
                                         harness.data_file("admission-pod.json"))
        with harness.Load(server, body, expected, keep_alive=3, fresh=1,
                          tolerate_refused=True) as load:
            harness.wait_until(lambda: load.count() >= 50, message="no traffic")
            signalled = time.monotonic()
            server.signal(signal.SIGTERM)
            # Readiness fails at once; liveness does not.
            harness.wait_until(lambda: server.request("GET", "/readyz")[0] == 503, timeout=0.5,
                               interval=0.02, message="/readyz did not fail at once")
            self.assertEqual(server.request("GET", "/healthz")[0], 200)
            # Still serving during the delay.
            served = load.count()
            harness.wait_until(lambda: load.count() >= served + 50, timeout=0.9,
                               message="requests not served during the shutdown delay")
            code = self.wait_exit(timeout=10)
            stopped = time.monotonic()
        self.assertEqual(code, 0)
        self.assertEqual(load.failures, [])
        self.assertGreater(load.closed_by_server, 0, "no response said Connection: close")
        self.assertGreaterEqual(stopped - signalled, 1.0)
        self.assertLess(stopped - signalled, 1.0 + 5.0)
        server.wait_for_log(lambda l: l.get("msg") == "stopped")

    def test_a_request_in_flight_is_finished_with_connection_close(self):
        server = self.start("--shutdown-delay", "200ms", "--shutdown-grace", "5s")
        body = harness.read_bytes(harness.data_file("denied-pod.json"))
        expected = harness.review_output(self.workspace.policy_file,
                                         harness.data_file("denied-pod.json"))
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            with server.context().wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"POST /validate?timeout=10s HTTP/1.1\r\nHost: localhost\r\n"
                            b"Content-Type: application/json\r\nContent-Length: " +
                            str(len(body)).encode() + b"\r\n\r\n" + body[:100])
                time.sleep(0.2)
                server.signal(signal.SIGTERM)
                server.wait_for_log(lambda l: l.get("msg", "").startswith("stopped accepting"))
                with self.assertRaises(OSError):
                    socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
                tls.sendall(body[100:])
                response = b""
                while expected not in response:
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    response += chunk
        self.assertTrue(response.startswith(b"HTTP/1.1 200 OK"), response[:200])
        self.assertIn(b"Connection: close", response)
        self.assertTrue(response.endswith(expected))
        self.assertEqual(self.wait_exit(timeout=10), 0)

    def test_after_a_connection_close_answer_reconnecting_is_refused(self):
        # The listener closes before any answer says Connection: close: a client that
        # reconnects on that answer is refused at once, never accepted and then cut.
        server = self.start("--shutdown-delay", "300ms", "--shutdown-grace", "5s")
        outcomes = []
        lock = threading.Lock()
        signalled = threading.Event()

        def client():
            conn = server.connection()
            try:
                while True:
                    status, headers, _ = server.request("GET", "/healthz", connection=conn)
                    if headers.get("connection", "").lower() == "close":
                        break
                    if not signalled.is_set():
                        time.sleep(0.005)
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    outcomes.append(f"request failed: {error!r}")
                return
            finally:
                conn.close()
            try:
                raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            except ConnectionRefusedError:
                with lock:
                    outcomes.append("refused")
                return
            with lock:
                outcomes.append("accepted after Connection: close")
            raw.close()

        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(0.2)
        signalled.set()
        server.signal(signal.SIGTERM)
        for thread in threads:
            thread.join(timeout=15)
        self.assertEqual(outcomes, ["refused"] * 8)
        self.assertEqual(self.wait_exit(timeout=10), 0)

    def test_the_grace_period_bounds_the_exit(self):
        server = self.start("--shutdown-delay", "100ms", "--shutdown-grace", "1s",
                            "--read-timeout", "60s")
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            with server.context().wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"POST /validate HTTP/1.1\r\nHost: local")  # and never more
                time.sleep(0.1)
                signalled = time.monotonic()
                server.signal(signal.SIGTERM)
                self.assertEqual(self.wait_exit(timeout=10), 0)
                self.assertLess(time.monotonic() - signalled, 0.1 + 1.0 + 1.0)
        server.wait_for_log(lambda l: l.get("msg", "").startswith("shutdown grace period over"))

    def test_idle_keep_alive_connections_do_not_hold_the_exit(self):
        server = self.start("--shutdown-delay", "100ms", "--shutdown-grace", "10s")
        connections = [server.connection() for _ in range(5)]
        for conn in connections:
            self.assertEqual(server.request("GET", "/healthz", connection=conn)[0], 200)
        signalled = time.monotonic()
        server.signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(timeout=10), 0)
        self.assertLess(time.monotonic() - signalled, 0.1 + 3.0)
        for conn in connections:
            conn.close()


if __name__ == "__main__":
    unittest.main()
