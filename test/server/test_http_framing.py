"""HTTP/1.1 framing details, over raw TLS sockets (issue 9, item 11): a request without Host,
transfer codings we do not decode, and Transfer-Encoding values whose last coding is not
chunked (the body length cannot be known: one 400, then the connection closes, RFC 9112 6.3)."""

import socket
import unittest

import harness


def exchange(server, request, timeout=5):
    """Sends `request` on a new TLS connection and reads until the server closes it (or the
    timeout): returns everything received."""
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    with server.context().wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except socket.timeout:
            received += b"<still open>"
        except (ConnectionResetError, OSError):
            received += b"<reset>"
        return received


def statuses(received):
    return [int(line.split()[1]) for line in received.split(b"\r\n")
            if line.startswith(b"HTTP/1.1 ")]


class FramingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = harness.shared_pki()
        cls.workspace = harness.Workspace(cls.pki)
        cls.server = harness.Server(cls.workspace, "--read-timeout", "2s")
        cls.body = harness.read_bytes(harness.data_file("admission-pod.json"))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.workspace.cleanup()

    def chunked(self, body):
        return b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"

    def test_http_1_1_without_host_is_400_and_closed(self):
        received = exchange(self.server, b"GET /healthz HTTP/1.1\r\n\r\n"
                                         b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertEqual(statuses(received), [400], received)
        self.assertIn(b"Host", received)
        self.assertIn(b"Connection: close", received)

    def test_two_host_headers_are_400(self):
        received = exchange(self.server, b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        self.assertEqual(statuses(received), [400], received)

    def test_http_1_0_without_host_is_served(self):
        received = exchange(self.server, b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertEqual(statuses(received), [200], received)

    def test_gzip_then_chunked_is_refused_not_read_as_plain_json(self):
        received = exchange(self.server,
                            b"POST /validate HTTP/1.1\r\nHost: localhost\r\n"
                            b"Content-Type: application/json\r\n"
                            b"Transfer-Encoding: gzip, chunked\r\n\r\n" + self.chunked(self.body))
        self.assertEqual(statuses(received), [501], received)
        self.assertIn(b"gzip", received)
        self.assertIn(b"Connection: close", received)

    def test_chunked_not_last_is_one_400_and_a_close(self):
        for coding in (b"chunked, identity", b"xchunked", b"chunked, chunked", b"identity"):
            with self.subTest(coding=coding):
                # The body, if read as the next request, would be a second (bad) request.
                received = exchange(self.server,
                                    b"POST /validate HTTP/1.1\r\nHost: localhost\r\n"
                                    b"Content-Type: application/json\r\n"
                                    b"Transfer-Encoding: " + coding + b"\r\n\r\n" +
                                    self.chunked(self.body))
                self.assertEqual(statuses(received), [400], received)
                self.assertIn(b"Transfer-Encoding", received)
                self.assertNotIn(b"<still open>", received)

    def test_chunked_in_any_case_is_read(self):
        received = exchange(self.server,
                            b"POST /validate HTTP/1.1\r\nHost: localhost\r\n"
                            b"Content-Type: application/json\r\nConnection: close\r\n"
                            b"Transfer-Encoding: Chunked\r\n\r\n" + self.chunked(self.body))
        self.assertEqual(statuses(received), [200], received)


if __name__ == "__main__":
    unittest.main()
