"""The catalog's default profile (examples/catalog/profiles/default.json, copied to
manifests/base/catalog/default.json), written from libseccomp's system call tables: every system
call libseccomp knows on x86_64, x32, x86, aarch64 and arm, minus the ones kept out below, which are
the calls the container runtimes' default profile (RuntimeDefault) withholds from a container with
the default capabilities. docs/deploy.md, "The default profile", explains each group.

  python3 default-profile.py generate        prints the profile
  python3 default-profile.py check FILE      exit 0 when FILE is what `generate` prints; else the
                                             names that differ, and 1

check.sh runs `check`: a libseccomp that knows new system calls makes it fail until they are
sorted into allowed or kept out here and the profile is written again:
  python3 test/manifests/default-profile.py generate > examples/catalog/profiles/default.json
  cp examples/catalog/profiles/default.json manifests/base/catalog/default.json
"""

import ctypes
import ctypes.util
import json
import sys
from collections import defaultdict

# libseccomp's architecture names, in the order the profile lists them.
ARCHITECTURES = {"x86_64": "SCMP_ARCH_X86_64", "x32": "SCMP_ARCH_X32", "x86": "SCMP_ARCH_X86",
                 "aarch64": "SCMP_ARCH_AARCH64", "arm": "SCMP_ARCH_ARM"}
# Where each architecture's system call numbers are: x32's carry __X32_SYSCALL_BIT, arm's private
# calls (set_tls, cacheflush, ...) start at __ARM_NR_BASE.
NUMBERS = {
    "x86_64": [range(0, 1024)],
    "x32": [range(0x40000000, 0x40000000 + 1024)],
    "x86": [range(0, 1024)],
    "aarch64": [range(0, 1024)],
    "arm": [range(0, 1024), range(0x0F0000, 0x0F0010)],
}

# Withheld by the runtimes' default profile (Docker's table of significant blocked system calls):
# kernel modules, kexec, reboot, swap, clocks, accounting, quotas, keyrings, NUMA placement,
# tracing and other processes' memory, mounts and namespaces, file handles, BPF, perf,
# userfaultfd, raw I/O ports, virtual 8086 mode and removed interfaces.
RUNTIME_BLOCKED = """
    _sysctl acct add_key bpf clock_adjtime clock_settime create_module delete_module finit_module
    get_kernel_syms get_mempolicy init_module ioperm iopl kcmp kexec_file_load kexec_load keyctl
    lookup_dcookie mbind mount move_pages name_to_handle_at nfsservctl open_by_handle_at
    perf_event_open pivot_root process_vm_readv process_vm_writev ptrace query_module quotactl
    reboot request_key set_mempolicy setns settimeofday stime swapoff swapon sysfs umount umount2
    unshare uselib userfaultfd ustat vm86 vm86old
""".split()
# The same calls under their 32-bit time64 names.
TIME64_TWINS = ["clock_adjtime64", "clock_settime64"]
# The runtimes allow these only to a container that holds a capability Kubernetes does not grant
# by default (CAP_SYS_ADMIN: the new mount API, fanotify_init, sethostname, setdomainname, bdflush,
# PCI configuration space; CAP_SYSLOG; CAP_SYS_TTY_CONFIG; CAP_SYS_PTRACE: pidfd_getfd,
# process_madvise; CAP_SYS_NICE: NUMA placement). A profile file cannot depend on capabilities.
CAPABILITY_GATED = """
    bdflush fanotify_init fsconfig fsmount fsopen fspick migrate_pages mount_setattr move_mount
    open_tree pciconfig_iobase pciconfig_read pciconfig_write pidfd_getfd process_madvise
    quotactl_fd set_mempolicy_home_node setdomainname sethostname syslog vhangup
""".split()
# Withheld by containerd 2.0 and Docker 25: io_uring performs operations that seccomp never sees,
# and has been the kernel's most exploited interface.
IO_URING = ["io_uring_enter", "io_uring_register", "io_uring_setup"]
# Not implemented by Linux (the kernel answers ENOSYS) or obsolete no-ops.
UNIMPLEMENTED = """
    afs_syscall break epoll_ctl_old epoll_wait_old ftime getpmsg gtty idle lock mpx prof profil
    putpmsg security stty tuxcall ulimit usr26 usr32 vserver
""".split()
KEPT_OUT = set(RUNTIME_BLOCKED + TIME64_TWINS + CAPABILITY_GATED + IO_URING + UNIMPLEMENTED)

# clone(2) flags that create namespaces: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
CLONE_NEW_NAMESPACES = 0x7E020000
# The personality(2) values the runtimes allow: PER_LINUX, PER_LINUX32, UNAME26, both, and the
# query 0xffffffff. Others would switch off address space randomisation (ADDR_NO_RANDOMIZE) or
# make data executable (READ_IMPLIES_EXEC).
PERSONALITIES = [(0x0, "PER_LINUX"), (0x8, "PER_LINUX32"), (0x20000, "UNAME26"),
                 (0x20008, "PER_LINUX32 | UNAME26"), (0xFFFFFFFF, "the query")]
CONDITIONAL = {"clone", "clone3", "personality"}


def known_names():
    """{architecture: set of every system call name libseccomp knows there}."""
    library = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2")
    libc = ctypes.CDLL(None)
    library.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    library.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    library.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
    library.seccomp_syscall_resolve_num_arch.argtypes = [ctypes.c_uint32, ctypes.c_int]
    libc.free.argtypes = [ctypes.c_void_p]
    names = {}
    for arch, ranges in NUMBERS.items():
        token = library.seccomp_arch_resolve_name(arch.encode())
        if token == 0:
            sys.exit(f"default-profile.py: libseccomp does not know the architecture {arch}")
        names[arch] = set()
        for numbers in ranges:
            for number in numbers:
                name = library.seccomp_syscall_resolve_num_arch(token, number)
                if name:
                    names[arch].add(ctypes.string_at(name).decode())
                    libc.free(name)
    return names


def generate():
    names = known_names()
    every = set().union(*names.values())
    missing = sorted((KEPT_OUT | CONDITIONAL) - every)
    if missing:
        sys.exit(f"default-profile.py: libseccomp does not know {', '.join(missing)}")
    # One rule per set of architectures a name exists on: the file shows which calls are
    # architecture-specific, and every name exists on an architecture the profile lists.
    groups = defaultdict(list)
    order = list(ARCHITECTURES)
    for name in sorted(every - KEPT_OUT - CONDITIONAL):
        groups[tuple(a for a in order if name in names[a])].append(name)

    def where(arches):
        if len(arches) == len(order):
            return "system calls of every architecture listed"
        return "system calls of " + ", ".join(arches) + " only"

    rules = [{"comment": where(arches), "names": groups[arches], "action": "SCMP_ACT_ALLOW"}
             for arches in sorted(groups, key=lambda g: (-len(g), [order.index(a) for a in g]))]
    rules.append({
        "comment": "clone without namespace flags (as unshare and setns are kept out)",
        "names": ["clone"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": CLONE_NEW_NAMESPACES, "valueTwo": 0,
                  "op": "SCMP_CMP_MASKED_EQ"}]})
    rules.append({
        "comment": "clone3 passes its flags in memory, which seccomp cannot read: ENOSYS, so that "
                   "the C library falls back to clone (glibc does for threads and posix_spawn)",
        "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38})
    for value, what in PERSONALITIES:
        rules.append({
            "comment": f"personality: {what} only",
            "names": ["personality"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": value, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]})
    profile = {
        "comment": "seccomp-gate's default profile, what /mutate gives pods without one: the "
                   "system calls that the container runtimes' RuntimeDefault allows a container "
                   "with the default capabilities. Generated by test/manifests/default-profile.py; "
                   "docs/deploy.md, \"The default profile\".",
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": list(ARCHITECTURES.values()),
        "syscalls": rules,
    }
    return json.dumps(profile, indent=2) + "\n"


def allowed(text):
    return {name for rule in json.loads(text).get("syscalls", [])
            if rule.get("action") == "SCMP_ACT_ALLOW" for name in rule.get("names", [])}


def main(argv):
    if argv == ["generate"]:
        sys.stdout.write(generate())
        return 0
    if len(argv) == 2 and argv[0] == "check":
        expected = generate()
        with open(argv[1], encoding="utf-8") as file:
            actual = file.read()
        if actual == expected:
            print(f"{argv[1]}: as generated ({len(allowed(expected))} system calls allowed)")
            return 0
        try:
            extra = allowed(actual) - allowed(expected)
            lacking = allowed(expected) - allowed(actual)
        except (ValueError, AttributeError):  # not JSON, or not a profile
            extra, lacking = set(), set()
        print(f"{argv[1]}: differs from what test/manifests/default-profile.py generates")
        if extra:
            print(f"  allows what it should not: {', '.join(sorted(extra))}")
        if lacking:
            print(f"  does not allow: {', '.join(sorted(lacking))} (if libseccomp knows them "
                  "newly, sort them into allowed or kept out in default-profile.py)")
        print("  write it again: python3 test/manifests/default-profile.py generate")
        return 1
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
