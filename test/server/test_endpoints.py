"""The endpoints of SPEC section 2 over TLS: golden AdmissionReview responses identical to
`seccomp-gate review`, keep-alive, the transport errors, health, readiness and metrics."""

import json
import random
import socket
import subprocess
import threading
import unittest

import harness

GOLDEN = [
    # (request file, endpoint)
    ("admission-pod.json", "/validate"),
    ("admission-pod.json", "/mutate"),
    ("deployment.json", "/validate"),
    ("denied-pod.json", "/validate"),
    ("unset-pod.json", "/validate"),
    ("unset-pod.json", "/mutate"),
    ("v1beta1-pod.json", "/validate"),
    ("custom-profile-pod.json", "/validate"),
    ("no-object.json", "/validate"),
    ("not-a-review.json", "/mutate"),
]

BODY_LIMIT = 256 * 1024


class EndpointTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = harness.shared_pki()
        cls.workspace = harness.Workspace(cls.pki)
        cls.server = harness.Server(cls.workspace, "--body-limit", "256Ki", "--threads", "2")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.workspace.cleanup()

    def expected(self, name, endpoint):
        return harness.review_output(self.workspace.policy_file, harness.data_file(name),
                                     mutate=endpoint == "/mutate")

    def test_golden_responses_equal_review_output(self):
        for name, endpoint in GOLDEN:
            with self.subTest(request=name, endpoint=endpoint):
                body = harness.read_bytes(harness.data_file(name))
                status, headers, data = self.server.post(endpoint, body)
                self.assertEqual(status, 200)
                self.assertEqual(headers["content-type"], "application/json")
                self.assertEqual(data, self.expected(name, endpoint))

    def test_golden_verdicts(self):
        # The goldens above must not be vacuous: allowed, denied, patched and invalid all occur.
        def response(name, endpoint):
            return json.loads(self.expected(name, endpoint))["response"]
        self.assertTrue(response("admission-pod.json", "/validate")["allowed"])
        self.assertFalse(response("denied-pod.json", "/validate")["allowed"])
        self.assertEqual(response("denied-pod.json", "/validate")["status"]["code"], 403)
        self.assertIn("patch", response("unset-pod.json", "/mutate"))
        self.assertEqual(response("no-object.json", "/validate")["status"]["code"], 400)

    def test_query_string_is_ignored(self):
        body = harness.read_bytes(harness.data_file("denied-pod.json"))
        status, _, data = self.server.post("/validate?timeout=10s", body)
        self.assertEqual(status, 200)
        self.assertEqual(data, self.expected("denied-pod.json", "/validate"))
        status, _, data = self.server.post("/mutate?timeout=30s&x=1", body)
        self.assertEqual(status, 200)
        self.assertEqual(data, self.expected("denied-pod.json", "/mutate"))

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        conn = self.server.connection()
        pod = harness.read_bytes(harness.data_file("admission-pod.json"))
        denied = harness.read_bytes(harness.data_file("denied-pod.json"))
        expected_pod = self.expected("admission-pod.json", "/validate")
        expected_denied = self.expected("denied-pod.json", "/validate")
        conn.connect()
        sock = conn.sock
        local = sock.getsockname()
        for i in range(20):
            body, expected = (pod, expected_pod) if i % 2 == 0 else (denied, expected_denied)
            status, headers, data = self.server.post("/validate", body, connection=conn)
            self.assertEqual(status, 200)
            self.assertEqual(data, expected)
            self.assertNotEqual(headers.get("connection", "").lower(), "close")
            # http.client reconnects silently when the server closes: it must not have.
            self.assertIs(conn.sock, sock)
            self.assertEqual(conn.sock.getsockname(), local)
        status, _, _ = self.server.request("GET", "/healthz", connection=conn)
        self.assertEqual(status, 200)
        self.assertIs(conn.sock, sock)
        conn.close()

    def test_pipelined_requests_are_answered_in_order(self):
        body = harness.read_bytes(harness.data_file("deployment.json"))
        request = (b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
                   b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as raw:
            with self.server.context().wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(request * 3)
                data = b""
                expected = self.expected("deployment.json", "/validate")
                while data.count(expected) < 3:
                    chunk = tls.recv(65536)
                    self.assertTrue(chunk, "connection closed early: %r" % data)
                    data += chunk
                self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 3)

    def test_chunked_request_body(self):
        body = harness.read_bytes(harness.data_file("denied-pod.json"))
        conn = self.server.connection()
        conn.putrequest("POST", "/validate")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for start in range(0, len(body), 100):
            chunk = body[start:start + 100]
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.read(), self.expected("denied-pod.json", "/validate"))
        conn.close()

    def test_unknown_path_is_404(self):
        for path in ["/", "/validate/", "/admit", "/metrics/x", "/VALIDATE"]:
            with self.subTest(path=path):
                status, _, _ = self.server.request("GET", path)
                self.assertEqual(status, 404)
        status, _, _ = self.server.post("/nope?timeout=10s", b"{}")
        self.assertEqual(status, 404)

    def test_wrong_method_is_405_with_allow(self):
        for method, path, allow in [("GET", "/validate", "POST"), ("PUT", "/mutate", "POST"),
                                    ("DELETE", "/validate?timeout=10s", "POST"),
                                    ("POST", "/healthz", "GET"), ("POST", "/metrics", "GET")]:
            with self.subTest(method=method, path=path):
                body = b"{}" if method in ("PUT", "POST") else None
                status, headers, _ = self.server.request(method, path, body=body)
                self.assertEqual(status, 405)
                self.assertEqual(headers.get("allow"), allow)

    def test_content_type_must_be_json(self):
        body = harness.read_bytes(harness.data_file("deployment.json"))
        for content_type in ["text/plain", "application/x-www-form-urlencoded",
                             "application/jsonx", "application/yaml"]:
            with self.subTest(content_type=content_type):
                status, _, _ = self.server.post("/validate", body,
                                                headers={"Content-Type": content_type})
                self.assertEqual(status, 415)
        conn = self.server.connection()
        conn.putrequest("POST", "/validate")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        self.assertEqual(conn.getresponse().status, 415)
        conn.close()
        for content_type in ["application/json; charset=utf-8", "Application/JSON"]:
            with self.subTest(content_type=content_type):
                status, _, data = self.server.post("/validate", body,
                                                   headers={"Content-Type": content_type})
                self.assertEqual(status, 200)
                self.assertEqual(data, self.expected("deployment.json", "/validate"))

    def test_body_that_is_not_json_is_400_with_a_message(self):
        for body in [b"not json", b"{\"kind\": ", b"", b"\xff\xfe"]:
            with self.subTest(body=body):
                status, headers, data = self.server.post("/validate", body)
                self.assertEqual(status, 400)
                self.assertTrue(headers["content-type"].startswith("text/plain"))
                self.assertTrue(data.strip(), "400 without a message")

    def test_body_over_the_limit_is_413(self):
        # Padding keeps the body valid JSON: only its size differs.
        review = harness.read_bytes(harness.data_file("deployment.json"))
        under = review + b" " * (BODY_LIMIT - len(review))
        status, _, data = self.server.post("/validate", under)
        self.assertEqual(status, 200)
        self.assertEqual(data, self.expected("deployment.json", "/validate"))
        over = review + b" " * (BODY_LIMIT + 1 - len(review))
        status, headers, _ = self.server.post("/validate", over)
        self.assertEqual(status, 413)
        self.assertEqual(headers.get("connection", "").lower(), "close")

    def test_body_over_the_limit_is_refused_before_it_is_sent(self):
        # Content-Length alone is enough: the client need not send the body to be told.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as raw:
            with self.server.context().wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                            b"\r\nContent-Length: 100000000\r\n\r\n")
                head = tls.recv(4096)
                self.assertTrue(head.startswith(b"HTTP/1.1 413 "), head)

    def test_curl_with_expect_100_continue(self):
        body = harness.data_file("admission-pod.json")
        result = subprocess.run(
            ["curl", "-sS", "--cacert", self.server.ca_file, "-H", "Content-Type: application/json",
             "-H", "Expect: 100-continue", "--expect100-timeout", "5", "-w", "\n%{http_code}",
             "--data-binary", "@" + body, f"https://localhost:{self.server.port}/validate"],
            capture_output=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        data, code = result.stdout.rsplit(b"\n", 1)
        self.assertEqual(code, b"200")
        self.assertEqual(data, self.expected("admission-pod.json", "/validate"))

    def test_malformed_http_is_400(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as raw:
            with self.server.context().wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"POST /validate HTTP/1.1\r\nContent-Length: abc\r\n\r\n")
                head = tls.recv(4096)
                self.assertTrue(head.startswith(b"HTTP/1.1 400 "), head)

    def test_parallel_clients_get_their_own_answers(self):
        # Two server threads, eight clients, mixed bodies: no answer crosses to another request.
        cases = [(name, endpoint, harness.read_bytes(harness.data_file(name)),
                  self.expected(name, endpoint)) for name, endpoint in GOLDEN]
        errors = []

        def client(offset):
            conn = self.server.connection()
            try:
                for i in range(30):
                    name, endpoint, body, expected = cases[(offset + i) % len(cases)]
                    status, _, data = self.server.post(endpoint, body, connection=conn)
                    if status != 200 or data != expected:
                        errors.append((name, endpoint, status, data[:100]))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(repr(error))
            finally:
                conn.close()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(errors, [])

    def test_garbage_does_not_take_the_server_down(self):
        rng = random.Random(1234)
        handshake_errors = self.server.metric("seccomp_gate_tls_handshake_errors_total")
        # Plain HTTP, and random bytes, where a TLS handshake is expected.
        for payload in [b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                        bytes(rng.getrandbits(8) for _ in range(2000))]:
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as raw:
                raw.sendall(payload)
                raw.settimeout(5)
                try:
                    while raw.recv(4096):
                        pass
                except OSError:
                    pass
        # Random bytes, and random header lines, inside TLS.
        for i in range(20):
            if i % 2:
                payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000)))
            else:
                payload = (b"POST /validate HTTP/1.1\r\n" +
                           b"".join(bytes(rng.choice(b"abcXYZ:;, \t\r\n-0123456789")
                                          for _ in range(40)) for _ in range(5)) + b"\r\n\r\n")
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as raw:
                with self.server.context().wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(payload)
                    tls.settimeout(3)
                    try:
                        data = tls.recv(4096)
                    except (OSError, socket.timeout):
                        data = b""
                    if data:
                        self.assertTrue(data.startswith(b"HTTP/1.1 "), data[:100])
        self.assertGreater(self.server.metric("seccomp_gate_tls_handshake_errors_total"),
                           handshake_errors)
        self.assertIsNone(self.server.process.poll())
        body = harness.read_bytes(harness.data_file("admission-pod.json"))
        status, _, data = self.server.post("/validate", body)
        self.assertEqual((status, data), (200, self.expected("admission-pod.json", "/validate")))

    def test_health_and_readiness(self):
        status, _, data = self.server.request("GET", "/healthz")
        self.assertEqual((status, data), (200, b"ok\n"))
        status, _, _ = self.server.request("GET", "/readyz?verbose")
        self.assertEqual(status, 200)

    def test_metrics_count_requests_by_endpoint_and_verdict(self):
        before = self.server.metrics()
        denied = harness.read_bytes(harness.data_file("denied-pod.json"))
        allowed = harness.read_bytes(harness.data_file("deployment.json"))
        self.server.post("/validate", denied)
        self.server.post("/validate", denied)
        self.server.post("/mutate", allowed)
        self.server.post("/mutate", b"garbage")
        after = self.server.metrics()

        def delta(name):
            return after.get(name, 0) - before.get(name, 0)
        self.assertEqual(delta('seccomp_gate_requests_total{endpoint="validate",verdict="denied"}'), 2)
        self.assertEqual(delta('seccomp_gate_requests_total{endpoint="mutate",verdict="allowed"}'), 1)
        self.assertEqual(delta('seccomp_gate_requests_total{endpoint="mutate",verdict="not_json"}'), 1)
        self.assertEqual(
            delta('seccomp_gate_request_duration_seconds_count{endpoint="validate"}'), 2)
        self.assertEqual(
            delta('seccomp_gate_request_duration_seconds_bucket{endpoint="validate",le="30"}'), 2)
        self.assertEqual(after["seccomp_gate_catalog_profiles"], 3)
        self.assertEqual(after["seccomp_gate_catalog_rejected_profiles"], 0)
        self.assertIn("seccomp_gate_requests_in_flight", after)
        self.assertIn('seccomp_gate_reloads_total{what="policy"}', after)
        self.assertIn('seccomp_gate_reload_errors_total{what="catalog"}', after)
        self.assertIn("seccomp_gate_tls_handshake_errors_total", after)

    def test_one_log_line_per_admission_request(self):
        body = harness.read_bytes(harness.data_file("denied-pod.json"))
        self.server.post("/validate?timeout=10s", body)
        line = self.server.wait_for_log(
            lambda l: l.get("msg") == "admission" and
            l.get("uid") == "0d1e7a2b-2222-4a5b-9c3d-000000000002")
        self.assertEqual(line["level"], "info")
        self.assertEqual(line["kind"], "Pod")
        self.assertEqual(line["namespace"], "shop")
        self.assertEqual(line["name"], "debug")
        self.assertEqual(line["operation"], "CREATE")
        self.assertEqual(line["verdict"], "denied")
        self.assertGreater(line["latency_ms"], 0)


class CommandLineTest(unittest.TestCase):
    def run_serve(self, *args):
        return subprocess.run([harness.BINARY, "serve", *args], capture_output=True, timeout=30)

    def test_help(self):
        result = self.run_serve("--help")
        self.assertEqual(result.returncode, 0)
        self.assertIn(b"--tls-cert", result.stdout)

    def test_bad_start_up_exits_2_with_one_line(self):
        pki = harness.shared_pki()
        cert, key = pki.server
        cases = [
            (["--tls-cert", cert, "--tls-key", key], b"--policy"),
            (["--policy", "/nonexistent/policy.yaml", "--tls-cert", cert, "--tls-key", key],
             b"/nonexistent/policy.yaml"),
            (["--policy", harness.EXAMPLE_POLICY, "--tls-cert", cert, "--tls-key",
              pki.server2[1]], b"server2.key"),
            (["--policy", harness.EXAMPLE_POLICY, "--tls-cert", "/nonexistent.crt", "--tls-key",
              key], b"/nonexistent.crt"),
            (["--policy", harness.EXAMPLE_POLICY, "--tls-cert", cert, "--tls-key", key,
              "--listen", "127.0.0.1:99999"], b"--listen"),
            (["--policy", harness.EXAMPLE_POLICY, "--tls-cert", cert, "--tls-key", key,
              "--idle-timeout", "soon"], b"--idle-timeout"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                result = self.run_serve(*args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(needle, result.stderr)
                self.assertEqual(result.stderr.count(b"\n"), 1, result.stderr)


if __name__ == "__main__":
    unittest.main()
