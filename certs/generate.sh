#!/usr/bin/env bash
# Creates a CA and a serving certificate for the seccomp-gate webhook Service with OpenSSL, and
# writes them as a kustomize component (the TLS Secret and the caBundle of both webhook
# configurations) plus ready-to-apply overlays that add it to manifests/overlays/*.
# certs/README.md has the layout and the rotation procedure.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: certs/generate.sh [options]

Writes into OUT (default: certs/out next to this script):
  ca.crt ca.key             the CA (kept and reused by later runs: the caBundle stays the same)
  ca.previous.crt           the CA replaced by --new-ca, still trusted until --drop-previous-ca
  ca-bundle.crt             what the API server trusts: ca.crt (+ ca.previous.crt)
  tls.crt tls.key           the serving certificate, signed by ca.crt, and its key
  component/                kustomize component: Secret seccomp-gate-tls + caBundle patches
  enforce/ warn/ audit/     overlays: manifests/overlays/<name> + component/
                            (kubectl apply -k OUT/enforce)

options:
  --service NAME            Service name in the certificate (default seccomp-gate)
  --namespace NS            its namespace (default seccomp-gate)
  --cluster-domain DOMAIN   cluster DNS domain (default cluster.local)
  --out DIR                 output directory (default certs/out)
  --days N                  validity of the serving certificate in days (default 365)
  --ca-days N               validity of a new CA in days (default 3650)
  --rsa                     RSA 3072 keys instead of ECDSA P-256
  --new-ca                  make a new CA even if OUT has one; the old one stays in the caBundle
  --drop-previous-ca        remove the CA replaced by --new-ca from the caBundle
  -h, --help                this text
EOF
}

die() {
    echo "certs/generate.sh: $*" >&2
    exit 2
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "$script_dir")
service=seccomp-gate
namespace=seccomp-gate
cluster_domain=cluster.local
out="$script_dir/out"
days=365
ca_days=3650
key_type=ec
new_ca=false
drop_previous_ca=false

need_value() {
    if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi
}
is_count() {
    [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive number of days, got \"$2\""
}

while [ $# -gt 0 ]; do
    case "$1" in
        --service) need_value "$@"; service=$2; shift 2 ;;
        --namespace) need_value "$@"; namespace=$2; shift 2 ;;
        --cluster-domain) need_value "$@"; cluster_domain=$2; shift 2 ;;
        --out) need_value "$@"; out=$2; shift 2 ;;
        --days) need_value "$@"; is_count "$@"; days=$2; shift 2 ;;
        --ca-days) need_value "$@"; is_count "$@"; ca_days=$2; shift 2 ;;
        --rsa) key_type=rsa; shift ;;
        --new-ca) new_ca=true; shift ;;
        --drop-previous-ca) drop_previous_ca=true; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument \"$1\"" ;;
    esac
done

# DNS labels: the names end up in certificate SANs and Kubernetes object names.
label='[a-z0-9]([-a-z0-9]*[a-z0-9])?'
[[ "$service" =~ ^${label}$ ]] || die "--service \"$service\" is not a DNS label"
[[ "$namespace" =~ ^${label}$ ]] || die "--namespace \"$namespace\" is not a DNS label"
[[ "$cluster_domain" =~ ^${label}(\.${label})*$ ]] ||
    die "--cluster-domain \"$cluster_domain\" is not a DNS name"
command -v openssl >/dev/null || die "openssl is not installed"

mkdir -p "$out"
out=$(cd "$out" && pwd)
# Private keys are created readable by their owner only.
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

new_key() { # FILE
    if [ "$key_type" = rsa ]; then
        quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$1"
    else
        quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
            -pkeyopt ec_param_enc:named_curve -out "$1"
    fi
}

# A self-contained OpenSSL configuration: the system openssl.cnf's defaults play no part.
key_usage=digitalSignature
[ "$key_type" = rsa ] && key_usage="digitalSignature, keyEncipherment"
fqdn="$service.$namespace.svc"
cat >"$work/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, $key_usage
extendedKeyUsage = serverAuth
subjectAltName = DNS:$service, DNS:$service.$namespace, DNS:$fqdn, DNS:$fqdn.$cluster_domain
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

# Random 128-bit serial numbers (RFC 5280 allows up to 20 octets; CAs should not be predictable).
serial() { echo "0x$(openssl rand -hex 16)"; }

# OpenSSL's chatter is shown only when a step fails.
quiet() {
    "$@" 2>"$work/stderr" || {
        cat "$work/stderr" >&2
        die "failed: $*"
    }
}

# The CA: kept across runs so that renewing the serving certificate leaves the caBundle alone.
if [ "$new_ca" = true ] || [ ! -s "$out/ca.crt" ] || [ ! -s "$out/ca.key" ]; then
    if [ "$new_ca" = true ] && [ -s "$out/ca.crt" ]; then
        cp "$out/ca.crt" "$out/ca.previous.crt"
        echo "previous CA kept in the caBundle: $out/ca.previous.crt (drop it with --drop-previous-ca)"
    fi
    new_key "$work/ca.key"
    quiet openssl req -new -x509 -config "$work/openssl.cnf" -extensions ca -key "$work/ca.key" \
        -subj "/CN=seccomp-gate-ca $(date -u +%Y%m%dT%H%M%SZ)" -set_serial "$(serial)" \
        -sha256 -days "$ca_days" -out "$work/ca.crt"
    mv "$work/ca.key" "$out/ca.key"
    mv "$work/ca.crt" "$out/ca.crt"
    echo "new CA: $out/ca.crt"
else
    echo "reusing the CA: $out/ca.crt (--new-ca makes a new one)"
fi
if [ "$drop_previous_ca" = true ]; then
    rm -f "$out/ca.previous.crt"
fi

# The serving certificate.
new_key "$work/tls.key"
quiet openssl req -new -config "$work/openssl.cnf" -key "$work/tls.key" -subj "/CN=$fqdn" \
    -out "$work/tls.csr"
quiet openssl x509 -req -in "$work/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -set_serial "$(serial)" -sha256 -days "$days" \
    -extfile "$work/openssl.cnf" -extensions server -out "$work/tls.crt"
openssl verify -CAfile "$out/ca.crt" -verify_hostname "$fqdn" "$work/tls.crt" >/dev/null ||
    die "the new serving certificate does not verify against $out/ca.crt"
mv "$work/tls.key" "$out/tls.key"
mv "$work/tls.crt" "$out/tls.crt"
cat "$out/ca.crt" >"$work/ca-bundle.crt"
[ -s "$out/ca.previous.crt" ] && cat "$out/ca.previous.crt" >>"$work/ca-bundle.crt"
mv "$work/ca-bundle.crt" "$out/ca-bundle.crt"
chmod 0644 "$out/ca.crt" "$out/tls.crt" "$out/ca-bundle.crt"
echo "serving certificate for $fqdn (valid $days days): $out/tls.crt"

# The component: the Secret the Deployment mounts, and the caBundle the API server trusts.
# Certificates are public; the key is in the Secret only.
umask 022
mkdir -p "$out/component"
b64() { base64 -w0 <"$1"; }
(
    umask 077
    cat >"$out/component/secret.yaml" <<EOF
# Written by certs/generate.sh: the webhook's serving certificate, its key, and its CA.
apiVersion: v1
kind: Secret
metadata:
  name: seccomp-gate-tls
  namespace: $namespace
type: kubernetes.io/tls
data:
  tls.crt: $(b64 "$out/tls.crt")
  tls.key: $(b64 "$out/tls.key")
  ca.crt: $(b64 "$out/ca.crt")
EOF
)
bundle=$(b64 "$out/ca-bundle.crt")
cat >"$out/component/kustomization.yaml" <<EOF
# Written by certs/generate.sh: the TLS Secret, and the caBundle of both webhook configurations.
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component

resources:
  - secret.yaml

# Selected by target: the audit and warn overlays have no MutatingWebhookConfiguration, and a
# patch whose target matches nothing does nothing.
patches:
  - target:
      kind: ValidatingWebhookConfiguration
      name: seccomp-gate
    patch: |-
      apiVersion: admissionregistration.k8s.io/v1
      kind: ValidatingWebhookConfiguration
      metadata:
        name: seccomp-gate
      webhooks:
        - name: validate.seccomp-gate.io
          clientConfig:
            caBundle: $bundle
        - name: validate-pod-updates.seccomp-gate.io
          clientConfig:
            caBundle: $bundle
  - target:
      kind: MutatingWebhookConfiguration
      name: seccomp-gate
    patch: |-
      apiVersion: admissionregistration.k8s.io/v1
      kind: MutatingWebhookConfiguration
      metadata:
        name: seccomp-gate
      webhooks:
        - name: mutate.seccomp-gate.io
          clientConfig:
            caBundle: $bundle
EOF
echo "kustomize component: $out/component"

# Overlays that deploy manifests/overlays/<mode> with this certificate.
if [ "$service" != seccomp-gate ]; then
    echo "no overlays written: manifests/ names its Service seccomp-gate, not $service"
    exit 0
fi
for mode in enforce warn audit; do
    mkdir -p "$out/$mode"
    base=$(realpath --relative-to="$out/$mode" "$repo_dir/manifests/overlays/$mode")
    {
        echo "# Written by certs/generate.sh: manifests/overlays/$mode with the certificate of ../component."
        echo "apiVersion: kustomize.config.k8s.io/v1beta1"
        echo "kind: Kustomization"
        echo
        if [ "$namespace" != seccomp-gate ]; then
            echo "namespace: $namespace"
            echo
        fi
        echo "resources:"
        echo "  - $base"
        echo
        echo "components:"
        echo "  - ../component"
        if [ "$namespace" != seccomp-gate ]; then
            # The webhooks' namespaceSelector must leave out the namespace the webhook runs in.
            echo
            # Every webhook: two validating ones, one mutating (none in audit and warn, where
            # the target matches nothing).
            echo "patches:"
            for kind in ValidatingWebhookConfiguration MutatingWebhookConfiguration; do
                echo "  - target:"
                echo "      kind: $kind"
                echo "      name: seccomp-gate"
                echo "    patch: |-"
                indices="0 1"
                [ "$kind" = MutatingWebhookConfiguration ] && indices=0
                for index in $indices; do
                    echo "      - op: replace"
                    echo "        path: /webhooks/$index/namespaceSelector/matchExpressions/0/values"
                    echo "        value: [kube-system, $namespace]"
                done
            done
        fi
    } >"$out/$mode/kustomization.yaml"
done
echo "overlays: kubectl apply -k $out/enforce (or $out/warn, $out/audit)"
