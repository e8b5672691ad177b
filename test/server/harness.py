"""What the server tests share: certificates made with openssl, Kubernetes-style volume mounts
(the `..data` symlink swap), and the real `seccomp-gate serve` binary on a loopback port.

Environment: SECCOMP_GATE (the binary), SECCOMP_GATE_SOURCE_DIR (the repository).
"""

import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

BINARY = os.environ.get("SECCOMP_GATE", "seccomp-gate")
SOURCE_DIR = os.environ.get(
    "SECCOMP_GATE_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
EXAMPLE_POLICY = os.path.join(SOURCE_DIR, "examples", "policy.yaml")
EXAMPLE_CATALOG = os.path.join(SOURCE_DIR, "examples", "catalog", "profiles")
BENCH_POD = os.path.join(SOURCE_DIR, "bench", "admission-pod.json")


def data_file(name):
    return BENCH_POD if name == "admission-pod.json" else os.path.join(DATA_DIR, name)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def run(*args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, timeout=60, **kwargs)


def review_output(policy, request_file, mutate=False):
    """What `seccomp-gate review` prints, without its trailing newline."""
    args = [BINARY, "review", "--policy", policy] + (["--mutate"] if mutate else []) + [request_file]
    result = subprocess.run(args, capture_output=True, timeout=60)
    if result.returncode not in (0, 1):
        raise AssertionError(f"review failed: {result.stderr.decode()}")
    assert result.stdout.endswith(b"\n")
    return result.stdout[:-1]


# --- certificates -------------------------------------------------------------------------

class Pki:
    """A CA, server certificates for localhost/127.0.0.1 and client certificates."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.ca = self._ca("ca", "seccomp-gate test CA")
        self.other_ca = self._ca("other-ca", "some other CA")

    def path(self, name):
        return os.path.join(self.dir, name)

    def _key(self, name, kind):
        key = self.path(name + ".key")
        if kind == "rsa":
            run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", key)
        else:
            run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", key)
        return key

    def _ca(self, name, subject):
        key = self._key(name, "ec")
        cert = self.path(name + ".crt")
        run("openssl", "req", "-x509", "-new", "-key", key, "-out", cert, "-days", "2",
            "-subj", "/CN=" + subject, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return (cert, key)

    def issue(self, name, common_name, kind="ec", client=False, ca=None):
        """Returns (cert, key) paths for a leaf certificate signed by `ca` (default: the CA)."""
        ca_cert, ca_key = ca or self.ca
        key = self._key(name, kind)
        csr = self.path(name + ".csr")
        cert = self.path(name + ".crt")
        ext = self.path(name + ".ext")
        with open(ext, "w") as f:
            if client:
                f.write("extendedKeyUsage=clientAuth\n")
            else:
                f.write("extendedKeyUsage=serverAuth\n"
                        "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        run("openssl", "req", "-new", "-key", key, "-out", csr, "-subj", "/CN=" + common_name)
        run("openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
            "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
        return (cert, key)


# --- Kubernetes-style mounts --------------------------------------------------------------

class Mount:
    """A directory laid out like a Secret or ConfigMap volume: `key -> ..data/key`, and
    `..data -> ..<version>`, updated by swapping `..data` atomically (as the kubelet does)."""

    def __init__(self, directory, files):
        self.dir = directory
        self.version = 0
        os.makedirs(directory, exist_ok=True)
        self.update(files)

    def path(self, key):
        return os.path.join(self.dir, key)

    def update(self, files):
        """files: {key: bytes or str}. Swaps them all in at once."""
        old = os.path.realpath(os.path.join(self.dir, "..data")) if self.version else None
        self.version += 1
        version_dir = os.path.join(self.dir, f"..v{self.version}")
        os.makedirs(version_dir)
        for key, content in files.items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(os.path.join(version_dir, key), mode) as f:
                f.write(content)
        tmp_link = os.path.join(self.dir, "..data_tmp")
        os.symlink(f"..v{self.version}", tmp_link)
        os.replace(tmp_link, os.path.join(self.dir, "..data"))
        for key in files:
            link = os.path.join(self.dir, key)
            if not os.path.islink(link):
                os.symlink(os.path.join("..data", key), link)
        for entry in os.listdir(self.dir):
            if not entry.startswith("..") and entry not in files:
                os.unlink(os.path.join(self.dir, entry))
        if old:
            shutil.rmtree(old, ignore_errors=True)


class SwappedDirectory:
    """A directory reached through a symlink that is replaced atomically on update: the
    `..data` swap of a volume mount, one level up. (The policy core names catalog profiles
    after the resolved path of a symlinked file, so the catalog cannot yet be a plain
    ConfigMap mount; see test_reload.ConfigMapCatalogTest.)"""

    def __init__(self, link, files):
        self.link = link
        self.version = 0
        self.update(files)

    def update(self, files):
        old = os.path.realpath(self.link) if self.version else None
        self.version += 1
        target = f"{self.link}.v{self.version}"
        for key, content in files.items():
            path = os.path.join(target, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb" if isinstance(content, bytes) else "w") as f:
                f.write(content)
        os.makedirs(target, exist_ok=True)
        tmp_link = self.link + ".tmp"
        os.symlink(os.path.basename(target), tmp_link)
        os.replace(tmp_link, self.link)
        if old:
            shutil.rmtree(old, ignore_errors=True)


def example_catalog_files(subdirectory="profiles/"):
    files = {}
    for name in sorted(os.listdir(EXAMPLE_CATALOG)):
        files[subdirectory + name] = read_bytes(os.path.join(EXAMPLE_CATALOG, name))
    return files


def policy_text(catalog_directory, mode="enforce"):
    """The example policy with the catalog at an absolute path and the given mode."""
    with open(EXAMPLE_POLICY) as f:
        text = f.read()
    text = re.sub(r"(?m)^  directory: .*$", f"  directory: {catalog_directory}", text)
    return re.sub(r"(?m)^mode: .*$", f"mode: {mode}", text)


class Workspace:
    """A temporary directory with the policy, the catalog and the TLS material as mounts."""

    def __init__(self, pki, server_cert=None):
        self.root = tempfile.mkdtemp(prefix="seccomp-gate-test-")
        self.pki = pki
        catalog_root = os.path.join(self.root, "catalog")
        self.catalog = SwappedDirectory(catalog_root, example_catalog_files())
        self.catalog_root = catalog_root
        self.policy = Mount(os.path.join(self.root, "policy"),
                            {"policy.yaml": policy_text(catalog_root)})
        cert, key = server_cert or pki.server
        self.tls = Mount(os.path.join(self.root, "tls"),
                         {"tls.crt": read_bytes(cert), "tls.key": read_bytes(key)})

    @property
    def policy_file(self):
        return self.policy.path("policy.yaml")

    def server_args(self):
        return ["--policy", self.policy_file, "--tls-cert", self.tls.path("tls.crt"),
                "--tls-key", self.tls.path("tls.key")]

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


# --- the server ---------------------------------------------------------------------------

class Server:
    """`seccomp-gate serve` on 127.0.0.1 with a free port; its log lines are collected."""

    def __init__(self, workspace, *extra_args, ca_file=None, client_cert=None):
        self.workspace = workspace
        self.client_cert = client_cert
        self.ca_file = ca_file or workspace.pki.ca[0]
        self.lines = []
        self._lines_lock = threading.Lock()
        self._queue = queue.Queue()
        args = [BINARY, "serve", *workspace.server_args(), "--listen", "127.0.0.1:0",
                *extra_args]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._reader = threading.Thread(target=self._read_logs, daemon=True)
        self._reader.start()
        listening = self.wait_for_log(lambda line: line.get("msg") == "listening", timeout=15)
        self.port = int(listening["address"].rsplit(":", 1)[1])

    def _read_logs(self):
        for raw in self.process.stderr:
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"msg": raw.decode(errors="replace").rstrip(), "level": "raw"}
            with self._lines_lock:
                self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def wait_for_log(self, predicate, timeout=10):
        """The first log line (seen so far or to come) that satisfies predicate."""
        deadline = time.monotonic() + timeout
        with self._lines_lock:
            for line in self.lines:
                if predicate(line):
                    return line
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("log line not seen; logs:\n" + self.log_text())
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("server exited; logs:\n" + self.log_text())
            if predicate(line):
                return line

    def log_text(self):
        with self._lines_lock:
            return "\n".join(json.dumps(line) for line in self.lines[-50:])

    def context(self, client_cert=None, **kwargs):
        context = ssl.create_default_context(cafile=self.ca_file)
        client_cert = client_cert or self.client_cert
        if client_cert:
            context.load_cert_chain(*client_cert)
        for name, value in kwargs.items():
            setattr(context, name, value)
        return context

    def connection(self, timeout=10, context=None):
        return http.client.HTTPSConnection("localhost", self.port, timeout=timeout,
                                           context=context or self.context())

    def request(self, method, path, body=None, headers=None, connection=None):
        """One request; returns (status, headers dict (lower-case names), body bytes)."""
        own = connection is None
        conn = connection or self.connection()
        try:
            hdrs = dict(headers or {})
            if body is not None and "Content-Type" not in hdrs:
                hdrs["Content-Type"] = "application/json"
            conn.request(method, path, body=body, headers=hdrs)
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            if own:
                conn.close()

    def post(self, path, body, **kwargs):
        return self.request("POST", path, body=body, **kwargs)

    def metrics(self):
        status, _, body = self.request("GET", "/metrics")
        assert status == 200, status
        values = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def metric(self, name):
        return self.metrics().get(name, 0.0)

    def signal(self, number=signal.SIGTERM):
        self.process.send_signal(number)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        self.process.stderr.close()


def wait_until(predicate, timeout=10, interval=0.05, message="condition not met"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(message)


def peer_certificate(port, ca_file, client_cert=None):
    """The DER certificate a new TLS connection to the server is shown."""
    context = ssl.create_default_context(cafile=ca_file)
    if client_cert:
        context.load_cert_chain(*client_cert)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.getpeercert(binary_form=True)


def der_of(pem_file):
    with open(pem_file) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


_shared_pki = None


def shared_pki():
    """One set of certificates per test process (key generation is the slow part)."""
    global _shared_pki
    if _shared_pki is None:
        directory = tempfile.mkdtemp(prefix="seccomp-gate-pki-")
        pki = Pki(directory)
        pki.server = pki.issue("server", "localhost")
        pki.server2 = pki.issue("server2", "localhost-rotated")
        pki.server_rsa = pki.issue("server-rsa", "localhost-rsa", kind="rsa")
        pki.client = pki.issue("client", "kube-apiserver", client=True)
        pki.rogue_client = pki.issue("rogue", "kube-apiserver", client=True, ca=pki.other_ca)
        _shared_pki = pki
    return _shared_pki


class Load:
    """Clients sending admission requests in a loop until stopped: `keep_alive` ones reuse one
    connection, the others open a new connection (a new TLS handshake) per request. A request
    counts as failed when it was sent and got no answer, or not the expected one."""

    def __init__(self, server, body, expected, keep_alive=1, fresh=1, path="/validate",
                 tolerate_refused=False):
        self.server = server
        self.body = body
        self.expected = expected
        self.path = path
        self.tolerate_refused = tolerate_refused
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.failures = []
        self.refused = 0
        self.closed_by_server = 0
        self.certificates = []  # (time, DER) seen by the fresh-connection clients
        self.threads = [threading.Thread(target=self._keep_alive, daemon=True)
                        for _ in range(keep_alive)]
        self.threads += [threading.Thread(target=self._fresh, daemon=True) for _ in range(fresh)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def count(self):
        with self.lock:
            return self.ok

    def _record(self, status, data, headers):
        with self.lock:
            if status == 200 and (self.expected is None or data == self.expected):
                self.ok += 1
            else:
                self.failures.append(f"status {status}: {data[:200]!r}")
            if headers.get("connection", "").lower() == "close":
                self.closed_by_server += 1

    def _connect(self):
        """A connected HTTPSConnection, or None when the server no longer accepts."""
        conn = self.server.connection()
        try:
            conn.connect()
            return conn
        except OSError as error:
            # Refused, or reset/closed before the TLS handshake finished: nothing was sent.
            conn.close()
            if not self.tolerate_refused:
                with self.lock:
                    self.failures.append(f"connect: {error!r}")
            with self.lock:
                self.refused += 1
            return None

    def _exchange(self, conn):
        headers = {"Content-Type": "application/json"}
        try:
            conn.request("POST", self.path, body=self.body, headers=headers)
        except (OSError, http.client.HTTPException) as error:
            # Nothing (or part of the request) was sent: the client cannot tell whether the
            # server saw it; count it as a failure.
            with self.lock:
                self.failures.append(f"send: {error!r}")
            return False
        try:
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            with self.lock:
                self.failures.append(f"no response: {error!r}")
            return False
        response_headers = {k.lower(): v for k, v in response.getheaders()}
        self._record(response.status, data, response_headers)
        return response_headers.get("connection", "").lower() != "close"

    def _keep_alive(self):
        conn = None
        while not self.stop_event.is_set():
            if conn is None:
                conn = self._connect()
                if conn is None:
                    time.sleep(0.05)
                    continue
            if not self._exchange(conn):
                conn.close()
                conn = None
        if conn:
            conn.close()

    def _fresh(self):
        while not self.stop_event.is_set():
            conn = self._connect()
            if conn is None:
                time.sleep(0.05)
                continue
            der = conn.sock.getpeercert(binary_form=True)
            with self.lock:
                self.certificates.append((time.monotonic(), der))
            self._exchange(conn)
            conn.close()
