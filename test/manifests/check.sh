#!/usr/bin/env bash
# Offline checks of the deployment: manifests/ (kustomize), certs/generate.sh, the Dockerfile.
# No cluster is needed; kubectl (for `kubectl kustomize`), node with test/manifests/node_modules
# (`npm ci` here, done by .ci/install-deps), openssl and curl are. A missing tool is a failure,
# never a skip.
#
# usage: test/manifests/check.sh     env SECCOMP_GATE: the binary (default build/dev/cli/seccomp-gate)
# Prints PASS/FAIL/SKIP per check and "N passed, N failed, N skipped"; exits 1 when any check
# failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
binary=${SECCOMP_GATE:-$repo/build/dev/cli/seccomp-gate}
work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source-path=SCRIPTDIR source=../lib/checks.sh
. "$here/../lib/checks.sh"

# Tools: a missing one stops everything with a message saying how to get it.
missing=()
command -v kubectl >/dev/null || missing+=("kubectl (for kubectl kustomize; Debian 12 has no package: install the Kubernetes project's)")
command -v node >/dev/null || missing+=("node (apt-get install nodejs npm)")
command -v openssl >/dev/null || missing+=("openssl")
command -v curl >/dev/null || missing+=("curl")
command -v setpriv >/dev/null || missing+=("setpriv (util-linux)")
command -v ipcmk >/dev/null || missing+=("ipcmk (util-linux)")
command -v python3 >/dev/null || missing+=("python3")
[ -d "$here/node_modules/kubernetes-models" ] ||
    missing+=("test/manifests/node_modules (run: npm ci --prefix test/manifests, or .ci/install-deps)")
[ -x "$binary" ] || missing+=("the seccomp-gate binary at $binary (build it, or set SECCOMP_GATE)")
if [ ${#missing[@]} -gt 0 ]; then
    for tool in "${missing[@]}"; do echo "FAIL: missing $tool"; done
    echo "0 passed, ${#missing[@]} failed"
    exit 1
fi
check_the_checks
validate() { node "$here/validate.mjs" "$@"; }
invariants() { node "$here/invariants.mjs" "$@"; }

# 1. The catalog shipped in the ConfigMap is the example catalog, file for file.
check "manifests/base/catalog is a copy of examples/catalog/profiles" \
    diff -r "$repo/examples/catalog/profiles" "$repo/manifests/base/catalog"

# 1b. The default profile, which /mutate gives every pod without one: what libseccomp's tables and
#     test/manifests/default-profile.py make of it, lint-clean, and a profile that ordinary
#     programs run under while it keeps out what the runtimes' default profile keeps out.
default_profile="$repo/manifests/base/catalog/default.json"
check "default.json is what test/manifests/default-profile.py generates" \
    python3 "$here/default-profile.py" check "$repo/examples/catalog/profiles/default.json"
check "seccomp-gate profile lint --strict default.json: no errors, no warnings" \
    "$binary" profile lint --strict "$default_profile"
check "seccomp-gate profile lint manifests/base/catalog: no errors" \
    "$binary" profile lint "$repo/manifests/base/catalog"
# profile try: no_new_privs and the filter in the command's process, as a runtime applies them.
try_under() { # PROFILE ARGS...: ordinary-workload.py ARGS under PROFILE
    local profile=$1
    shift
    "$binary" profile try --profile "$profile" -- python3 "$here/ordinary-workload.py" "$@"
}
check "under default.json: shmget, setresuid, memfd_create, sched_setaffinity, timerfd, signalfd4, msync, mlock, fallocate, copy_file_range, io_setup, personality, setrlimit, threads" \
    try_under "$default_profile"
check "under default.json: clone/unshare with namespace flags, mount, keyctl, bpf, io_uring, perf_event_open are refused (EPERM); clone3 gets ENOSYS" \
    try_under "$default_profile" forbidden
check_fails "... while under a narrow allow-list (examples' web.json) the ordinary steps fail" \
    "FAILED memfd_create: [Errno 1] Operation not permitted
  memfd_create: SCMP_ACT_ERRNO(EPERM)" \
    try_under "$repo/examples/catalog/profiles/web.json"
check_fails "... and under an allow-all profile (examples' audit.json) the forbidden calls go through" \
    "ALLOWED clone
ALLOWED unshare" \
    try_under "$repo/examples/catalog/profiles/audit.json" forbidden
refused_by_default() { # SYSCALL COMMAND...: COMMAND fails under default.json, which refused SYSCALL
    local syscall=$1
    shift
    if "$binary" profile try --profile "$default_profile" -- "$@" 2>"$work/try"; then
        echo "$* succeeded"
        return 1
    fi
    grep -q "^  $syscall: SCMP_ACT_ERRNO(EPERM)" "$work/try" || { cat "$work/try"; return 1; }
}
check "... and \`unshare -U true\` fails under default.json: unshare refused" \
    refused_by_default unshare unshare -U true
check "... and \`setarch -R true\` (no address space randomisation): personality refused" \
    refused_by_default personality setarch "$(uname -m)" -R true

# 2. The mode components carry the base policy with another `mode:` and nothing else changed.
for component in "$repo"/manifests/components/*-mode; do
    mode=$(basename "$component" -mode)
    check "components/$(basename "$component")/policy.yaml is the base policy with mode: $mode" \
        diff <(sed "s/^mode: enforce\$/mode: $mode/" "$repo/manifests/base/policy/policy.yaml") \
        "$component/policy.yaml"
done

# 3. Every overlay builds. Expectations per overlay: policy mode, validation failurePolicy, TLS.
declare -A expect=(
    [base]="enforce Fail none"
    [enforce]="enforce Fail none"
    [warn]="warn Ignore none"
    [audit]="audit Ignore none"
    [cert-manager]="enforce Fail cert-manager"
)
mkdir -p "$work/build"
for overlay in "$repo"/manifests/overlays/*/; do
    name=$(basename "$overlay")
    [ -n "${expect[$name]:-}" ] || fail "manifests/overlays/$name: no expectations in check.sh"
done
built=()
for name in base enforce warn audit cert-manager; do
    dir="$repo/manifests/overlays/$name"
    [ "$name" = base ] && dir="$repo/manifests/base"
    if kubectl kustomize "$dir" >"$work/build/$name.yaml" 2>"$work/output"; then
        pass "kubectl kustomize manifests/${dir#"$repo/manifests/"} ($(grep -c '^kind:' "$work/build/$name.yaml") objects)"
        built+=("$name")
    else
        fail "kubectl kustomize manifests/${dir#"$repo/manifests/"}"
        sed 's/^/    /' "$work/output"
    fi
done

# An install that composes an overlay with a component, as docs/deploy.md's production example.
mkdir -p "$work/audit-cert-manager"
cat >"$work/audit-cert-manager/kustomization.yaml" <<EOF
resources:
  - $(realpath --relative-to="$work/audit-cert-manager" "$repo/manifests/overlays/audit")
components:
  - $(realpath --relative-to="$work/audit-cert-manager" "$repo/manifests/components/cert-manager")
EOF
expect[audit-cert-manager]="audit Ignore cert-manager"
if kubectl kustomize "$work/audit-cert-manager" >"$work/build/audit-cert-manager.yaml" 2>"$work/output"; then
    pass "kubectl kustomize overlays/audit + components/cert-manager ($(grep -c '^kind:' "$work/build/audit-cert-manager.yaml") objects)"
    built+=("audit-cert-manager")
else
    fail "kubectl kustomize overlays/audit + components/cert-manager"
    sed 's/^/    /' "$work/output"
fi

# 4. The certificate script: extensions, names, verification; its component and overlays.
certs="$work/certs"
check "certs/generate.sh (ECDSA)" "$repo/certs/generate.sh" --out "$certs"
fqdn=seccomp-gate.seccomp-gate.svc
for host in seccomp-gate seccomp-gate.seccomp-gate $fqdn $fqdn.cluster.local; do
    check "openssl verify -verify_hostname $host" \
        openssl verify -CAfile "$certs/ca.crt" -verify_hostname "$host" "$certs/tls.crt"
done
check_fails "the certificate is not valid for another name" "hostname mismatch" \
    openssl verify -CAfile "$certs/ca.crt" -verify_hostname seccomp-gate.other.svc "$certs/tls.crt"
extensions_are() { # CERT EXPECTED...: every EXPECTED line is in the certificate's extensions
    local text
    text=$(openssl x509 -in "$1" -noout -ext basicConstraints,keyUsage,extendedKeyUsage,subjectAltName)
    shift
    for line in "$@"; do
        grep -qxF -- "$line" <<<"$(sed 's/^ *//; s/ *$//' <<<"$text")" ||
            { echo "missing \"$line\" in:"; echo "$text"; return 1; }
    done
}
check "CA: basicConstraints critical CA:TRUE, keyUsage keyCertSign" extensions_are "$certs/ca.crt" \
    "X509v3 Basic Constraints: critical" "CA:TRUE, pathlen:0" "Certificate Sign, CRL Sign"
check "server: CA:FALSE, digitalSignature only, serverAuth, the four DNS names" \
    extensions_are "$certs/tls.crt" "X509v3 Basic Constraints: critical" "CA:FALSE" \
    "X509v3 Key Usage: critical" "Digital Signature" "TLS Web Server Authentication" \
    "DNS:seccomp-gate, DNS:seccomp-gate.seccomp-gate, DNS:$fqdn, DNS:$fqdn.cluster.local"
check "server key is ECDSA P-256" \
    bash -c "openssl pkey -in '$certs/tls.key' -noout -text | grep -q 'ASN1 OID: prime256v1'"
check "keys are readable by their owner only" \
    bash -c "[ \"\$(stat -c %a '$certs/tls.key' '$certs/ca.key' '$certs/component/secret.yaml' | sort -u)\" = 600 ]"
cp "$certs/ca.crt" "$work/ca.first.crt"
"$repo/certs/generate.sh" --out "$certs" --days 30 >/dev/null
check "a second run renews the serving certificate and keeps the CA" \
    bash -c "cmp -s '$certs/ca.crt' '$work/ca.first.crt' && cmp -s '$certs/ca.crt' '$certs/ca-bundle.crt' && openssl verify -CAfile '$certs/ca.crt' '$certs/tls.crt'"
rsa="$work/certs-rsa"
"$repo/certs/generate.sh" --out "$rsa" --rsa --namespace other >/dev/null
check "certs/generate.sh --rsa --namespace other: RSA 3072, keyEncipherment, other's names" \
    bash -c "openssl pkey -in '$rsa/tls.key' -noout -text | grep -q 'Private-Key: (3072 bit' &&
             openssl verify -CAfile '$rsa/ca.crt' -verify_hostname seccomp-gate.other.svc '$rsa/tls.crt' &&
             openssl x509 -in '$rsa/tls.crt' -noout -ext keyUsage | grep -q 'Digital Signature, Key Encipherment'"
rotated="$work/certs-rotated"
cp -r "$certs" "$rotated"
"$repo/certs/generate.sh" --out "$rotated" --new-ca >/dev/null
check "--new-ca: the bundle trusts the new and the previous CA, the new one signs" \
    bash -c "[ \$(grep -c 'BEGIN CERTIFICATE' '$rotated/ca-bundle.crt') = 2 ] &&
             ! cmp -s '$rotated/ca.crt' '$certs/ca.crt' &&
             openssl verify -CAfile '$rotated/ca.crt' '$rotated/tls.crt' &&
             ! openssl verify -CAfile '$certs/ca.crt' '$rotated/tls.crt'"
"$repo/certs/generate.sh" --out "$rotated" --drop-previous-ca >/dev/null
check "--drop-previous-ca: the bundle is the current CA only" \
    cmp "$rotated/ca.crt" "$rotated/ca-bundle.crt"
check_fails "certs/generate.sh rejects a bad --days" \
    'certs/generate.sh: --days must be a positive number of days, got "0"' \
    "$repo/certs/generate.sh" --out "$work/x" --days 0
check_fails "certs/generate.sh rejects an unknown flag" \
    'certs/generate.sh: unknown argument "--bogus"' \
    "$repo/certs/generate.sh" --out "$work/x" --bogus
for mode in enforce warn audit; do
    if kubectl kustomize "$certs/$mode" >"$work/build/certs-$mode.yaml" 2>"$work/output"; then
        pass "kubectl kustomize certs/out/$mode ($(grep -c '^kind:' "$work/build/certs-$mode.yaml") objects)"
        built+=("certs-$mode")
    else
        fail "kubectl kustomize certs/out/$mode"
        sed 's/^/    /' "$work/output"
    fi
done
expect[certs-enforce]="enforce Fail secret"
expect[certs-warn]="warn Ignore secret"
expect[certs-audit]="audit Ignore secret"
if kubectl kustomize "$rsa/audit" >"$work/build/certs-other-audit.yaml" 2>"$work/output"; then
    check "certs/out/audit of --namespace other: every invariant holds in namespace other" \
        invariants --namespace other --mode audit --failure-policy Ignore --tls secret \
        "$work/build/certs-other-audit.yaml"
    check "... and validates" validate "$work/build/certs-other-audit.yaml"
else
    fail "kubectl kustomize certs/out/audit (--namespace other)"
    sed 's/^/    /' "$work/output"
fi

# 5. Every object of every build against the Kubernetes OpenAPI schemas, unknown fields included.
files=()
for name in "${built[@]}"; do files+=("$work/build/$name.yaml"); done
check "OpenAPI schemas and unknown fields (${#files[@]} builds)" validate "${files[@]}"
cat >"$work/broken.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken, namespace: seccomp-gate}
spec:
  replicas: "3"
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}}
    spec:
      containers:
        - name: c
          image: busybox
          securityContext: {seccompProfil: {type: RuntimeDefault}}
EOF
check_fails "the schema check rejects a wrong type and a misspelt field, naming both" \
    "spec/replicas must be integer
securityContext.seccompProfil: unknown field" \
    validate "$work/broken.yaml"

# 6. The deployment's invariants, per build.
for name in "${built[@]}"; do
    read -r mode failure_policy tls <<<"${expect[$name]}"
    check "invariants of $name (mode $mode, failurePolicy $failure_policy, tls $tls)" \
        invariants --mode "$mode" --failure-policy "$failure_policy" --tls "$tls" \
        "$work/build/$name.yaml"
done
sed -e 's/failurePolicy: Fail/failurePolicy: Ignore/' \
    -e 's/terminationGracePeriodSeconds: 35/terminationGracePeriodSeconds: 20/' \
    "$work/build/enforce.yaml" >"$work/broken-enforce.yaml"
check_fails "the invariants catch a fail-open enforce build and a short grace period" \
    "failurePolicy Ignore, expected Fail
terminationGracePeriodSeconds (20) must" \
    invariants --mode enforce --failure-policy Fail --tls none "$work/broken-enforce.yaml"
# More negative controls: an overlay built with one breaking change (kustomization lines on stdin)
# must break the invariant that is about it.
patched() { # NAME OVERLAY < KUSTOMIZATION_LINES: builds OVERLAY + the lines into $work/broken/NAME
    local dir="$work/broken/$1"
    mkdir -p "$dir"
    { echo "resources:"; echo "  - $(realpath --relative-to="$dir" "$2")"; cat; } \
        >"$dir/kustomization.yaml"
    kubectl kustomize "$dir" >"$dir/build.yaml"
}
catches() { # NAME OVERLAY MESSAGE INVARIANT_ARGS... < KUSTOMIZATION_LINES
    local name=$1 overlay=$2 message=$3 dir="$work/broken/$1"
    shift 3
    patched "$name" "$overlay" || return 1
    if invariants "$@" "$dir/build.yaml" >"$dir/output"; then
        echo "$name: no broken invariant found"
        return 1
    fi
    grep -qF -- "$message" "$dir/output" || { cat "$dir/output"; return 1; }
}
check "the invariants catch pod UPDATEs under failurePolicy Fail (label edits refused in an outage)" \
    catches pod-update-fail "$repo/manifests/overlays/enforce" \
    "pods UPDATE must go to validate-pod-updates.seccomp-gate.io" \
    --mode enforce --failure-policy Fail --tls none <<'EOF'
patches:
  - target: {kind: ValidatingWebhookConfiguration}
    patch: |-
      - {op: replace, path: /webhooks/0/rules/0/operations, value: [CREATE, UPDATE]}
EOF
check "the invariants catch a pod-update webhook that fails closed" \
    catches pod-update-webhook-fail "$repo/manifests/overlays/enforce" \
    "validate-pod-updates.seccomp-gate.io: failurePolicy Fail, expected Ignore" \
    --mode enforce --failure-policy Fail --tls none <<'EOF'
patches:
  - target: {kind: ValidatingWebhookConfiguration}
    patch: |-
      - {op: replace, path: /webhooks/1/failurePolicy, value: Fail}
EOF
for mode in audit warn; do
    mkdir -p "$work/broken/$mode-mutating"
    cp "$repo/manifests/base/mutatingwebhookconfiguration.yaml" "$work/broken/$mode-mutating/"
    check "the invariants catch the $mode build when it still mutates pods (not a dry run)" \
        catches "$mode-mutating" "$repo/manifests/overlays/$mode" \
        "MutatingWebhookConfiguration: none in $mode mode" \
        --mode "$mode" --failure-policy Ignore --tls none <<'EOF'
  - mutatingwebhookconfiguration.yaml
EOF
done
check "the invariants catch a cert-manager build that judges the cert-manager namespace" \
    catches cert-manager-judged "$repo/manifests/overlays/cert-manager" \
    "validate-pod-updates.seccomp-gate.io: namespaceSelector must leave out kube-system, seccomp-gate, cert-manager" \
    --mode enforce --failure-policy Fail --tls cert-manager <<'EOF'
patches:
  - target: {kind: ValidatingWebhookConfiguration}
    patch: |-
      - {op: remove, path: /webhooks/1/namespaceSelector/matchExpressions/0/values/2}
EOF
# The liveness probe of the profile sync (docs/sync-profiles.md): it must check the file that the
# --watch loop rewrites, and the DaemonSet must have one.
check "the invariants catch a liveness probe that checks another file than --health-file" \
    catches liveness-other-file "$repo/manifests/overlays/enforce" \
    "livenessProbe must exec <absolute path>/seccomp-gate sync-profiles --check-health on --health-file" \
    --mode enforce --failure-policy Fail --tls none <<'EOF'
patches:
  - target: {kind: DaemonSet, name: seccomp-gate-profiles}
    patch: |-
      - {op: replace, path: /spec/template/spec/containers/0/livenessProbe/exec/command/3, value: /tmp/health}
EOF
check "the invariants catch a profile sync without a liveness probe" \
    catches liveness-missing "$repo/manifests/overlays/enforce" \
    "livenessProbe must exec" \
    --mode enforce --failure-policy Fail --tls none <<'EOF'
patches:
  - target: {kind: DaemonSet, name: seccomp-gate-profiles}
    patch: |-
      - {op: remove, path: /spec/template/spec/containers/0/livenessProbe}
EOF
check "the invariants catch a CA that gets a new key when renewed" \
    catches ca-new-key "$repo/manifests/overlays/cert-manager" "rotationPolicy Never" \
    --mode enforce --failure-policy Fail --tls cert-manager <<'EOF'
patches:
  - target: {kind: Certificate, name: seccomp-gate-ca}
    patch: |-
      - {op: replace, path: /spec/privateKey/rotationPolicy, value: Always}
EOF

# 7. The shipped policy and catalog, laid out as the kubelet mounts the ConfigMaps (files are
#    symlinks into ..data), load, and seccomp-gate's own manifests obey them.
for name in "${built[@]}"; do
    mounted="$work/mounts/$name"
    node "$here/objects.mjs" mount "$work/build/$name.yaml" "$mounted"
    check "seccomp-gate audit of the $name build under its own policy: no findings" \
        "$binary" audit --policy "$mounted/policy/policy.yaml" "$work/build/$name.yaml"
done
check "seccomp-gate audit under manifests/base/policy/policy.yaml (the repository layout)" \
    "$binary" audit --policy "$repo/manifests/base/policy/policy.yaml" "$work/build/enforce.yaml"
cat >"$work/unconfined.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: unconfined, namespace: shop}
spec:
  selector: {matchLabels: {app: unconfined}}
  template:
    metadata: {labels: {app: unconfined}}
    spec:
      securityContext: {seccompProfile: {type: Unconfined}}
      containers: [{name: c, image: busybox}]
EOF
check_fails "... and the same audit flags an Unconfined Deployment" \
    'Deployment/shop/unconfined: spec.template.spec.securityContext.seccompProfile.type: pod must not set seccompProfile.type to "Unconfined"' \
    "$binary" audit --policy "$work/mounts/enforce/policy/policy.yaml" "$work/unconfined.yaml"

# 8. The server as the Deployment runs it: its arguments, the mounted ConfigMaps and the Secret
#    of certs/out/enforce; a client that verifies like the API server (caBundle, service name).
if [[ " ${built[*]} " == *" certs-enforce "* ]]; then
    mounted="$work/mounts/certs-enforce"
    mkdir -p "$mounted/tls"
    cp "$certs/tls.crt" "$certs/tls.key" "$certs/ca.crt" "$mounted/tls/"
    node "$here/objects.mjs" args "$work/build/certs-enforce.yaml" >"$work/args"
    mapfile -t args < <(sed -e "s|=/etc/seccomp-gate/|=$mounted/|" \
        -e 's|^--listen=.*|--listen=127.0.0.1:0|' "$work/args")
    "$binary" "${args[@]}" 2>"$work/server.log" &
    server_pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/.*"msg":"listening","address":"127.0.0.1:\([0-9]*\)".*/\1/p' "$work/server.log")
        [ -n "$port" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        fail "seccomp-gate serve with the Deployment's arguments did not start"
        sed 's/^/    /' "$work/server.log"
    else
        pass "seccomp-gate serve starts with the Deployment's arguments and mounts"
        node "$here/objects.mjs" ca-bundle "$work/build/certs-enforce.yaml" >"$work/ca-bundle.crt"
        https() { # PATH [curl args]: as the API server calls the Service, trusting the caBundle
            local path=$1
            shift
            curl -sS --fail-with-body --max-time 10 --cacert "$work/ca-bundle.crt" \
                --resolve "$fqdn:$port:127.0.0.1" "https://$fqdn:$port$path" "$@"
        }
        check "GET /readyz over TLS verified with the webhook's caBundle and service name" \
            https /readyz
        review() { # ENDPOINT POD_SECURITY_CONTEXT
            https "/$1?timeout=5s" -H 'Content-Type: application/json' --data-binary @- <<EOF
{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"7b1c","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"shop","operation":"CREATE","userInfo":{"username":"alice"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"shop"},"spec":{$2"containers":[{"name":"c","image":"busybox"}]}}}}
EOF
        }
        response=$(review validate '"securityContext":{"seccompProfile":{"type":"Unconfined"}},')
        check "POST /validate denies an Unconfined pod under the shipped policy" \
            grep -q '"allowed":false.*must not set seccompProfile.type to \\"Unconfined\\"' <<<"$response"
        response=$(review validate \
            '"securityContext":{"seccompProfile":{"type":"Localhost","localhostProfile":"seccomp-gate/web.json"}},')
        check "POST /validate admits a pod with the catalog profile seccomp-gate/web.json" \
            grep -q '"allowed":true' <<<"$response"
        patch=$(review mutate "" | node "$here/objects.mjs" patch)
        check "POST /mutate gives a pod without a profile seccomp-gate/default.json" \
            grep -q '"localhostProfile":"seccomp-gate/default.json"' <<<"$patch"
    fi
    kill -INT "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
fi

# The profile DaemonSet's command, once (without --watch and the health file that only the watch
# loop writes), as its pod runs it: every capability
# dropped, on the same ConfigMap-style catalog mount, into a directory that the user owns with
# mode 0755 (as the kubelet creates the hostPath for uid 0). It installs every catalog profile,
# byte for byte: ownership is all it needs.
node "$here/objects.mjs" sync-args "$work/build/enforce.yaml" >"$work/sync-args"
sync_into() { # HOST_DIR: runs the DaemonSet's command without capabilities, --to HOST_DIR
    local -a sync_args
    mapfile -t sync_args < <(grep -vx -e '--watch' -e '--health-file=.*' "$work/sync-args" |
        sed -e "s|=/etc/seccomp-gate/catalog\$|=$work/mounts/enforce/catalog|" \
            -e "s|=/host/seccomp/seccomp-gate\$|=$1|")
    setpriv --bounding-set=-all --inh-caps=-all --ambient-caps=-all --no-new-privs -- \
        "$binary" "${sync_args[@]}"
}
host="$work/host/seccomp/seccomp-gate"
mkdir -p "$host" && chmod 0755 "$host"
check "the DaemonSet's sync-profiles command, without capabilities, installs the catalog" \
    bash -c "$(declare -f sync_into); work='$work' binary='$binary' sync_into '$host' &&
             diff -r -x .seccomp-gate-sync.json '$repo/manifests/base/catalog' '$host'"
if [ "$(id -u)" = 0 ]; then
    foreign="$work/host/foreign"
    mkdir -p "$foreign" && chmod 0755 "$foreign" && chown 12345:12345 "$foreign"
    check_fails "... and cannot write into a directory it does not own" \
        "$foreign: destination directory is not writable: Permission denied" \
        bash -c "$(declare -f sync_into); work='$work' binary='$binary' sync_into '$foreign'"
else
    skip "... and cannot write into a directory it does not own (needs root to chown the directory)"
fi

# 9. The kustomizations of docs/deploy.md, built as documented (their resources line pointed at
#    this checkout) and compared with the build of the overlay they start from. The strategic
#    merge reorders the volumes, so builds are compared line by line, sorted.
[ -f "$repo/docs/deploy.md" ] || fail "docs/deploy.md is missing"
docs_kustomization() { # NAME: the block after "<!-- checked by test/manifests/check.sh: NAME -->"
    local dir="$work/docs/$1"
    mkdir -p "$dir"
    sed -n "/<!-- checked by test\/manifests\/check.sh: $1 -->/,/^\`\`\`\$/p" "$repo/docs/deploy.md" 2>/dev/null |
        sed -e '1,2d' -e '$d' \
            -e "s|^  - .*manifests/overlays/\([a-z-]*\)\$|  - $(realpath --relative-to="$dir" "$repo/manifests/overlays")/\\1|" \
        >"$dir/kustomization.yaml"
    [ -s "$dir/kustomization.yaml" ] || { echo "docs/deploy.md has no block \"$1\""; return 1; }
    kubectl kustomize "$dir" >"$work/docs/$1.yaml"
}
changed_lines() { # BUILD_NAME DOCS_NAME: lines that differ between the two builds, sorted
    diff <(sort "$work/build/$1.yaml") <(sort "$work/docs/$2.yaml") | grep '^[<>]' || true
}
docs_kubelet_root() {
    docs_kustomization kubelet-root &&
        grep -q 'path: /var/lib/k0s/kubelet/seccomp/seccomp-gate$' "$work/docs/kubelet-root.yaml" &&
        [ "$(changed_lines enforce kubelet-root | wc -l)" = 2 ]
}
check "docs/deploy.md's kubelet-root kustomization moves the DaemonSet's hostPath, nothing else" \
    docs_kubelet_root
docs_selinux() {
    docs_kustomization selinux &&
        [ "$(changed_lines enforce selinux | sed 's/^> *//' | sort | tr '\n' ' ')" = \
            "seLinuxOptions: type: spc_t " ] &&
        validate "$work/docs/selinux.yaml"
}
check "docs/deploy.md's selinux kustomization gives the DaemonSet's container spc_t, nothing else" \
    docs_selinux
docs_more_namespaces() {
    docs_kustomization more-namespaces &&
        [ "$(changed_lines cert-manager more-namespaces)" = \
            "$(printf '> %s\n' '      - calico-system' '      - calico-system' '      - calico-system')" ] &&
        invariants --mode enforce --failure-policy Fail --tls cert-manager \
            "$work/docs/more-namespaces.yaml"
}
check "docs/deploy.md's more-namespaces kustomization leaves calico-system out of all three webhooks" \
    docs_more_namespaces

# 10. The image: the Dockerfile parses, runs as uid 65532, and installs every shared library the
#     binary links (by Debian package, as `ldd` and `dpkg -S` see them on this machine).
check "dockerfile-utils lint Dockerfile" "$here/node_modules/.bin/dockerfile-utils" lint "$repo/Dockerfile"
check "the image runs as the numeric user 65532" grep -qx 'USER 65532:65532' "$repo/Dockerfile"
runtime_packages() {
    ldd "$binary" | awk '/=> \// { print $3 }' | while read -r library; do
        dpkg -S "$(readlink -f "$library")" 2>/dev/null || dpkg -S "$library"
    done | cut -d: -f1 | sort -u
}
check_runtime() {
    local stage
    stage=$(sed -n '/^FROM .*-slim/,$p' "$repo/Dockerfile")
    for package in $(runtime_packages); do
        case "$package" in
            libc6 | libasan* | libubsan* | liblsan*) continue ;; # in every image; sanitizer builds
        esac
        grep -qw -- "$package" <<<"$stage" || { echo "$package is not installed by the runtime stage"; return 1; }
    done
}
check "the runtime stage installs the packages of every library the binary links" check_runtime

# 11. Shell scripts.
if command -v shellcheck >/dev/null; then
    check "shellcheck certs/generate.sh test/manifests/check.sh test/e2e/kind/run.sh" \
        shellcheck -x "$repo/certs/generate.sh" "$here/check.sh" "$repo/test/e2e/kind/run.sh"
else
    fail "shellcheck is not installed (apt-get install shellcheck)"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
