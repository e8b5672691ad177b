"""What ordinary containers do, one system call family at a time, and what the runtimes' default
profile keeps from them. check.sh runs this under the catalog's default profile (`seccomp-gate
profile try --profile manifests/base/catalog/default.json -- python3 ordinary-workload.py`), where
every ordinary step must work, and under a narrow allow-list, where they must fail (so that this
script can fail at all).

  python3 ordinary-workload.py             the ordinary steps: "ok NAME" or "FAILED NAME: error"
  python3 ordinary-workload.py forbidden   calls that must be refused: "refused NAME: errno" or
                                           "ALLOWED NAME", or "FAILED NAME" for another errno
Exit 0 only when every step went as expected. Best run as root: then the steps change uids the way
images that start as root and drop privileges do. Linux only (x86_64 or aarch64: raw system call
numbers are per architecture).
"""

import ctypes
import errno
import mmap
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import threading

libc = ctypes.CDLL(None, use_errno=True)

# The raw calls that Python does not wrap, by machine.
SYSCALLS = {
    "x86_64": {"io_setup": 206, "io_destroy": 207, "setrlimit": 160, "timerfd_create": 283,
               "timerfd_settime": 286, "timerfd_gettime": 287, "signalfd4": 289,
               "personality": 135, "unshare": 272, "clone": 56, "clone3": 435, "mount": 165,
               "keyctl": 250, "bpf": 321, "io_uring_setup": 425, "perf_event_open": 298},
    "aarch64": {"io_setup": 0, "io_destroy": 1, "setrlimit": 164, "timerfd_create": 85,
                "timerfd_settime": 86, "timerfd_gettime": 87, "signalfd4": 74,
                "personality": 92, "unshare": 97, "clone": 220, "clone3": 435, "mount": 40,
                "keyctl": 219, "bpf": 280, "io_uring_setup": 425, "perf_event_open": 241},
}[platform.machine()]


def syscall(name, *args):
    """The raw system call NAME; OSError on failure."""
    libc.syscall.restype = ctypes.c_long
    result = libc.syscall(ctypes.c_long(SYSCALLS[name]), *args)
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{name}: {os.strerror(code)}")
    return result


def shmget():
    # ipcmk -M 4096 does this; also what PostgreSQL and shared-memory caches start with.
    result = subprocess.run(["ipcmk", "-M", "4096"], capture_output=True, text=True, check=True)
    shmid = result.stdout.split(":")[-1].strip()
    subprocess.run(["ipcrm", "-m", shmid], check=True)


def setresuid():
    # Images that start as root and drop to a service user (gosu, su-exec, nginx workers). Not
    # root: the same calls to one's own ids, which the kernel allows anyone.
    root = os.getuid() == 0
    uid, gid = (65534, 65534) if root else (os.getuid(), os.getgid())
    pid = os.fork()
    if pid == 0:
        try:
            if root:
                os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            os._exit(0 if os.getresuid() == (uid, uid, uid) else 1)
        except OSError:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise OSError(errno.EPERM, "setresuid/setresgid/setgroups failed in the child")


def memfd_create():
    fd = os.memfd_create("workload", os.MFD_CLOEXEC)
    os.write(fd, b"x")
    os.close(fd)


def sched_setaffinity():
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    os.sched_setaffinity(0, cpus)


def timerfd():
    fd = syscall("timerfd_create", 1, 0)  # CLOCK_MONOTONIC
    spec = (ctypes.c_long * 4)(0, 0, 0, 1000000)  # it_interval, it_value = 1 ms
    syscall("timerfd_settime", fd, 0, spec, None)
    syscall("timerfd_gettime", fd, spec)
    os.read(fd, 8)  # the expiration count: the timer really fired
    os.close(fd)


def signalfd4():
    mask = ctypes.c_uint64(1 << (signal.SIGUSR1 - 1))
    fd = syscall("signalfd4", -1, ctypes.byref(mask), 8, os.O_CLOEXEC)
    os.close(fd)


def msync_and_mlock():
    with tempfile.TemporaryFile() as file:
        file.write(b"\0" * 4096)
        file.flush()
        with mmap.mmap(file.fileno(), 4096) as mapped:
            mapped[0:5] = b"hello"
            mapped.flush()  # msync
            # (from_buffer's export of the mapping ends with the statement, so it can close.)
            address = ctypes.c_void_p(ctypes.addressof(ctypes.c_char.from_buffer(mapped)))
            for name in ("mlock", "munlock"):
                if getattr(libc, name)(address, ctypes.c_size_t(4096)) != 0:
                    code = ctypes.get_errno()
                    raise OSError(code, f"{name}: {os.strerror(code)}")


def fallocate_and_copy_file_range():
    with tempfile.TemporaryDirectory() as directory:
        source = os.open(os.path.join(directory, "a"), os.O_RDWR | os.O_CREAT, 0o600)
        target = os.open(os.path.join(directory, "b"), os.O_RDWR | os.O_CREAT, 0o600)
        os.posix_fallocate(source, 0, 1 << 16)  # glibc: the fallocate system call
        os.write(source, b"data")
        os.copy_file_range(source, target, 4, 0, 0)
        if os.pread(target, 4, 0) != b"data":
            raise OSError(errno.EIO, "copy_file_range copied the wrong bytes")
        os.close(source)
        os.close(target)


def io_setup():
    # Linux native AIO (libaio: databases, qemu, fio).
    context = ctypes.c_ulong(0)
    syscall("io_setup", 8, ctypes.byref(context))
    syscall("io_destroy", context)


def personality():
    # setarch and the 32-bit persona that build tools query and set.
    current = syscall("personality", ctypes.c_ulong(0xFFFFFFFF))
    syscall("personality", ctypes.c_ulong(0x0008))  # PER_LINUX32
    syscall("personality", ctypes.c_ulong(current))
    subprocess.run(["setarch", platform.machine(), "true"], check=True)


def setrlimit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 512), hard))  # prlimit64
    limits = (ctypes.c_ulong * 2)(min(soft, 256), hard)
    syscall("setrlimit", resource.RLIMIT_NOFILE, limits)  # the old call itself


def threads_and_processes():
    # pthread_create and posix_spawn: glibc tries clone3 first and falls back to clone.
    results = []
    worker = threading.Thread(target=lambda: results.append(sum(range(1000))))
    worker.start()
    worker.join()
    if results != [499500]:
        raise OSError(errno.EAGAIN, "the thread did not run")
    subprocess.run(["sh", "-c", "echo hi | cat >/dev/null"], check=True)


STEPS = [shmget, setresuid, memfd_create, sched_setaffinity, timerfd, signalfd4, msync_and_mlock,
         fallocate_and_copy_file_range, io_setup, personality, setrlimit, threads_and_processes]


CLONE_NEWUSER = 0x10000000

# NAME, the raw call's arguments, the errno the profile answers. Without the filter each call fails
# with another errno or succeeds harmlessly (the arguments see to it: this also runs under
# allow-all profiles, as root), so the errno tells that the profile refused it.
FORBIDDEN = [
    # clone with a namespace flag: fork-like flags (SIGCHLD) plus CLONE_NEWUSER. Were it allowed,
    # the child would return 0 here and exit at once.
    ("clone", (CLONE_NEWUSER | signal.SIGCHLD, 0, 0, 0, 0), errno.EPERM),
    # clone3 cannot be filtered by its flags: ENOSYS, so that the C library uses clone.
    ("clone3", (0, 0), errno.ENOSYS),
    # A target that does not exist: allowed, the call fails with ENOENT and mounts nothing.
    ("mount", (b"none", b"/nonexistent/seccomp-gate", b"tmpfs", 0, 0), errno.EPERM),
    ("keyctl", (0, -1, 0), errno.EPERM),  # KEYCTL_GET_KEYRING_ID of the thread keyring
    ("bpf", (0, 0, 0), errno.EPERM),
    ("io_uring_setup", (1, 0), errno.EPERM),
    ("perf_event_open", (0, 0, -1, -1, 0), errno.EPERM),
    # Last: were it allowed, the process would be in a new user namespace from here on.
    ("unshare", (CLONE_NEWUSER,), errno.EPERM),
]


def forbidden():
    failed = 0
    for name, args, expected in FORBIDDEN:
        libc.syscall.restype = ctypes.c_long
        result = libc.syscall(ctypes.c_long(SYSCALLS[name]), *args)
        if result == 0 and name == "clone":
            os._exit(0)  # the child of an allowed clone
        code = ctypes.get_errno()
        if result >= 0:
            print(f"ALLOWED {name}")
            failed += 1
        elif code != expected:
            print(f"FAILED {name}: {errno.errorcode.get(code, code)}, expected "
                  f"{errno.errorcode[expected]}")
            failed += 1
        else:
            print(f"refused {name}: {errno.errorcode[code]}")
    return 1 if failed else 0


def main():
    if sys.argv[1:] == ["forbidden"]:
        return forbidden()
    failed = 0
    for step in STEPS:
        try:
            step()
            print(f"ok {step.__name__}")
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"FAILED {step.__name__}: {error}")
            failed += 1
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
