"""Slow and idle clients (slowloris) cannot starve the others: every step of a connection has
a deadline, and connections past their deadline are closed."""

import socket
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

    def test_idle_keep_alive_connection_is_kept_then_closed(self):
        conn = self.server.connection()
        self.assertEqual(self.server.request("GET", "/healthz", connection=conn)[0], 200)
        sock = conn.sock
        time.sleep(1.3)  # longer than the read timeout, shorter than the idle timeout
        self.assertEqual(self.server.request("GET", "/healthz", connection=conn)[0], 200)
        self.assertIs(conn.sock, sock, "idle connection was closed before the idle timeout")
        self.assertTrue(closed_by_peer(sock, within=4), "idle connection never closed")
        conn.close()


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


if __name__ == "__main__":
    unittest.main()
