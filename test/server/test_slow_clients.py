"""Slow and idle clients (slowloris) cannot starve the others: every step of a connection has
a deadline, and connections past their deadline are closed."""

import json
import re
import socket
import ssl
import threading
import time
import unittest

import harness

TIMEOUTS = ["--handshake-timeout", "1s", "--read-timeout", "1s", "--idle-timeout", "2s",
            "--write-timeout", "1s"]


def closed_by_peer(sock, within):
    """True when the server closes `sock` within `within` seconds."""
    sock.settimeout(within)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


def big_unconfined_pod(containers):
    """A pod AdmissionReview with `containers` Unconfined containers, as bytes."""
    spec = {"containers": [{"name": f"c{i}", "image": "busybox",
                            "securityContext": {"seccompProfile": {"type": "Unconfined"}}}
                           for i in range(containers)]}
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
              "request": {"uid": "0f0e0d0c-big", "operation": "CREATE",
                          "kind": {"group": "", "version": "v1", "kind": "Pod"},
                          "resource": {"group": "", "version": "v1", "resource": "pods"},
                          "namespace": "default", "userInfo": {"username": "alice"},
                          "object": {"apiVersion": "v1", "kind": "Pod",
                                     "metadata": {"name": "big", "namespace": "default"},
                                     "spec": spec}}}
    return json.dumps(review, separators=(",", ":")).encode()


class SlowClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = harness.shared_pki()
        cls.workspace = harness.Workspace(cls.pki)
        cls.server = harness.Server(cls.workspace, *TIMEOUTS)
        cls.body = harness.read_bytes(harness.data_file("admission-pod.json"))
        cls.expected = harness.review_output(cls.workspace.policy_file,
                                             harness.data_file("admission-pod.json"))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.workspace.cleanup()

    def tls(self):
        raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        return self.server.context().wrap_socket(raw, server_hostname="localhost")

    def test_slow_and_silent_clients_do_not_starve_a_normal_one(self):
        silent = [socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
                  for _ in range(100)]
        trickling = [self.tls() for _ in range(20)]
        slow_body = [self.tls() for _ in range(10)]
        stop = threading.Event()

        def trickle():
            head = b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            body_head = (b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                         b"application/json\r\nContent-Length: 100000\r\n\r\n")
            for sock in slow_body:
                sock.sendall(body_head)
            i = 0
            while not stop.is_set() and i < len(head):
                for sock in trickling + slow_body:
                    try:
                        sock.sendall(head[i:i + 1] if sock in trickling else b" ")
                    except OSError:
                        pass
                i += 1
                stop.wait(0.1)

        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        try:
            latencies = []
            conn = self.server.connection()
            for i in range(40):
                started = time.monotonic()
                if i % 4 == 0:  # some on new connections (new handshakes), the rest keep-alive
                    status, _, data = self.server.post("/validate", self.body)
                else:
                    status, _, data = self.server.post("/validate", self.body, connection=conn)
                latencies.append(time.monotonic() - started)
                self.assertEqual(status, 200)
                self.assertEqual(data, self.expected)
                time.sleep(0.02)
            conn.close()
            self.assertLess(max(latencies), 0.5, latencies)
            # Each slow connection is cut at its deadline (1 s, plus scheduling slack).
            started = time.monotonic()
            for sock in silent[:10] + trickling[:5] + slow_body[:5]:
                self.assertTrue(closed_by_peer(sock, within=max(0.1, started + 3 - time.monotonic())),
                                "a slow connection outlived its deadline")
            harness.wait_until(lambda: self.server.metric("seccomp_gate_connections") <= 1,
                               timeout=5, message="slow connections still open")
        finally:
            stop.set()
            trickler.join()
            for sock in silent + trickling + slow_body:
                sock.close()

    def test_a_client_that_never_reads_its_answer_is_cut_at_the_write_timeout(self):
        # Answers are bounded (a denial reports 32 findings, then a count), so a large answer
        # is many pipelined ones: 3000 denials of a few KiB each, more than the kernel buffers of
        # both ends hold once the client's receive window is tiny.
        body = big_unconfined_pod(40)
        request = (b"POST /validate HTTP/1.1\r\nHost: localhost\r\n"
                   b"Content-Type: application/json\r\n"
                   b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        count = 3000
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(10)
        raw.connect(("127.0.0.1", self.server.port))
        sock = self.server.context().wrap_socket(raw, server_hostname="localhost")

        def send():
            try:
                sock.sendall(request * count)
            except OSError:
                pass  # cut while sending: the server stopped reading and closed

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        try:
            # Not reading: the server's write stalls, then its 1 s deadline cuts the connection.
            # (The connection that asks for /metrics is the one left.)
            harness.wait_until(lambda: self.server.metric("seccomp_gate_connections") <= 1,
                               timeout=8, message="the stalled write was never cut")
            received = b""
            sock.settimeout(5)
            try:
                while chunk := sock.recv(65536):
                    received += chunk
            except (ssl.SSLError, ConnectionResetError, socket.timeout):
                pass  # the TLS stream ends without close_notify: it was cut
            answers = received.count(b"HTTP/1.1 200")
            self.assertGreater(answers, 0)
            self.assertLess(answers, count, "every answer arrived: no write timeout")
            self.assertTrue(received.startswith(b"HTTP/1.1 200"), received[:100])
            # Meanwhile everyone else was served.
            self.assertEqual(self.server.request("GET", "/healthz")[0], 200)
        finally:
            sock.close()
            sender.join(timeout=10)

    def test_idle_keep_alive_connection_is_kept_then_closed(self):
        conn = self.server.connection()
        self.assertEqual(self.server.request("GET", "/healthz", connection=conn)[0], 200)
        sock = conn.sock
        time.sleep(1.3)  # longer than the read timeout, shorter than the idle timeout
        self.assertEqual(self.server.request("GET", "/healthz", connection=conn)[0], 200)
        self.assertIs(conn.sock, sock, "idle connection was closed before the idle timeout")
        self.assertTrue(closed_by_peer(sock, within=4), "idle connection never closed")
        conn.close()


    def read_all(self, sock, within):
        """What the server sends on `sock` until it closes it (or `within` seconds pass)."""
        sock.settimeout(within)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except socket.timeout:
            received += b"<still open>"
        except (ssl.SSLError, ConnectionResetError, OSError):
            pass
        return received

    def timeouts(self, stage):
        return self.server.metric(f'seccomp_gate_request_timeouts_total{{stage="{stage}"}}')

    def test_a_partial_header_is_answered_408(self):
        before = self.timeouts("header")
        sock = self.tls()
        try:
            sock.sendall(b"POST /validate HTTP/1.1\r\nHost: localhost\r\n")
            received = self.read_all(sock, within=4)
            self.assertTrue(received.startswith(b"HTTP/1.1 408"), received[:200])
            self.assertIn(b"Connection: close", received)
            self.assertNotIn(b"<still open>", received)
        finally:
            sock.close()
        self.assertEqual(self.timeouts("header"), before + 1)
        self.server.wait_for_log(lambda l: l.get("msg") == "request timed out" and
                                 l.get("stage") == "header")

    def test_a_slow_body_is_answered_408(self):
        before = self.timeouts("body")
        sock = self.tls()
        try:
            sock.sendall(b"POST /validate HTTP/1.1\r\nHost: localhost\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
            received = self.read_all(sock, within=4)
            self.assertTrue(received.startswith(b"HTTP/1.1 408"), received[:200])
            self.assertIn(b"body", received)
        finally:
            sock.close()
        self.assertEqual(self.timeouts("body"), before + 1)
        self.server.wait_for_log(lambda l: l.get("msg") == "request timed out" and
                                 l.get("stage") == "body")

    def test_a_silent_connection_gets_no_408(self):
        # Nothing of a request came: there is nothing to answer, the connection just closes.
        sock = self.tls()
        try:
            self.assertEqual(self.read_all(sock, within=4), b"")
        finally:
            sock.close()


class TlsStartTest(unittest.TestCase):
    def test_a_client_that_never_starts_tls_is_closed_well_before_the_handshake_timeout(self):
        pki = harness.shared_pki()
        workspace = harness.Workspace(pki)
        server = harness.Server(workspace)  # the default 10 s handshake timeout
        try:
            before = server.metric("seccomp_gate_tls_handshake_errors_total")
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            started = time.monotonic()
            self.assertTrue(closed_by_peer(sock, within=6), "silent connection kept")
            self.assertLess(time.monotonic() - started, 4)
            sock.close()
            self.assertEqual(server.metric("seccomp_gate_tls_handshake_errors_total"), before + 1)
            # A client that starts TLS late but within that time is served.
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            time.sleep(1)
            with server.context().wrap_socket(sock, server_hostname="localhost") as tls:
                tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                self.assertTrue(tls.recv(4096).startswith(b"HTTP/1.1 200"))
        finally:
            server.stop()
            workspace.cleanup()


class ConnectionCapTest(unittest.TestCase):
    def test_the_cap_holds_and_frees_up(self):
        pki = harness.shared_pki()
        workspace = harness.Workspace(pki)
        server = harness.Server(workspace, "--max-connections", "4", *TIMEOUTS)
        hogs = []
        try:
            hogs = [socket.create_connection(("127.0.0.1", server.port), timeout=10)
                    for _ in range(8)]
            # The four connections over the cap wait in the backlog; the first four are cut
            # at the handshake deadline, then the next ones, and a real client gets through.
            started = time.monotonic()
            status, _, _ = server.request("GET", "/healthz")
            self.assertEqual(status, 200)
            self.assertLess(time.monotonic() - started, 5)
            self.assertLessEqual(server.metric("seccomp_gate_connections"), 4)
            server.wait_for_log(lambda l: l.get("msg", "").startswith("connection limit reached"))
        finally:
            for sock in hogs:
                sock.close()
            server.stop()
            workspace.cleanup()

    def test_the_cap_is_logged_once_per_episode(self):
        pki = harness.shared_pki()
        workspace = harness.Workspace(pki)
        server = harness.Server(workspace, "--max-connections", "4", *TIMEOUTS)
        hogs = []
        try:
            # Waves of silent connections: the cap is reached again and again for ~4 s.
            for _ in range(4):
                hogs += [socket.create_connection(("127.0.0.1", server.port), timeout=10)
                         for _ in range(6)]
                time.sleep(1)
            self.assertGreaterEqual(
                server.metric("seccomp_gate_connection_limit_reached_total"), 2)
            for sock in hogs:
                sock.close()
            hogs = []
            server.wait_for_log(lambda l: l.get("msg") == "connection limit no longer reached",
                                timeout=15)
            reached = [l for l in server.lines
                       if l.get("msg", "").startswith("connection limit reached")]
            self.assertEqual(len(reached), 1, reached)
        finally:
            for sock in hogs:
                sock.close()
            server.stop()
            workspace.cleanup()


if __name__ == "__main__":
    unittest.main()
