"""A fake Docker engine, kind and Kubernetes cluster for test_run_logic.py: just enough of them
to drive test/e2e/kind/run.sh through its whole logic without Docker.

test_run_logic.py serves this module on a local TCP port (serve()); docker, kind and kubectl next
to it are one small bash client that sends its command line there and prints the answer, so a
call costs a bash start, not a Python one. The answers copy the real tools' output where run.sh
reads it: kubectl's 'Error from server (Forbidden): error when creating "STDIN": admission
webhook "..." denied the request: ...' (k8s.io/apiserver admission/plugin/webhook/errors
ToStatusErr, wrapped by kubectl apply's AddSourceToErr and StandardErrorMessage), "... created
(server dry run)", `rollout status` lines, the API server's audit events (audit.k8s.io/v1 Event,
one compact JSON object per line), kind's image-load error of a multi-platform image under
Docker's containerd image store.

The webhook is the real one: every admission request goes to `seccomp-gate review` ($SECCOMP_GATE)
with the policy of the replica the Service picked, so run.sh's expected messages are checked
against what the server really says. `kubectl apply -k` runs the real `kubectl kustomize` and
deploys the mode, webhooks and failurePolicy that the overlay builds. The fake kubelet runs a pod's
shell command with mkdir, taskset and linux32 replaced by stubs that succeed or fail as the pod's
seccomp profile (the catalog file the DaemonSet installed on the node) says.

Files (node filesystems, policies, archives) live in a state directory. The scenario bends the
world:
  webhook            "correct" (default) or "silent": every call times out
  wrongly_admit      ["Kind/name", ...]: the webhook admits these whatever the policy says
  flaky_replica      true: after a policy change one of three replicas keeps the old policy
                     until it is restarted (its kubelet has not refreshed the ConfigMap yet)
  image_store        "containerd" (default: `docker save` exports the whole index of a
                     multi-platform image) or "classic"
  save_platform      false: this Docker has no `docker save --platform`
  audit_annotations  false: the webhook's responses lose their auditAnnotations
  audit_namespaces   the namespaces the API server's audit policy logs (default: those of
                     test/e2e/kind/audit-policy.yaml)
  docker_engine      false: `docker info` fails
"""

import base64
import json
import os
import platform
import re
import shutil
import subprocess
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[3]
# The world of this process: serve() sets them.
STATE_DIR = Path("/nonexistent")
SCENARIO = {}
BINARY = ""
MULTI_PLATFORM = ("busybox",)  # images pulled from a registry index with several platforms
WEBHOOK_NAMESPACE = "seccomp-gate"
EXEMPT_NAMESPACES = ("kube-system", "seccomp-gate")  # the webhooks' namespaceSelector
AUDITED_NAMESPACES = ("e2e", "e2e-audit")  # test/e2e/kind/audit-policy.yaml
SERVICE_URL = "https://seccomp-gate.seccomp-gate.svc:443"


class ApiError(Exception):
    """A request the API server refused: the HTTP code and the Status's reason and message."""

    def __init__(self, code, reason, message):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


class Exit(Exception):
    def __init__(self, code, stdout="", stderr=""):
        super().__init__(code)
        self.code, self.stdout, self.stderr = code, stdout, stderr


def arch():
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


# ---------------------------------------------------------------------------------------------
# The YAML that run.sh writes: block mappings and sequences, flow {} and [], plain and quoted
# scalars. Anything else is an error, so a manifest this cannot read fails the test loudly.


def parse_yaml(text):
    lines = []
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#") or raw.strip() == "---":
            continue
        lines.append((len(raw) - len(raw.lstrip(" ")), raw.strip()))
    value, end = _block(lines, 0, 0)
    if end != len(lines):
        raise ValueError(f"cannot read YAML line {lines[end][1]!r}")
    return value


def _block(lines, i, indent):
    if i >= len(lines) or lines[i][0] < indent:
        return None, i
    indent = lines[i][0]
    if lines[i][1].startswith("- ") or lines[i][1] == "-":
        items = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("-"):
            rest = lines[i][1][1:].lstrip()
            if not rest:
                item, i = _block(lines, i + 1, indent + 1)
            elif _is_key(rest):
                # "- name: main": the item is a mapping whose first key sits two columns in.
                lines[i] = (indent + 2, rest)
                item, i = _block(lines, i, indent + 2)
            else:
                item, i = _flow_value(rest), i + 1
            items.append(item)
        return items, i
    mapping = {}
    while i < len(lines) and lines[i][0] == indent:
        content = lines[i][1]
        if not _is_key(content):
            raise ValueError(f"cannot read YAML line {content!r}")
        key, rest = content.split(":", 1)
        rest = rest.strip()
        if rest:
            mapping[key.strip()] = _flow_value(rest)
            i += 1
        else:
            nested, i = _block(lines, i + 1, indent + 1)
            if nested is None and i < len(lines) and lines[i][0] == indent and \
                    lines[i][1].startswith("- "):
                nested, i = _block(lines, i, indent)  # a sequence at the key's own indent
            mapping[key.strip()] = nested
    return mapping, i


def _is_key(content):
    return re.match(r"^[A-Za-z0-9_.\-/]+:(\s|$)", content) is not None


def _flow_value(text):
    value, pos = _flow(text, 0)
    if text[pos:].strip():
        raise ValueError(f"cannot read YAML value {text!r}")
    return value


def _flow(text, pos):
    while pos < len(text) and text[pos] == " ":
        pos += 1
    if pos >= len(text):
        return None, pos
    char = text[pos]
    if char == "{":
        mapping, pos = {}, pos + 1
        while True:
            while text[pos] in " ,":
                pos += 1
            if text[pos] == "}":
                return mapping, pos + 1
            colon = text.index(":", pos)
            key = text[pos:colon].strip()
            value, pos = _flow(text, colon + 1)
            mapping[key] = value
    if char == "[":
        items, pos = [], pos + 1
        while True:
            while text[pos] in " ,":
                pos += 1
            if text[pos] == "]":
                return items, pos + 1
            value, pos = _flow(text, pos)
            items.append(value)
    if char == "'":
        out, pos = "", pos + 1
        while True:
            end = text.index("'", pos)
            out += text[pos:end]
            if text[end + 1:end + 2] == "'":
                out, pos = out + "'", end + 2
                continue
            return out, end + 1
    if char == '"':
        decoder = json.JSONDecoder()
        return decoder.raw_decode(text, pos)
    match = re.compile(r"[^,{}\[\]]*").match(text, pos)
    return _scalar(match.group(0).strip()), match.end()


def _scalar(token):
    if re.fullmatch(r"-?[0-9]+", token):
        return int(token)
    return {"true": True, "false": False, "null": None, "~": None}.get(token, token)


# ---------------------------------------------------------------------------------------------
# docker


def docker(args, state):
    if not args:
        raise Exit(1, stderr="docker: no command\n")
    command, rest = args[0], args[1:]
    if SCENARIO.get("docker_engine", True) is False and command not in ("version", "save"):
        raise Exit(1, stdout="Client:\n Version:    27.3.1\n",
                   stderr="Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                   "Is the docker daemon running?\n")
    if command == "info":
        return "Client:\n Version:    27.3.1\n Context:    default\nServer:\n Containers: 0\n"
    if command == "version":
        if "--format" in rest or "-f" in rest:
            return arch() + "\n"
        return "Client:\n Version: 27.3.1\nServer:\n Engine:\n  Version: 27.3.1\n"
    if command == "build":
        tag = rest[rest.index("-t") + 1]
        context = Path(rest[-1])
        if not (context / "Dockerfile").is_file():
            raise Exit(1, stderr=f"ERROR: failed to solve: failed to read dockerfile: open "
                       f"{context}/Dockerfile: no such file or directory\n")
        state["images"][tag] = {"platforms": [f"linux/{arch()}"], "index": False}
        return f"#0 building with \"default\" instance using docker driver\n#12 naming to docker.io/library/{tag} done\n"
    if command == "pull":
        options, positional = split_flags(rest, {"--platform"})
        image = positional[0]
        wanted = options.get("--platform", f"linux/{arch()}")
        state["images"][image] = {"platforms": [wanted],
                                  "index": image.split(":")[0] in MULTI_PLATFORM}
        name, tag = image.split(":")
        return (f"{tag}: Pulling from library/{name}\nDigest: sha256:{'5' * 64}\n"
                f"Status: Downloaded newer image for {image}\ndocker.io/library/{image}\n")
    if command == "save":
        if "--help" in rest:
            usage = ("\nUsage:  docker save [OPTIONS] IMAGE [IMAGE...]\n\nSave one or more images "
                     "to a tar archive (streamed to STDOUT by default)\n\nAliases:\n  docker image "
                     "save, docker save\n\nOptions:\n  -o, --output string      Write to a file, "
                     "instead of STDOUT\n")
            if SCENARIO.get("save_platform", True):
                usage += ("      --platform string    Save only the given platform variant. "
                          "Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")\n")
            return usage
        options, positional = split_flags(rest, {"--platform", "-o", "--output"})
        if "--platform" in options and not SCENARIO.get("save_platform", True):
            raise Exit(125, stderr="unknown flag: --platform\nSee 'docker save --help'.\n")
        output = options.get("-o") or options.get("--output")
        if not output:
            raise Exit(1, stderr="cowardly refusing to save to a terminal. Use the -o flag or "
                       "redirect\n")
        archive = []
        for image in positional:
            if image not in state["images"]:
                raise Exit(1, stderr=f"Error response from daemon: reference does not exist\n")
            info = state["images"][image]
            # The containerd image store exports what the image's index names, every platform
            # included, unless --platform picks one; the classic store has one platform only.
            whole_index = info["index"] and "--platform" not in options and \
                SCENARIO.get("image_store", "containerd") == "containerd"
            archive.append({"image": image, "missing_platforms": whole_index})
        Path(output).write_text(json.dumps(archive))
        return ""
    if command == "exec":
        return docker_exec(rest, state)
    raise Exit(1, stderr=f"fake docker: unsupported command {args}\n")


def node_path(node, path):
    return STATE_DIR / "nodes" / node / path.lstrip("/")


def docker_exec(args, state):
    cluster = state.get("cluster")
    node, command = args[0], args[1:]
    if not cluster or node not in cluster["nodes"]:
        raise Exit(1, stderr=f"Error response from daemon: No such container: {node}\n")
    if command[0] == "cat":
        path = command[1]
        file = node_path(node, path)
        catalog_dir = "/var/lib/kubelet/seccomp/seccomp-gate/"
        if path.startswith(catalog_dir) and cluster.get("daemonset") and \
                node not in cluster["synced_nodes"]:
            # The DaemonSet's pod on this node syncs the catalog a moment after this first look.
            cluster["synced_nodes"].append(node)
            install_catalog(node)
        if not file.is_file():
            raise Exit(1, stderr=f"cat: {path}: No such file or directory\n")
        return file.read_text()
    if command[0] == "test" and command[1] == "-s":
        file = node_path(node, command[2])
        if file.is_file() and file.stat().st_size > 0:
            return ""
        raise Exit(1)
    if command[0] == "grep":
        result = subprocess.run(["grep"] + command[1:-1] + [str(node_path(node, command[-1]))],
                                capture_output=True, text=True)
        raise Exit(result.returncode, result.stdout, result.stderr.replace(str(STATE_DIR), ""))
    raise Exit(1, stderr=f"fake docker: unsupported exec {command}\n")


def install_catalog(node):
    target = node_path(node, "/var/lib/kubelet/seccomp/seccomp-gate")
    target.mkdir(parents=True, exist_ok=True)
    for profile in (REPO / "manifests/base/catalog").glob("*.json"):
        shutil.copyfile(profile, target / profile.name)


# ---------------------------------------------------------------------------------------------
# kind


def kind(args, state, cwd):
    options, positional = split_flags(args, {"--name", "--config", "--kubeconfig", "--wait",
                                             "--image"})
    name = options.get("--name", "kind")
    cluster = state.get("cluster")
    if positional[:2] == ["delete", "cluster"]:
        state["cluster"] = None
        return f"Deleting cluster \"{name}\" ...\n"
    if positional[:2] == ["create", "cluster"]:
        return kind_create(options, name, state, cwd)
    if not cluster or cluster["name"] != name:
        raise Exit(1, stderr=f"ERROR: no nodes found for cluster \"{name}\"\n")
    if positional[:2] == ["get", "nodes"]:
        return "".join(node + "\n" for node in cluster["nodes"])
    if positional[:2] == ["load", "docker-image"]:
        out = ""
        for image in positional[2:]:
            if image not in state["images"]:
                raise Exit(1, stderr=f"ERROR: image: \"{image}\" not present locally\n")
            info = state["images"][image]
            whole_index = info["index"] and \
                SCENARIO.get("image_store", "containerd") == "containerd"
            out += load_into_nodes(cluster, image, whole_index)
        return out
    if positional[:2] == ["load", "image-archive"]:
        archive = Path(positional[2])
        if not archive.is_file():
            raise Exit(1, stderr=f"ERROR: failed to load image: open {archive}: no such file or "
                       "directory\n")
        out = ""
        for entry in json.loads(archive.read_text()):
            out += load_into_nodes(cluster, entry["image"], entry["missing_platforms"])
        return out
    raise Exit(1, stderr=f"fake kind: unsupported command {args}\n")


def load_into_nodes(cluster, image, missing_platforms):
    node = cluster["nodes"][0]
    if missing_platforms:
        # kubernetes-sigs/kind#3795: ctr import of an index whose other platforms were never pulled.
        raise Exit(1, stdout=f"Image: \"{image}\" with ID \"sha256:{'a' * 64}\" not yet present on "
                   f"node \"{node}\", loading...\n",
                   stderr=f"ERROR: failed to load image: command \"docker exec --privileged -i "
                   f"{node} ctr --namespace=k8s.io images import --all-platforms --digests "
                   f"--snapshotter=overlayfs -\" failed with error: exit status 1\nCommand Output: "
                   f"ctr: content digest sha256:{'b' * 64}: not found\n")
    cluster["images"].append(image)
    return "".join(f"Image: \"{image}\" with ID \"sha256:{'a' * 64}\" not yet present on node "
                   f"\"{n}\", loading...\n" for n in cluster["nodes"])


def kind_create(options, name, state, cwd):
    if state.get("cluster"):
        raise Exit(1, stderr=f"ERROR: failed to create cluster: node(s) already exist for a "
                   f"cluster with the name \"{name}\"\n")
    config = cwd / options["--config"]
    if not config.is_file():
        raise Exit(1, stderr=f"ERROR: failed to create cluster: error reading file: open "
                   f"{config}: no such file or directory\n")
    text = config.read_text()
    # kind resolves extraMounts' relative hostPaths from its working directory.
    for host_path in re.findall(r"hostPath:\s*(\.\S+)", text):
        if not (cwd / host_path).exists():
            raise Exit(1, stderr=f"ERROR: failed to create cluster: extraMount hostPath "
                       f"{host_path} does not exist\n")
    roles = re.findall(r"^\s*- role:\s*(\S+)", text, re.M)
    nodes, workers = [], 0
    for role in roles:
        if role == "control-plane":
            nodes.append(f"{name}-control-plane")
        else:
            workers += 1
            nodes.append(f"{name}-worker" + ("" if workers == 1 else str(workers)))
    # The node images of kind v0.2x render kubeadm's v1beta3 configuration: only a patch of that
    # apiVersion that names the audit log path turns the audit log on.
    audit = any("kubeadm.k8s.io/v1beta3" in patch and "audit-log-path" in patch
                for patch in text.split("- |"))
    kubeconfig = cwd / options["--kubeconfig"]
    kubeconfig.write_text(f"apiVersion: v1\nkind: Config\nclusters:\n- name: kind-{name}\n")
    state["cluster"] = {"name": name, "nodes": nodes, "images": [], "audit": audit,
                        "kubeconfig": str(kubeconfig), "daemonset": False, "synced_nodes": [],
                        "namespaces": ["default", "kube-system"], "pods": {},
                        "webhook": None, "calls": 0}
    if audit:
        log = node_path(nodes[0], "/var/log/kubernetes/audit/audit.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
    return (f"Creating cluster \"{name}\" ...\n ✓ Ensuring node image (kindest/node:v1.31.0) 🖼\n"
            f" ✓ Preparing nodes 📦 📦 📦\n ✓ Writing configuration 📜\n ✓ Starting control-plane "
            f"🕹️\n ✓ Installing CNI 🔌\n ✓ Installing StorageClass 💾\n ✓ Joining worker nodes 🚜\n"
            f" ✓ Waiting ≤ 3m0s for control-plane = Ready ⏳\n")


# ---------------------------------------------------------------------------------------------
# kubectl: the API server, the webhook Service and its replicas, the kubelets


def kubectl(args, state, cwd, env_kubeconfig, input_text):
    options, positional = split_flags(args, {
        "-n", "--namespace", "-f", "--filename", "-k", "-o", "--output", "-l", "--selector",
        "--kubeconfig", "--timeout", "--for", "--replicas", "--image", "--image-pull-policy",
        "--container", "--dry-run"})
    cluster = state.get("cluster")
    kubeconfig = options.get("--kubeconfig") or env_kubeconfig
    if not cluster or not kubeconfig or not Path(kubeconfig).is_file() or \
            kubeconfig != cluster["kubeconfig"]:
        raise Exit(1, stderr="The connection to the server localhost:8080 was refused - did you "
                   "specify the right host or port?\n")
    namespace = options.get("-n") or options.get("--namespace") or "default"
    verb = positional[0] if positional else ""
    if verb == "apply" and "-k" in options:
        return apply_kustomization(cwd / options["-k"], cluster)
    if verb == "apply":
        # The client read the file (a /dev/fd/N of its own) or its stdin.
        source = options.get("-f") or options.get("--filename")
        return apply_manifest(parse_yaml(input_text), "STDIN" if source == "-" else source,
                              namespace, cluster,
                              options.get("--dry-run") == "server")
    if verb == "create" and positional[1:2] == ["namespace"]:
        name = positional[2]
        if name in cluster["namespaces"]:
            raise Exit(1, stderr=f"Error from server (AlreadyExists): namespaces \"{name}\" "
                       "already exists\n")
        cluster["namespaces"].append(name)
        return f"namespace/{name} created\n"
    if verb == "rollout":
        return rollout(positional[1], positional[2], namespace, cluster)
    if verb == "scale":
        return scale(positional[1], int(options["--replicas"]), namespace, cluster)
    if verb == "delete" and positional[1] == "mutatingwebhookconfiguration":
        webhook = cluster["webhook"]
        if not webhook or not webhook["mutating"]:
            raise Exit(1, stderr="Error from server (NotFound): mutatingwebhookconfigurations."
                       f"admissionregistration.k8s.io \"{positional[2]}\" not found\n")
        webhook["mutating"] = False
        return (f"mutatingwebhookconfiguration.admissionregistration.k8s.io \"{positional[2]}\" "
                "deleted\n")
    if verb == "get" and positional[1] in ("pod", "pods"):
        return get_pods(positional[2:], options, namespace, cluster)
    if verb == "logs":
        pod = find_pod(cluster, namespace, positional[1])
        if pod["phase"] not in ("Running", "Succeeded", "Failed"):
            raise Exit(1, stderr=f"Error from server (BadRequest): container \"main\" in pod "
                       f"\"{positional[1]}\" is waiting to start: {pod['waiting']}\n")
        return pod["log"]
    if verb == "describe":
        pod = find_pod(cluster, namespace, positional[2])
        return (f"Name:             {positional[2]}\nNamespace:        {namespace}\n"
                f"Status:           {pod['phase']}\nEvents:\n  Type     Reason  Message\n"
                f"  ----     ------  -------\n  Normal   Pulled  Container image already present"
                f"\n" + (f"  Warning  Failed   Error: {pod['waiting']}\n" if pod["waiting"] else ""))
    if verb == "wait":
        return wait_ready(positional[1:], namespace, cluster)
    if verb == "debug":
        return debug(positional[1], options, positional, namespace, cluster)
    if verb == "label":
        return label(positional[2], positional[3], namespace, cluster)
    raise Exit(1, stderr=f"fake kubectl: unsupported command {args}\n")


def real_kubectl():
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(directory) / "kubectl"
        if directory and Path(directory).resolve() != HERE and os.access(candidate, os.X_OK):
            return str(candidate)
    raise Exit(1, stderr="fake kubectl: `kubectl apply -k` needs the real kubectl on PATH too "
               "(for `kubectl kustomize`)\n")


KUSTOMIZED = {}  # kubectl kustomize is slow: one build per overlay and kustomization text


def kustomize(directory):
    key = (directory.name, (directory / "kustomization.yaml").read_text()) \
        if (directory / "kustomization.yaml").is_file() else None
    if key not in KUSTOMIZED or key is None:
        built = subprocess.run([real_kubectl(), "kustomize", str(directory)],
                               capture_output=True, text=True)
        if built.returncode != 0:
            raise Exit(1, stderr=built.stderr)
        KUSTOMIZED[key] = built
    return KUSTOMIZED[key]


def apply_kustomization(directory, cluster):
    built = kustomize(directory)
    out, mode, validate_policy = "", None, None
    for document in built.stdout.split("\n---\n"):
        kind_match = re.search(r"^kind: (\S+)$", document, re.M)
        name_match = re.search(r"^metadata:\n(?:  .*\n)*?  name: (\S+)$", document, re.M)
        if not kind_match or not name_match:
            continue
        kind_name = kind_match.group(1)
        out += f"{kind_name.lower()}/{name_match.group(1)} configured\n"
        if kind_name == "ConfigMap" and name_match.group(1) == "seccomp-gate-policy":
            mode = re.search(r"^\s+mode: (enforce|warn|audit)\s*$", document, re.M).group(1)
        if kind_name == "ValidatingWebhookConfiguration":
            # kustomize sorts keys: a webhook's failurePolicy comes before its name.
            for item in document.split("\n- ")[1:]:
                if re.search(r"^  name: validate\.seccomp-gate\.io$", item, re.M):
                    validate_policy = re.search(r"^  failurePolicy: (\w+)$", item, re.M).group(1)
    mutating = "\nkind: MutatingWebhookConfiguration\n" in "\n" + built.stdout
    if "\nkind: DaemonSet\n" in "\n" + built.stdout:
        cluster["daemonset"] = True
    webhook = cluster["webhook"]
    if webhook is None:
        # Ready pods are not yet a webhook the API server reaches: the first calls are refused.
        webhook = cluster["webhook"] = {"replicas": [], "desired": 3, "refusals": 2,
                                        "terminating": 0, "rr": 0, "mode": mode}
        webhook["replicas"] = [new_replica(mode) for _ in range(3)]
    else:
        # The ConfigMap changes in place: each kubelet refreshes its volume a little later, and a
        # flaky one not before its pod is restarted.
        webhook["rr"] = 0
        for index, replica in enumerate(webhook["replicas"]):
            stale = SCENARIO.get("flaky_replica") and index == len(webhook["replicas"]) - 1
            replica["pending"] = None if stale else mode
            replica["reload_at"] = cluster["calls"] + index + 1
    # kubectl apply creates and updates; what the overlay no longer has stays.
    webhook.update(mode=mode, mutating=webhook.get("mutating") or mutating,
                   validate_policy=validate_policy)
    return out


def new_replica(mode):
    return {"mode": mode, "pending": None, "reload_at": 0}


def policy_file(mode):
    """The policy of a replica in MODE, beside a copy of the catalog, as the pod mounts them."""
    directory = STATE_DIR / f"policy-{mode}"
    policy = directory / "policy" / "policy.yaml"
    if not policy.exists():
        policy.parent.mkdir(parents=True)
        text = (REPO / "manifests/base/policy/policy.yaml").read_text()
        policy.write_text(re.sub(r"^mode: \w+$", f"mode: {mode}", text, flags=re.M))
        shutil.copytree(REPO / "manifests/base/catalog", directory / "catalog")
    return policy


class WebhookError(Exception):
    pass


def call_webhook(cluster, name, path, request):
    """One admission request through the Service to a replica: its AdmissionReview response,
    or WebhookError with the API server's text for a call that failed."""
    webhook = cluster["webhook"]
    url = f"{SERVICE_URL}{path}?timeout=5s"
    if SCENARIO.get("webhook") == "silent":
        raise WebhookError(f"failed calling webhook \"{name}\": failed to call webhook: Post "
                           f"\"{url}\": context deadline exceeded")
    if not webhook["replicas"]:
        raise WebhookError(f"failed calling webhook \"{name}\": failed to call webhook: Post "
                           f"\"{url}\": no endpoints available for service \"seccomp-gate\"")
    if webhook["refusals"] > 0:
        webhook["refusals"] -= 1
        raise WebhookError(f"failed calling webhook \"{name}\": failed to call webhook: Post "
                           f"\"{url}\": dial tcp 10.96.71.13:443: connect: connection refused")
    cluster["calls"] += 1
    for replica in webhook["replicas"]:
        if replica["pending"] and cluster["calls"] >= replica["reload_at"]:
            replica["mode"], replica["pending"] = replica["pending"], None
    replica = webhook["replicas"][webhook["rr"] % len(webhook["replicas"])]
    webhook["rr"] += 1
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
    command = [BINARY, "review", "--policy", str(policy_file(replica["mode"]))]
    if path == "/mutate":
        command.append("--mutate")
    result = subprocess.run(command + ["-"], input=json.dumps(review), capture_output=True,
                            text=True)
    try:  # exit status 1 is a denial; the answer is what counts
        response = json.loads(result.stdout)["response"]
    except (ValueError, KeyError):
        raise WebhookError(f"failed calling webhook \"{name}\": received invalid webhook "
                           f"response: {result.stdout.strip()} {result.stderr.strip()}") from None
    wrongly = f"{request['kind']['kind']}/{request['name']}"
    if wrongly in SCENARIO.get("wrongly_admit", []):
        response = {"uid": response["uid"], "allowed": True}
    if SCENARIO.get("audit_annotations", True) is False:
        response.pop("auditAnnotations", None)
    return response


def admit(cluster, operation, obj, old, subresource, dry_run):
    """The API server's admission chain for one request: mutating, then validating webhooks.
    Returns (object, warnings, audit annotations); raises ApiError."""
    webhook = cluster["webhook"]
    kind_name = obj["kind"]
    namespace = obj["metadata"].get("namespace", "default")
    group, _, version = obj["apiVersion"].rpartition("/")
    resource = {"Pod": "pods", "Deployment": "deployments"}[kind_name]
    warnings, annotations = [], {}
    if webhook is None or namespace in EXEMPT_NAMESPACES:
        return obj, warnings, annotations
    request = {"uid": str(uuid.uuid4()), "kind": {"group": group, "version": version,
                                                 "kind": kind_name},
               "resource": {"group": group, "version": version, "resource": resource},
               "name": obj["metadata"]["name"], "namespace": namespace, "operation": operation,
               "userInfo": {"username": "kubernetes-admin",
                            "groups": ["kubeadm:cluster-admins", "system:authenticated"]},
               "object": obj, "oldObject": old, "dryRun": dry_run}
    if subresource:
        request["subResource"] = subresource
    chain = []
    if kind_name == "Pod" and operation == "CREATE" and webhook["mutating"]:
        chain.append(("mutate.seccomp-gate.io", "/mutate", "Ignore"))
    if kind_name == "Pod" and operation == "UPDATE" and not subresource:
        chain.append(("validate-pod-updates.seccomp-gate.io", "/validate", "Ignore"))
    else:
        chain.append(("validate.seccomp-gate.io", "/validate", webhook["validate_policy"]))
    for name, path, failure_policy in chain:
        try:
            response = call_webhook(cluster, name, path, request)
        except WebhookError as error:
            if failure_policy == "Ignore":
                continue
            raise ApiError(500, "InternalError", f"Internal error occurred: {error}") from None
        warnings += response.get("warnings", [])
        for key, value in response.get("auditAnnotations", {}).items():
            annotations[f"{name}/{key}"] = value
        if not response["allowed"]:
            status = response.get("status", {})
            denied = f"admission webhook \"{name}\" denied the request"
            message = f"{denied}: {status['message']}" if status.get("message") else \
                f"{denied} without explanation"
            raise ApiError(status.get("code", 400), status.get("reason", ""), message)
        if response.get("patch"):
            patch = json.loads(base64.b64decode(response["patch"]))
            obj = apply_patch(obj, patch)
            request["object"] = obj
    return obj, warnings, annotations


def apply_patch(obj, patch):
    obj = json.loads(json.dumps(obj))
    for op in patch:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = obj
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if op["op"] in ("add", "replace"):
            if isinstance(parent, list):
                parent.insert(len(parent) if last == "-" else int(last), op["value"])
            else:
                parent[last] = op["value"]
        elif op["op"] == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
    return obj


def audit_event(cluster, verb, namespace, name, subresource, dry_run, code, annotations):
    if not cluster["audit"] or namespace not in SCENARIO.get("audit_namespaces",
                                                            AUDITED_NAMESPACES):
        return
    uri = f"/api/v1/namespaces/{namespace}/pods"
    uri += f"/{name}/{subresource}" if subresource else ""
    uri += "?fieldManager=kubectl-client-side-apply&fieldValidation=Strict"
    uri += "&dryRun=All" if dry_run else ""
    object_ref = {"resource": "pods", "namespace": namespace, "name": name, "apiVersion": "v1"}
    if subresource:
        object_ref["subresource"] = subresource
    event = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
             "auditID": str(uuid.uuid4()), "stage": "ResponseComplete", "requestURI": uri,
             "verb": verb, "user": {"username": "kubernetes-admin",
                                    "groups": ["kubeadm:cluster-admins", "system:authenticated"]},
             "sourceIPs": ["172.18.0.1"],
             "userAgent": "kubectl/v1.31.0 (linux/amd64) kubernetes/9edcffc",
             "objectRef": object_ref, "responseStatus": {"metadata": {}, "code": code},
             "requestReceivedTimestamp": "2025-01-01T00:00:00.000000Z",
             "stageTimestamp": "2025-01-01T00:00:00.010000Z",
             "annotations": {"authorization.k8s.io/decision": "allow",
                             "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding "
                             "\"kubeadm:cluster-admins\" of ClusterRole \"cluster-admin\" to "
                             "Group \"kubeadm:cluster-admins\"", **annotations}}
    log = node_path(cluster["nodes"][0], "/var/log/kubernetes/audit/audit.log")
    with log.open("a") as file:
        file.write(json.dumps(event, separators=(",", ":")) + "\n")


def server_error(error, source=None):
    """kubectl's StandardErrorMessage of an API status error ("Error from server (Reason): ..."
    or, without a reason, "Error from server: ..."), with apply's AddSourceToErr."""
    text = f"error when creating \"{source}\": {error.message}" if source else error.message
    reason = f" ({error.reason})" if error.reason else ""
    return f"Error from server{reason}: {text}\n"


def apply_manifest(obj, source, namespace, cluster, dry_run):
    obj.setdefault("metadata", {}).setdefault("namespace", namespace)
    namespace, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
    kind_name = obj["kind"]
    if namespace not in cluster["namespaces"]:
        raise Exit(1, stderr=f"Error from server (NotFound): error when creating \"{source}\": "
                   f"namespaces \"{namespace}\" not found\n")
    if kind_name == "Pod":
        obj.setdefault("spec", {}).setdefault("securityContext", {})  # API server defaulting
        if not dry_run and f"{namespace}/{name}" in cluster["pods"]:
            return f"pod/{name} unchanged\n"
    try:
        obj, warnings, annotations = admit(cluster, "CREATE", obj, None, None, dry_run)
    except ApiError as error:
        if kind_name == "Pod":
            audit_event(cluster, "create", namespace, name, None, dry_run, error.code, {})
        raise Exit(1, stderr=server_error(error, source)) from None
    if kind_name == "Pod":
        audit_event(cluster, "create", namespace, name, None, dry_run, 201, annotations)
    WARNINGS.extend(f"Warning: {warning}\n" for warning in warnings)
    resource = {"Pod": "pod", "Deployment": "deployment.apps"}[kind_name]
    if dry_run:
        return f"{resource}/{name} created (server dry run)\n"
    if kind_name == "Pod":
        cluster["pods"][f"{namespace}/{name}"] = {"object": obj, "phase": "Pending", "log": "",
                                                  "waiting": "", "looks": 0}
    return f"{resource}/{name} created\n"


def find_pod(cluster, namespace, name):
    pod = cluster["pods"].get(f"{namespace}/{name}")
    if pod is None:
        raise Exit(1, stderr=f"Error from server (NotFound): pods \"{name}\" not found\n")
    return pod


def progress(cluster, pod):
    """The kubelet: each look at a pod moves it on, Pending to Running to its end."""
    pod["looks"] += 1
    if pod["phase"] == "Pending" and pod["looks"] >= 2:
        start(cluster, pod)
    if pod["phase"] == "Running" and pod.get("result") is not None:
        pod["phase"] = "Succeeded" if pod["result"] == 0 else "Failed"


def start(cluster, pod):
    spec = pod["object"]["spec"]
    container = spec["containers"][0]
    profile = (container.get("securityContext") or {}).get("seccompProfile") or \
        (spec.get("securityContext") or {}).get("seccompProfile") or {"type": "RuntimeDefault"}
    rules = None
    if profile["type"] == "Localhost":
        node = cluster["nodes"][-1]
        file = node_path(node, "/var/lib/kubelet/seccomp/" + profile["localhostProfile"])
        if not file.is_file():
            pod["waiting"] = ("CreateContainerError: failed to create containerd container: "
                              f"cannot load seccomp profile \"/var/lib/kubelet/seccomp/"
                              f"{profile['localhostProfile']}\": open ...: no such file or "
                              "directory")
            return
        rules = json.loads(file.read_text())
    pod["phase"] = "Running"
    script = container["command"][-1]
    if script.startswith("sleep"):
        pod["result"] = None
        return
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                            env=stub_environment(rules))
    pod["log"], pod["result"] = result.stdout + result.stderr, result.returncode


def allowed(profile, syscall, arg0=None):
    """What a seccomp profile does to SYSCALL(ARG0...): the first rule naming it decides."""
    if profile is None:  # RuntimeDefault: these calls are allowed by every runtime's default
        return True
    for rule in profile.get("syscalls", []):
        if syscall not in rule.get("names", []):
            continue
        args = rule.get("args") or []
        if all(a.get("op") == "SCMP_CMP_EQ" and a.get("index") == 0 and arg0 == a["value"]
               for a in args):
            return rule["action"] in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG")
    return profile.get("defaultAction") in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG")


def stub_environment(profile):
    """PATH with mkdir, taskset and linux32 as the profile lets busybox run them."""
    stubs = STATE_DIR / f"stubs-{uuid.uuid4().hex}"
    stubs.mkdir()
    calls = {
        "mkdir": (allowed(profile, "mkdir") or allowed(profile, "mkdirat"),
                  "mkdir: can't create directory '/tmp/probe': Operation not permitted"),
        "taskset": (allowed(profile, "sched_setaffinity"),
                    "taskset: can't set pid 0's affinity: Operation not permitted"),
        # linux32 -R: personality(PER_LINUX32 | ADDR_NO_RANDOMIZE)
        "linux32": (allowed(profile, "personality", 0x0040008),
                    "setarch: failed to set personality to linux32: Operation not permitted"),
    }
    for name, (ok, message) in calls.items():
        stub = stubs / name
        stub.write_text("#!/bin/sh\n" + ("exit 0\n" if ok else f"echo \"{message}\" >&2\nexit 1\n"))
        stub.chmod(0o755)
    return {"PATH": f"{stubs}:/usr/bin:/bin"}


def jsonpath(obj, template):
    def lookup(expression):
        value = obj
        for part in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", expression):
            key, index = part
            if value is None:
                return None
            if key:
                value = value.get(key) if isinstance(value, dict) else None
            else:
                value = value[int(index)] if isinstance(value, list) and \
                    int(index) < len(value) else None
        return value

    def render(match):
        value = lookup(match.group(1))
        if value is None:
            return ""
        return json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list)) \
            else str(value)
    return re.sub(r"\{([^{}]*)\}", render, template)


def get_pods(names, options, namespace, cluster):
    output = options.get("-o") or options.get("--output") or ""
    selector = options.get("-l") or options.get("--selector")
    if selector == "app.kubernetes.io/component=webhook" and namespace == WEBHOOK_NAMESPACE:
        webhook = cluster["webhook"]
        count = len(webhook["replicas"]) if webhook else 0
        if webhook and webhook["terminating"]:
            count, webhook["terminating"] = webhook["terminating"], webhook["terminating"] - 1
        return "".join(f"pod/seccomp-gate-6d4f8b7c9-{'abcde'[i]}x{i}\n" for i in range(count))
    pod = find_pod(cluster, namespace, names[0])
    progress(cluster, pod)
    status = {"phase": pod["phase"]}
    obj = dict(pod["object"], status=status)
    if output.startswith("jsonpath="):
        return jsonpath(obj, output[len("jsonpath="):])
    return f"NAME   READY   STATUS    RESTARTS   AGE\n{names[0]}   0/1   {pod['phase']}   0   1s\n"


def wait_ready(targets, namespace, cluster):
    out = ""
    for target in targets:
        name = target.split("/", 1)[1]
        pod = find_pod(cluster, namespace, name)
        while pod["phase"] == "Pending" and not pod["waiting"]:
            progress(cluster, pod)
        if pod["phase"] != "Running":
            raise Exit(1, stdout=out, stderr=f"error: timed out waiting for the condition on "
                       f"pods/{name}\n")
        out += f"pod/{name} condition met\n"
    return out


def debug(name, options, positional, namespace, cluster):
    pod = find_pod(cluster, namespace, name)
    old = pod["object"]
    command = positional[positional.index("--") + 1:] if "--" in positional else []
    container = {"name": options.get("--container", "debugger-x7k2p"), "image": options["--image"],
                 "imagePullPolicy": options.get("--image-pull-policy", "IfNotPresent"),
                 "resources": {}, "terminationMessagePath": "/dev/termination-log",
                 "terminationMessagePolicy": "File"}
    if command:
        container["command"] = command
    new = json.loads(json.dumps(old))
    new["spec"].setdefault("ephemeralContainers", []).append(container)
    try:
        new, _, annotations = admit(cluster, "UPDATE", new, old, "ephemeralcontainers", False)
    except ApiError as error:
        audit_event(cluster, "patch", namespace, name, "ephemeralcontainers", False, error.code,
                    {})
        raise Exit(1, stderr=server_error(error)) from None
    audit_event(cluster, "patch", namespace, name, "ephemeralcontainers", False, 200, annotations)
    pod["object"] = new
    return ""


def label(name, assignment, namespace, cluster):
    pod = find_pod(cluster, namespace, name)
    old = pod["object"]
    new = json.loads(json.dumps(old))
    key, value = assignment.split("=", 1)
    new["metadata"].setdefault("labels", {})[key] = value
    try:
        new, _, annotations = admit(cluster, "UPDATE", new, old, None, False)
    except ApiError as error:
        raise Exit(1, stderr=server_error(error)) from None
    audit_event(cluster, "patch", namespace, name, None, False, 200, annotations)
    pod["object"] = new
    return f"pod/{name} labeled\n"


def rollout(action, target, namespace, cluster):
    webhook = cluster["webhook"]
    kind_name, name = target.split("/", 1)
    if namespace != WEBHOOK_NAMESPACE or webhook is None:
        raise Exit(1, stderr=f"Error from server (NotFound): {kind_name}s.apps \"{name}\" not "
                   "found\n")
    if action == "restart" and kind_name == "deployment":
        webhook["replicas"] = [new_replica(webhook["mode"]) for _ in webhook["replicas"]]
        webhook["rr"] = 0
        return f"deployment.apps/{name} restarted\n"
    if action != "status":
        raise Exit(1, stderr=f"fake kubectl: unsupported rollout {action}\n")
    if kind_name == "deployment":
        if "seccomp-gate:e2e" not in cluster["images"]:
            raise Exit(1, stdout=f"Waiting for deployment \"{name}\" rollout to finish: 0 of 3 "
                       "updated replicas are available...\n",
                       stderr="error: timed out waiting for the condition\n")
        webhook["replicas"] = webhook["replicas"][:webhook["desired"]]
        while len(webhook["replicas"]) < webhook["desired"]:
            webhook["replicas"].append(new_replica(webhook["mode"]))
        return (f"Waiting for deployment \"{name}\" rollout to finish: 2 of 3 updated replicas "
                f"are available...\ndeployment \"{name}\" successfully rolled out\n")
    return (f"Waiting for daemon set \"{name}\" rollout to finish: 2 of 3 updated pods are "
            f"available...\ndaemon set \"{name}\" successfully rolled out\n")


def scale(target, replicas, namespace, cluster):
    webhook = cluster["webhook"]
    name = target.split("/", 1)[1]
    if replicas < len(webhook["replicas"]):
        webhook["terminating"] = 1  # the pods linger for one more look while they terminate
    webhook["desired"] = replicas
    webhook["replicas"] = webhook["replicas"][:replicas]
    while len(webhook["replicas"]) < replicas:
        webhook["replicas"].append(new_replica(webhook["mode"]))
    return f"deployment.apps/{name} scaled\n"


# ---------------------------------------------------------------------------------------------


def split_flags(args, with_value):
    """kubectl-style arguments: --flag=value, --flag value (for flags in WITH_VALUE), and
    positionals; everything after "--" is positional."""
    options, positional = {}, []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            positional += args[i:]
            break
        if arg.startswith("-") and "=" in arg and arg.split("=", 1)[0] in with_value | {
                "--dry-run", "--for", "--timeout", "--replicas", "--image",
                "--image-pull-policy", "--container", "--platform", "--output"}:
            key, value = arg.split("=", 1)
            options[key] = value
        elif arg in with_value and i + 1 < len(args):
            options[arg] = args[i + 1]
            i += 1
        elif arg.startswith("-") and arg != "-":
            options[arg] = True
        else:
            positional.append(arg)
        i += 1
    return options, positional


WARNINGS = []  # what the API server warned about in this call: kubectl prints it on stderr


def handle(fields, state):
    """One command line from the client: tool, working directory, KUBECONFIG, argument count,
    the arguments, and the text of the manifest it read (kubectl -f). Returns (code, out, err)."""
    tool, cwd, env_kubeconfig, count = fields[0], Path(fields[1]), fields[2], int(fields[3])
    args, input_text = fields[4:4 + count], fields[4 + count]
    with (STATE_DIR / "calls.log").open("a") as log:
        log.write(" ".join([tool] + args) + "\n")
    WARNINGS.clear()
    try:
        if tool == "docker":
            out = docker(args, state)
        elif tool == "kind":
            out = kind(args, state, cwd)
        else:
            out = kubectl(args, state, cwd, env_kubeconfig, input_text)
        code, err = 0, ""
    except Exit as error:
        out, code, err = error.stdout, error.code, error.stderr
    return code, out, "".join(WARNINGS) + err


def serve(state_dir, scenario, binary, port_sink):
    """Serves one fake world on 127.0.0.1 until the process ends (one world per process: the
    module's globals are its state). Sends the port for $FAKE_CLUSTER_PORT to PORT_SINK (a
    multiprocessing connection); every command line goes to STATE_DIR/calls.log."""
    import socketserver
    global STATE_DIR, SCENARIO, BINARY
    STATE_DIR, SCENARIO, BINARY = Path(state_dir), dict(scenario), str(binary)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    state = {"images": {}, "cluster": None}

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            data = b""
            fields = []
            while len(fields) < 5 or len(fields) < 5 + int(fields[3]):
                chunk = self.rfile.read1(65536)
                if not chunk:
                    return
                data += chunk
                fields = data.split(b"\0")[:-1]
            fields = [field.decode() for field in fields]
            try:
                code, out, err = handle(fields, state)
            except Exception as error:  # a bug of the fake: say so where run.sh shows it
                import traceback
                code, out, err = 99, "", "fake cluster: " + traceback.format_exc()
            self.wfile.write(f"{code}\0{err}\0{out}".encode())

    server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
    port_sink.send(server.server_address[1])
    server.serve_forever()
