"""A real OCI runtime enforces the profiles: busybox containers run by runc (Debian's `runc` and
`busybox-static`, see .ci/install-deps) with a catalog profile, and with a profile that
`seccomp-gate profile record` wrote, converted into the runtime spec's `linux.seccomp`.

Skipped (with the reason) only where runc cannot start a container at all: a trivial container
is started first as a probe.
"""

import itertools
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import unittest

SOURCE_DIR = pathlib.Path(
    os.environ.get("SECCOMP_GATE_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BINARY = os.environ.get("SECCOMP_GATE", str(SOURCE_DIR / "build/dev/cli/seccomp-gate"))
CATALOG = SOURCE_DIR / "examples/catalog/profiles"
# Allows what a busybox shell needs, not mkdir/mkdirat: the default action refuses them (EPERM).
WEB_PROFILE = CATALOG / "web.json"

RUNC = shutil.which("runc")
# busybox-static: a static binary, so the rootfs needs nothing else.
BUSYBOX = shutil.which("busybox")
APPLETS = ("sh", "ls", "mkdir", "echo", "cat", "true", "rmdir")

# The keys of the OCI runtime spec's LinuxSeccomp and LinuxSyscall (runtime-spec config-linux.md).
OCI_SECCOMP_KEYS = ("defaultAction", "defaultErrnoRet", "architectures", "flags", "listenerPath",
                    "listenerMetadata")
OCI_SYSCALL_KEYS = ("names", "action", "errnoRet", "args")

_ids = itertools.count()


def is_static_elf(path):
    """True when the ELF file has no PT_INTERP program header (needs no dynamic loader)."""
    data = pathlib.Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit ELF only
        return False
    order = "little" if data[5] == 1 else "big"
    phoff = int.from_bytes(data[32:40], order)
    phentsize = int.from_bytes(data[54:56], order)
    phnum = int.from_bytes(data[56:58], order)
    pt_interp = 3
    return all(int.from_bytes(data[phoff + i * phentsize:phoff + i * phentsize + 4], order)
               != pt_interp for i in range(phnum))


def oci_seccomp(profile):
    """A profile file's JSON as runtime-spec `linux.seccomp`: the same format, minus Docker's
    extensions (`comment`; `archMap` becomes `architectures`). Profiles using Docker's
    `includes`/`excludes` are not converted here (the catalog's profiles have none)."""
    seccomp = {key: profile[key] for key in OCI_SECCOMP_KEYS if key in profile}
    if "architectures" not in seccomp and "archMap" in profile:
        seccomp["architectures"] = [
            arch for entry in profile["archMap"]
            for arch in [entry["architecture"], *entry.get("subArchitectures", [])]]
    syscalls = []
    for rule in profile.get("syscalls", []):
        if "includes" in rule or "excludes" in rule:
            raise ValueError("includes/excludes are Docker's, not the runtime spec's")
        syscalls.append({key: rule[key] for key in OCI_SYSCALL_KEYS if key in rule})
    if syscalls:
        seccomp["syscalls"] = syscalls
    return seccomp


class RuncTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("runc needs root to start a container")
        if RUNC is None or BUSYBOX is None:
            raise unittest.SkipTest("runc or busybox is not installed (see .ci/install-deps)")
        if not is_static_elf(BUSYBOX):
            raise AssertionError(f"{BUSYBOX} is not statically linked: install busybox-static")
        cls._tmp = tempfile.TemporaryDirectory(prefix="seccomp-gate-runc-")
        cls.tmp = pathlib.Path(cls._tmp.name)
        cls.state = cls.tmp / "state"
        cls.bundle = cls.tmp / "bundle"
        rootfs = cls.bundle / "rootfs"
        (rootfs / "bin").mkdir(parents=True)
        for directory in ("proc", "dev", "sys", "tmp"):
            (rootfs / directory).mkdir()
        shutil.copy(BUSYBOX, rootfs / "bin/busybox")
        for applet in APPLETS:
            (rootfs / "bin" / applet).symlink_to("busybox")
        subprocess.run([RUNC, "spec"], cwd=cls.bundle, check=True, capture_output=True)
        cls.base_config = json.loads((cls.bundle / "config.json").read_text())
        probe = cls.run_container(["/bin/busybox", "true"])
        if probe.returncode != 0:
            cls._tmp.cleanup()
            raise unittest.SkipTest("runc cannot start a container here: " +
                                    probe.stderr.decode().strip())

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    @classmethod
    def run_container(cls, args, seccomp=None, no_new_privileges=True):
        """Runs one container (non-terminal, writable rootfs, no cgroup resources) to its end."""
        config = json.loads(json.dumps(cls.base_config))
        process = config["process"]
        process["terminal"] = False
        process["args"] = args
        process["noNewPrivileges"] = no_new_privileges
        config["root"] = {"path": "rootfs", "readonly": False}
        config["linux"].pop("resources", None)
        if seccomp is not None:
            config["linux"]["seccomp"] = seccomp
        (cls.bundle / "config.json").write_text(json.dumps(config, indent=1))
        container_id = f"seccomp-gate-test-{os.getpid()}-{next(_ids)}"
        try:
            return subprocess.run(
                [RUNC, "--root", cls.state, "run", "--bundle", cls.bundle, container_id],
                stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False)
        finally:
            subprocess.run([RUNC, "--root", cls.state, "delete", "--force", container_id],
                           capture_output=True, timeout=120, check=False)

    def rootfs_path(self, path):
        return self.bundle / "rootfs" / path.lstrip("/")

    def assert_ran(self, result, stdout):
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, stdout)

    def catalog_seccomp(self, name="web.json"):
        return oci_seccomp(json.loads((CATALOG / name).read_text()))

    def test_catalog_profile_allows_what_it_lists(self):
        result = self.run_container(["/bin/sh", "-c", "echo hello; ls /bin/busybox"],
                                    self.catalog_seccomp())
        self.assert_ran(result, b"hello\n/bin/busybox\n")

    def test_catalog_profile_refuses_mkdir_with_its_errno(self):
        result = self.run_container(["/bin/mkdir", "/tmp/blocked"], self.catalog_seccomp())
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(b"mkdir: can't create directory '/tmp/blocked': Operation not permitted",
                      result.stderr)
        self.assertFalse(self.rootfs_path("/tmp/blocked").exists())

    def test_without_the_profile_mkdir_works(self):
        # The control: the same container, no seccomp section.
        result = self.run_container(["/bin/sh", "-c", "mkdir /tmp/free && echo made"])
        self.assert_ran(result, b"made\n")
        self.assertTrue(self.rootfs_path("/tmp/free").is_dir())
        self.rootfs_path("/tmp/free").rmdir()

    def test_errno_ret_of_a_rule_is_what_the_command_gets(self):
        seccomp = self.catalog_seccomp()
        seccomp["syscalls"].append(
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38})
        result = self.run_container(["/bin/mkdir", "/tmp/enosys"], seccomp)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(b"mkdir: can't create directory '/tmp/enosys': Function not implemented",
                      result.stderr)

    def test_recorded_profile_runs_the_recorded_command_in_runc(self):
        # Recorded on the host with the very busybox binary the container runs.
        profile_path = self.tmp / "recorded.json"
        script = "echo recorded; ls /bin/busybox"
        record = subprocess.run(
            [BINARY, "profile", "record", "--output", profile_path, "--",
             BUSYBOX, "sh", "-c", script],
            capture_output=True, timeout=120, check=False)
        self.assertEqual(record.returncode, 0, record.stderr)
        seccomp = oci_seccomp(json.loads(profile_path.read_text()))
        # Both orders runc knows: noNewPrivileges (filter loaded just before the exec) and the
        # Kubernetes default without it (filter loaded before runc drops capabilities and
        # switches user): the runtime's own calls are in the profile.
        for no_new_privileges in (True, False):
            with self.subTest(no_new_privileges=no_new_privileges):
                result = self.run_container(["/bin/busybox", "sh", "-c", script], seccomp,
                                            no_new_privileges)
                self.assert_ran(result, b"recorded\n/bin/busybox\n")
        # And what the recording never did is refused.
        result = self.run_container(["/bin/busybox", "sh", "-c", "mkdir /tmp/unrecorded"],
                                    seccomp)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(b"can't create directory '/tmp/unrecorded': Operation not permitted",
                      result.stderr)


if __name__ == "__main__":
    unittest.main()
