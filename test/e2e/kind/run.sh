#!/usr/bin/env bash
# seccomp-gate in a real cluster: builds the image, starts a kind cluster (cluster.yaml), deploys
# manifests/overlays/enforce with a certificate from certs/generate.sh, and checks what a user
# would see: denials with their messages, profiles really applied by the kernel, mutation, the
# DaemonSet's profiles on every node, ephemeral containers, fail-closed (and pod updates that fail
# open), then audit mode: nothing mutated, its audit annotation in the API server's audit log.
#
# usage: test/e2e/kind/run.sh
#   env KIND_CLUSTER      cluster name (default seccomp-gate-e2e); deleted at the end
#       KEEP_CLUSTER=1    keep the cluster (and print how to reach it)
#       KIND_NODE_IMAGE   node image for `kind create cluster --image`
# Needs docker (a running engine), kind and kubectl. Without an engine it prints
# "skipped: ..." and exits 0: it never passes without having run. Exit 1 when a check failed.
# test/e2e/kind/test_run_logic.py runs this script against fake docker, kind and kubectl.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cluster=${KIND_CLUSTER:-seccomp-gate-e2e}
image=seccomp-gate:e2e
busybox=busybox:1.36.1

if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
    echo "skipped: no Docker engine (docker info failed): kind tests need one"
    exit 0
fi
if ! command -v kind >/dev/null; then
    echo "skipped: kind is not installed: kind tests need it (https://kind.sigs.k8s.io)"
    exit 0
fi
command -v kubectl >/dev/null || { echo "FAIL: kubectl is not installed"; exit 1; }

work=$(mktemp -d)
export KUBECONFIG="$work/kubeconfig"
cleanup() {
    local status=$?
    if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
        echo "cluster kept: KUBECONFIG=$KUBECONFIG kubectl get pods -A; kind delete cluster --name $cluster"
    else
        kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
        rm -rf "$work"
    fi
    exit "$status"
}
trap cleanup EXIT

passed=0
failed=0
pass() {
    echo "PASS: $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL: $*"
    failed=$((failed + 1))
}
step() { echo "== $*"; }
# Set-up steps must work; a failure stops the run (and the trap deletes the cluster).
must() {
    "$@" >"$work/output" 2>&1 || {
        echo "FAIL: set-up: $*"
        sed 's/^/    /' "$work/output"
        echo "$passed passed, $((failed + 1)) failed"
        exit 1
    }
}
# eventually SECONDS COMMAND...: retries COMMAND every 2 s until it succeeds or time runs out.
eventually() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >"$work/eventually" 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 2
    done
}

# A pod manifest: NAME NAMESPACE POD_SECURITY_CONTEXT CONTAINER_SECURITY_CONTEXT SHELL_COMMAND
pod() {
    cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  namespace: $2
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  securityContext: {$3}
  containers:
    - name: main
      image: $busybox
      imagePullPolicy: IfNotPresent
      securityContext: {$4}
      command: [sh, -c, '$5']
EOF
}
localhost() { echo "seccompProfile: {type: Localhost, localhostProfile: $1}"; }
runtime_default="seccompProfile: {type: RuntimeDefault}"

# expect_denied NAME MESSAGE: the manifest on stdin is refused by the webhook, saying MESSAGE.
# A pod is refused by mutate.seccomp-gate.io already (the API server calls the mutating webhooks
# first, and /mutate judges what it would admit); workloads and updates by validate.
expect_denied() {
    local name=$1 message=$2
    if kubectl apply -f - >"$work/apply" 2>&1; then
        fail "$name: admitted"
        sed 's/^/    /' "$work/apply"
    elif grep -qE 'admission webhook "(mutate|validate)\.seccomp-gate\.io" denied the request' \
        "$work/apply" &&
        grep -qF -- "$message" "$work/apply"; then
        pass "$name"
        sed 's/^/    /' "$work/apply"
    else
        fail "$name: not denied by seccomp-gate with \"$message\""
        sed 's/^/    /' "$work/apply"
    fi
}
# run_pod NAME: waits for pod NAME in e2e to finish and prints its log.
finished() { # NAME
    local phase
    phase=$(kubectl get pod -n e2e "$1" -o jsonpath='{.status.phase}')
    [ "$phase" = Succeeded ] || [ "$phase" = Failed ]
}
run_pod() {
    eventually 120 finished "$1" || {
        kubectl describe pod -n e2e "$1" | tail -n 20
        return 1
    }
    kubectl logs -n e2e "$1"
}
# expect_output NAME POD TEXT: pod POD (created already) finishes and its log contains TEXT.
expect_output() {
    local name=$1 pod_name=$2 text=$3 log
    if log=$(run_pod "$pod_name" 2>&1) && grep -qF -- "$text" <<<"$log"; then
        pass "$name"
    else
        fail "$name: expected \"$text\" in the output of pod $pod_name"
        echo "    ${log//$'\n'/$'\n'    }"
    fi
}

step "image $image and $busybox"
must docker build -t "$image" "$repo"
# busybox is a multi-platform image: `kind load docker-image` of it fails where Docker keeps images
# in containerd ("ctr: content digest ... not found": docker save exports the whole index, whose
# other platforms were never pulled). Save this platform alone; a Docker without
# `save --platform` (before 28) leaves busybox to the nodes, which pull it themselves.
platform=linux/$(docker version --format '{{.Server.Arch}}')
must docker pull --platform "$platform" "$busybox"
busybox_archive=""
if [[ $(docker save --help 2>&1) == *--platform* ]]; then
    busybox_archive="$work/busybox.tar"
    must docker save --platform "$platform" --output "$busybox_archive" "$busybox"
else
    echo "note: this docker cannot save one platform of $busybox; the nodes will pull it"
fi

step "kind cluster $cluster"
kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
cd "$here" # cluster.yaml's extraMounts are relative to it
must kind create cluster --name "$cluster" --config cluster.yaml --kubeconfig "$KUBECONFIG" \
    --wait 180s ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"}
must kind load docker-image "$image" --name "$cluster"
[ -z "$busybox_archive" ] || must kind load image-archive "$busybox_archive" --name "$cluster"

step "certificates and the enforce overlay"
must "$repo/certs/generate.sh" --out "$work/certs"
for mode in enforce audit; do
    mkdir -p "$work/$mode"
    cat >"$work/$mode/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../certs/$mode
images:
  - name: seccomp-gate
    newTag: e2e
EOF
done
must kubectl apply -k "$work/enforce"
must kubectl -n seccomp-gate rollout status deployment/seccomp-gate --timeout=180s
must kubectl -n seccomp-gate rollout status daemonset/seccomp-gate-profiles --timeout=180s
must kubectl create namespace e2e
must kubectl create namespace e2e-audit
# Ready pods are not yet a webhook the API server reaches: wait for a real denial. kubectl fails
# exactly when the webhook denies, so its output is captured before it is read (under pipefail a
# `kubectl ... | grep` would be false on every denial).
webhook_denies() {
    local output
    if output=$(pod probe e2e "seccompProfile: {type: Unconfined}" "" "true" |
        kubectl apply --dry-run=server -f - 2>&1); then
        echo "admitted: $output"
        return 1
    fi
    echo "$output"
    grep -q 'denied the request' <<<"$output"
}
eventually 120 webhook_denies || { fail "the webhook never answered"; cat "$work/eventually"; exit 1; }

step "checks"
# The DaemonSet installed the catalog on every node, the tainted control plane included.
profiles_on_node() {
    local node=$1 file
    for file in "$repo"/manifests/base/catalog/*.json; do
        docker exec "$node" cat "/var/lib/kubelet/seccomp/seccomp-gate/$(basename "$file")" |
            cmp -s - "$file" || { echo "$node: $(basename "$file") differs or is missing"; return 1; }
    done
}
for node in $(kind get nodes --name "$cluster"); do
    if eventually 90 profiles_on_node "$node"; then
        pass "the DaemonSet installed the catalog on $node"
    else
        fail "the DaemonSet did not install the catalog on $node"
        sed 's/^/    /' "$work/eventually"
    fi
done

# expect_denied reads its manifest from a redirection, never from a pipe: on the right of a pipe it
# would run in a subshell, and its PASS/FAIL counts would be lost.
expect_denied "an Unconfined pod is denied" 'must not set seccompProfile.type to "Unconfined"' \
    < <(pod unconfined e2e "seccompProfile: {type: Unconfined}" "" "true")
expect_denied "a pod with a Localhost profile missing from the catalog is denied" \
    'uses Localhost profile "seccomp-gate/missing.json", which is not in the profile catalog' \
    < <(pod missing e2e "$(localhost seccomp-gate/missing.json)" "" "true")
expect_denied "a Deployment with an Unconfined template is denied" 'spec.template.spec' <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: unconfined, namespace: e2e}
spec:
  selector: {matchLabels: {app: unconfined}}
  template:
    metadata: {labels: {app: unconfined}}
    spec:
      containers:
        - name: main
          image: $busybox
          securityContext: {seccompProfile: {type: Unconfined}}
EOF

# The catalog profile is really applied: web.json allows no mkdir, RuntimeDefault does.
probe_mkdir='if mkdir /tmp/probe; then echo MKDIR_ALLOWED; else echo MKDIR_BLOCKED; fi'
must kubectl apply -f <(pod web e2e "$(localhost seccomp-gate/web.json)" "" "$probe_mkdir")
must kubectl apply -f <(pod web-control e2e "$runtime_default" "" "$probe_mkdir")
expect_output "seccomp-gate/web.json is applied: mkdir fails with EPERM in its pod" web MKDIR_BLOCKED
expect_output "... while the same pod under RuntimeDefault may mkdir" web-control MKDIR_ALLOWED

# A pod without a profile gets seccomp-gate/default.json: ordinary calls work (taskset:
# sched_setaffinity), what the runtimes' default keeps out does not (linux32 -R: personality with
# ADDR_NO_RANDOMIZE). The control runs the same under the catalog's allow-all audit.json.
probe_default='taskset 1 true && echo AFFINITY_ALLOWED; if linux32 -R true; then echo NO_ASLR_ALLOWED; else echo NO_ASLR_BLOCKED; fi'
must kubectl apply -f <(pod unset e2e "" "" "$probe_default")
must kubectl apply -f <(pod unset-control e2e "$(localhost seccomp-gate/audit.json)" "" "$probe_default")
injected=$(kubectl get pod -n e2e unset -o jsonpath='{.spec.securityContext.seccompProfile.type}/{.spec.securityContext.seccompProfile.localhostProfile}' 2>&1) || true
if [ "$injected" = "Localhost/seccomp-gate/default.json" ]; then
    pass "a pod without a profile is mutated to Localhost seccomp-gate/default.json"
else
    fail "a pod without a profile is mutated to the default profile: got \"$injected\""
fi
expect_output "... runs under it: sched_setaffinity works" unset AFFINITY_ALLOWED
expect_output "... and personality(ADDR_NO_RANDOMIZE) is refused" unset NO_ASLR_BLOCKED
expect_output "... which the same pod under the allow-all audit.json may do" unset-control NO_ASLR_ALLOWED

# kubectl debug: the ephemeral container inherits a pod-level profile (admitted); a pod whose
# profiles are set per container leaves it with none (denied).
long_running='sleep 3600'
must kubectl apply -f <(pod debug-pod-level e2e "$(localhost seccomp-gate/web.json)" "" "$long_running")
must kubectl apply -f <(pod debug-container-level e2e "" "$(localhost seccomp-gate/web.json)" "$long_running")
must kubectl -n e2e wait --for=condition=Ready pod/debug-pod-level pod/debug-container-level --timeout=120s
if kubectl debug -n e2e debug-pod-level --image="$busybox" --image-pull-policy=IfNotPresent \
    --container=debugger -- true >"$work/debug" 2>&1 &&
    [ "$(kubectl get pod -n e2e debug-pod-level -o jsonpath='{.spec.ephemeralContainers[0].name}')" = debugger ]; then
    pass "kubectl debug on a pod with a pod-level profile is admitted"
else
    fail "kubectl debug on a pod with a pod-level profile is admitted"
    sed 's/^/    /' "$work/debug"
fi
if kubectl debug -n e2e debug-container-level --image="$busybox" --image-pull-policy=IfNotPresent \
    --container=debugger -- true >"$work/debug" 2>&1; then
    fail "kubectl debug adding a container without a profile is denied: admitted"
elif grep -q 'denied the request' "$work/debug" && grep -qF 'spec.ephemeralContainers[0]' "$work/debug"; then
    pass "kubectl debug adding a container without a profile is denied"
    sed 's/^/    /' "$work/debug"
else
    fail "kubectl debug adding a container without a profile is denied by seccomp-gate"
    sed 's/^/    /' "$work/debug"
fi

# Fail-closed: with no replica, pods in judged namespaces are refused, even harmless ones; the
# webhook's own namespace is not judged, so it can always come back.
must kubectl -n seccomp-gate scale deployment/seccomp-gate --replicas=0
no_webhook_pods() {
    [ -z "$(kubectl -n seccomp-gate get pods -l app.kubernetes.io/component=webhook -o name)" ]
}
eventually 120 no_webhook_pods || { fail "the webhook pods did not go away"; exit 1; }
refused_closed() {
    local output
    if output=$(pod closed e2e "$runtime_default" "" "true" |
        kubectl apply --dry-run=server -f - 2>&1); then
        echo "admitted: $output"
        return 1
    fi
    echo "$output"
    grep -q 'failed calling webhook "validate.seccomp-gate.io"' <<<"$output"
}
if eventually 60 refused_closed; then
    pass "with no webhook replica, pods are refused (failurePolicy Fail)"
else
    fail "with no webhook replica, pods are refused (failurePolicy Fail)"
    sed 's/^/    /' "$work/eventually"
fi
# ... but running pods can still be labelled (validate-pod-updates.seccomp-gate.io is Ignore).
if kubectl -n e2e label pod debug-pod-level outage=true >"$work/label" 2>&1; then
    pass "with no webhook replica, a running pod can still be labelled (pod UPDATE fails open)"
else
    fail "with no webhook replica, a running pod can still be labelled (pod UPDATE fails open)"
    sed 's/^/    /' "$work/label"
fi
must kubectl -n seccomp-gate scale deployment/seccomp-gate --replicas=3
must kubectl -n seccomp-gate rollout status deployment/seccomp-gate --timeout=180s

step "audit overlay"
must kubectl apply -k "$work/audit"
# kubectl apply does not remove what an overlay no longer has: audit mode has no mutating webhook.
must kubectl delete mutatingwebhookconfiguration seccomp-gate
# The policy ConfigMap changed in place: each replica reloads it when its kubelet refreshes the
# volume, up to a minute apart, and the Service picks a replica at random. Restart the replicas so
# that every one starts with the audit policy, and then ask often enough to reach each of them.
must kubectl -n seccomp-gate rollout restart deployment/seccomp-gate
must kubectl -n seccomp-gate rollout status deployment/seccomp-gate --timeout=180s
admitted_in_audit() {
    local i
    for ((i = 0; i < 6; i++)); do
        pod audit-probe e2e-audit "seccompProfile: {type: Unconfined}" "" "true" |
            kubectl apply --dry-run=server -f - || return 1
    done
}
if eventually 180 admitted_in_audit; then
    pass "audit mode admits an Unconfined pod"
else
    fail "audit mode admits an Unconfined pod"
    sed 's/^/    /' "$work/eventually"
fi
must kubectl apply -f <(pod audit-unconfined e2e-audit "seccompProfile: {type: Unconfined}" "" "true")
# A dry run changes nothing: a pod without a profile stays without one.
must kubectl apply -f <(pod audit-unset e2e-audit "" "" "true")
kept=$(kubectl get pod -n e2e-audit audit-unset -o jsonpath='{.spec.securityContext.seccompProfile}' 2>&1) || kept="(kubectl failed) $kept"
if [ -z "$kept" ]; then
    pass "audit mode mutates nothing: a pod without a profile is admitted as it is"
else
    fail "audit mode mutates nothing: the pod got $kept"
fi
control_plane="$cluster-control-plane"
# Every grep reads its whole input: a `grep -q` that stops at the first match makes the writer
# before it die of SIGPIPE on a long log, and pipefail turns that into a failure.
audit_annotated() {
    local log
    log=$(docker exec "$control_plane" cat /var/log/kubernetes/audit/audit.log) || return 1
    grep -F '"verb":"create"' <<<"$log" | grep -F '"resource":"pods"' |
        grep -F '"audit-unconfined"' | grep -F '"validate.seccomp-gate.io/violations"' |
        grep 'Unconfined' >/dev/null
}
if ! docker exec "$control_plane" test -s /var/log/kubernetes/audit/audit.log; then
    fail "the API server writes no audit log: cluster.yaml's kubeadm patch did not apply"
elif eventually 30 audit_annotated; then
    pass "the audit log records validate.seccomp-gate.io/violations for the admitted pod"
else
    fail "the audit log records validate.seccomp-gate.io/violations for the admitted pod"
    # grep finding nothing is the likely case here: it must not end the script before the summary.
    { docker exec "$control_plane" grep -F audit-unconfined /var/log/kubernetes/audit/audit.log ||
        echo "(no audit event for audit-unconfined)"; } | tail -n 3 | sed 's/^/    /'
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
