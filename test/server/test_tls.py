"""The TLS contract: TLS 1.2 minimum, ECDHE + AEAD only, no compression, ECDSA and RSA keys,
and client-certificate verification with --client-ca."""

import http.client
import ssl
import subprocess
import unittest

import harness

# Clients able to offer what the server must refuse (OpenSSL's default security level would
# refuse TLS 1.0/1.1 on the client side and make the test pass for the wrong reason).
LEGACY = "DEFAULT:@SECLEVEL=0"


def s_client(port, *args, client_cert=None, stdin=b""):
    command = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
               *args]
    if client_cert:
        command += ["-cert", client_cert[0], "-key", client_cert[1]]
    result = subprocess.run(command, input=stdin, capture_output=True, timeout=20)
    return result.returncode, result.stdout.decode(errors="replace") + \
        result.stderr.decode(errors="replace")


def negotiated(output):
    """(protocol, cipher) from s_client's output, or None when no session was established."""
    for line in output.splitlines():
        # "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" or "New, (NONE), Cipher is (NONE)"
        if line.startswith("New, "):
            protocol, _, cipher = line[len("New, "):].partition(", Cipher is ")
            if protocol == "(NONE)" or cipher.strip() in ("", "(NONE)"):
                return None
            return protocol, cipher.strip()
    return None


class EcdsaServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = harness.shared_pki()
        cls.workspace = harness.Workspace(cls.pki)
        cls.server = harness.Server(cls.workspace)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.workspace.cleanup()

    def test_tls_1_0_and_1_1_are_refused(self):
        for flag in ["-tls1", "-tls1_1"]:
            with self.subTest(version=flag):
                code, output = s_client(self.server.port, flag, "-cipher", LEGACY)
                self.assertNotEqual(code, 0, output)
                self.assertIsNone(negotiated(output), output)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(self.server.ca_file)
        context.set_ciphers(LEGACY)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            self.server.request("GET", "/healthz", connection=self.server.connection(
                context=context))

    def test_tls_1_2_and_1_3_are_accepted(self):
        code, output = s_client(self.server.port, "-tls1_2")
        self.assertEqual(code, 0, output)
        self.assertEqual(negotiated(output)[0], "TLSv1.2")
        self.assertIn("ECDHE-ECDSA-AES", negotiated(output)[1])
        self.assertIn("GCM", negotiated(output)[1])
        code, output = s_client(self.server.port, "-tls1_3")
        self.assertEqual(code, 0, output)
        self.assertEqual(negotiated(output)[0], "TLSv1.3")
        # With no version forced, the client and the server agree on 1.3.
        code, output = s_client(self.server.port)
        self.assertEqual(negotiated(output)[0], "TLSv1.3")
        self.assertIn("Compression: NONE", output)

    def test_only_ecdhe_with_aead(self):
        refused = ["AES128-GCM-SHA256",            # RSA key exchange: no forward secrecy
                   "ECDHE-ECDSA-AES128-SHA",        # CBC
                   "ECDHE-ECDSA-AES256-SHA384",     # CBC
                   "DHE-RSA-AES128-GCM-SHA256"]     # finite-field DH
        for cipher in refused:
            with self.subTest(cipher=cipher):
                code, output = s_client(self.server.port, "-tls1_2", "-cipher",
                                        cipher + ":@SECLEVEL=0")
                self.assertNotEqual(code, 0, output)
                self.assertIsNone(negotiated(output), output)
        for cipher in ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"]:
            with self.subTest(cipher=cipher):
                code, output = s_client(self.server.port, "-tls1_2", "-cipher", cipher)
                self.assertEqual(code, 0, output)
                self.assertEqual(negotiated(output), ("TLSv1.2", cipher))

    def test_renegotiation_is_refused(self):
        code, output = s_client(self.server.port, "-tls1_2", stdin=b"R\n")
        self.assertIn("RENEGOTIATING", output)
        self.assertIn("no renegotiation", output)

    def test_alpn_selects_http_1_1(self):
        code, output = s_client(self.server.port, "-alpn", "h2,http/1.1")
        self.assertEqual(code, 0, output)
        self.assertIn("ALPN protocol: http/1.1", output)

    def test_failed_handshakes_are_counted(self):
        before = self.server.metric("seccomp_gate_tls_handshake_errors_total")
        s_client(self.server.port, "-tls1_1", "-cipher", LEGACY)
        harness.wait_until(
            lambda: self.server.metric("seccomp_gate_tls_handshake_errors_total") > before,
            message="handshake error not counted")


class RsaServerTest(unittest.TestCase):
    def test_rsa_key(self):
        pki = harness.shared_pki()
        workspace = harness.Workspace(pki, server_cert=pki.server_rsa)
        server = harness.Server(workspace)
        try:
            code, output = s_client(server.port, "-tls1_2")
            self.assertEqual(code, 0, output)
            self.assertEqual(negotiated(output)[0], "TLSv1.2")
            self.assertTrue(negotiated(output)[1].startswith("ECDHE-RSA-"), output)
            code, output = s_client(server.port, "-tls1_2", "-cipher", "AES256-SHA:@SECLEVEL=0")
            self.assertIsNone(negotiated(output), output)
            body = harness.read_bytes(harness.data_file("admission-pod.json"))
            status, _, data = server.post("/validate", body)
            self.assertEqual(status, 200)
            self.assertEqual(data, harness.review_output(workspace.policy_file,
                                                         harness.data_file("admission-pod.json")))
            self.assertEqual(harness.peer_certificate(server.port, server.ca_file),
                             harness.der_of(pki.server_rsa[0]))
        finally:
            server.stop()
            workspace.cleanup()


class ClientCertificateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = harness.shared_pki()
        cls.workspace = harness.Workspace(cls.pki)
        cls.server = harness.Server(cls.workspace, "--client-ca", cls.pki.ca[0],
                                    client_cert=cls.pki.client)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.workspace.cleanup()

    def attempt(self, client_cert=None, max_version=None):
        context = ssl.create_default_context(cafile=self.server.ca_file)
        if client_cert:
            context.load_cert_chain(*client_cert)
        if max_version:
            context.maximum_version = max_version
        conn = self.server.connection(context=context)
        try:
            return self.server.request("GET", "/healthz", connection=conn)[0]
        finally:
            conn.close()

    def test_the_right_client_is_accepted(self):
        self.assertEqual(self.attempt(self.pki.client), 200)
        self.assertEqual(self.attempt(self.pki.client, ssl.TLSVersion.TLSv1_2), 200)
        body = harness.read_bytes(harness.data_file("denied-pod.json"))
        conn = self.server.connection(context=self.server.context(client_cert=self.pki.client))
        status, _, data = self.server.post("/validate", body, connection=conn)
        conn.close()
        self.assertEqual(status, 200)
        self.assertEqual(data, harness.review_output(self.workspace.policy_file,
                                                     harness.data_file("denied-pod.json")))

    def test_clients_without_a_certificate_are_refused(self):
        for version in [None, ssl.TLSVersion.TLSv1_2]:
            with self.subTest(max_version=version):
                with self.assertRaises((ssl.SSLError, ConnectionError,
                                        http.client.RemoteDisconnected)):
                    self.attempt(None, version)

    def test_clients_with_a_certificate_from_another_ca_are_refused(self):
        before = self.server.metric("seccomp_gate_tls_handshake_errors_total")
        for version in [None, ssl.TLSVersion.TLSv1_2]:
            with self.subTest(max_version=version):
                with self.assertRaises((ssl.SSLError, ConnectionError,
                                        http.client.RemoteDisconnected)):
                    self.attempt(self.pki.rogue_client, version)
        harness.wait_until(
            lambda: self.server.metric("seccomp_gate_tls_handshake_errors_total") >= before + 2,
            message="refused client certificates not counted")

    def test_openssl_s_client_with_and_without_certificate(self):
        code, output = s_client(self.server.port, "-tls1_2", client_cert=self.pki.client)
        self.assertEqual(code, 0, output)
        self.assertIsNotNone(negotiated(output))
        code, output = s_client(self.server.port, "-tls1_2")
        self.assertNotEqual(code, 0, output)


if __name__ == "__main__":
    unittest.main()
