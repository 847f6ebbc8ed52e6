#!/usr/bin/env bash
# npm run tools: build the real Kubernetes pieces the e2e suite runs against, from their Go
# modules. Each tool is built once per key of its own (its versions, its module files and mains,
# its build line, the Go version), so adding or bumping one tool rebuilds only that tool. The
# binaries live outside the checkout, so every clone on the machine shares them; a directory per
# set of keys links them together. The last line printed is that directory.
#   --print   build nothing: print that directory if every tool is built, else exit 3
set -euo pipefail
print_only=false
[ "${1:-}" = "--print" ] && print_only=true
root="$(cd "$(dirname "$0")/.." && pwd)"
script="$root/scripts/tools.sh"
module="$root/e2e/tools"
# shellcheck source=/dev/null
source "$module/versions.env"

say() { echo "tools: $*" >&2; }
fail() { echo "tools: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || fail "Go is not installed (need go >= $GO_MIN_VERSION on the PATH): https://go.dev/doc/install"
go_version="$(go env GOVERSION | sed 's/^go//')"
if [ "$(printf '%s\n%s\n' "$GO_MIN_VERSION" "$go_version" | sort -V | head -1)" != "$GO_MIN_VERSION" ]; then
  fail "Go $go_version is too old: these tools need go >= $GO_MIN_VERSION"
fi

# Each go.mod must build the versions named in versions.env.
requires() { # requires GO_MOD MODULE VERSION
  grep -q "^[[:space:]]*\(require \)\?$2 $3\( // indirect\)\?\$" "$module/$1" \
    || fail "e2e/tools/$1 does not require $2 $3 (versions.env)"
}
requires go.mod k8s.io/kubernetes "$KUBERNETES_VERSION"
requires go.mod go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
requires containerd/go.mod github.com/containerd/containerd/v2 "$CONTAINERD_VERSION"
requires runc/go.mod github.com/opencontainers/runc "$RUNC_VERSION"
requires cni/go.mod github.com/containernetworking/plugins "$CNI_PLUGINS_VERSION"
requires coredns/go.mod github.com/coredns/coredns "$COREDNS_VERSION"
requires knative-components/go.mod knative.dev/serving "$KNATIVE_SERVING_VERSION"
requires cert-manager/go.mod github.com/cert-manager/cert-manager "$CERT_MANAGER_VERSION"
requires registry/go.mod github.com/distribution/distribution/v3 "$DISTRIBUTION_VERSION"

k8s_minor="${KUBERNETES_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
version_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  version_flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

# The tools: NAME|VERSIONS (from versions.env)|FILES (globs under e2e/tools)|BINARIES (default NAME).
# Each is built by `tool_build_NAME`, whose text (and its helpers') is part of its key.
tools=(
  "etcd|ETCD_VERSION|go.mod go.sum cmd/etcd/*.go"
  "kube-apiserver|KUBERNETES_VERSION|go.mod go.sum"
  "kube-controller-manager|KUBERNETES_VERSION|go.mod go.sum"
  "kubectl|KUBERNETES_VERSION|go.mod go.sum"
  "kubelet|KUBERNETES_VERSION|go.mod go.sum"
  "kube-proxy|KUBERNETES_VERSION|go.mod go.sum"
  "kube-scheduler|KUBERNETES_VERSION|go.mod go.sum"
  "helm|HELM_VERSION|"
  "helm3|HELM3_VERSION|"
  "task|TASK_VERSION|"
  "promtool|PROMETHEUS_VERSION|"
  "containerd|CONTAINERD_VERSION|containerd/go.mod containerd/go.sum|containerd containerd-shim-runc-v2 ctr"
  "runc|RUNC_VERSION|runc/go.mod runc/go.sum"
  "cni|CNI_PLUGINS_VERSION|cni/go.mod cni/go.sum|cni"
  "coredns|COREDNS_VERSION|coredns/*.go coredns/go.mod coredns/go.sum"
  "cert-manager-controller|CERT_MANAGER_VERSION|cert-manager/go.mod cert-manager/go.sum cert-manager/command/*.go cert-manager/controller/*.go"
  "cert-manager-cainjector|CERT_MANAGER_VERSION|cert-manager/go.mod cert-manager/go.sum cert-manager/command/*.go cert-manager/cainjector/*.go"
  "cert-manager-webhook|CERT_MANAGER_VERSION|cert-manager/go.mod cert-manager/go.sum cert-manager/command/*.go cert-manager/webhook/*.go"
  "knative-controller|KNATIVE_SERVING_VERSION|knative-components/go.mod knative-components/go.sum"
  "knative-webhook|KNATIVE_SERVING_VERSION|knative-components/go.mod knative-components/go.sum"
  "knative-autoscaler|KNATIVE_SERVING_VERSION|knative-components/go.mod knative-components/go.sum"
  "knative-activator|KNATIVE_SERVING_VERSION|knative-components/go.mod knative-components/go.sum"
  "knative-queue|KNATIVE_SERVING_VERSION|knative-components/go.mod knative-components/go.sum"
  "standins||../images/go.mod ../images/*/*.go|pause sidecar-standin app-standin"
  "registry|DISTRIBUTION_VERSION|registry/*.go registry/go.mod registry/go.sum"
  "crane|GO_CONTAINERREGISTRY_VERSION|"
  "otlp-spans|KUBERNETES_VERSION|go.mod go.sum cmd/otlp-spans/*.go"
)

go_install() { # go_install NAME MODULE_PATH@VERSION [LDFLAGS]: into $out
  GOBIN="$out" go install -trimpath -ldflags "-s -w ${3:-}" "$2"
  [ "$1" = "$(basename "${2%@*}")" ] || mv "$out/$(basename "${2%@*}")" "$out/$1"
}
k8s_build() { go build -trimpath -ldflags "-s -w $version_flags" -o "$out/$1" "k8s.io/kubernetes/cmd/$1"; }

tool_build_etcd() { go build -trimpath -ldflags "-s -w" -o "$out/etcd" ./cmd/etcd; }
tool_build_kube-apiserver() { k8s_build kube-apiserver; }
tool_build_kube-controller-manager() { k8s_build kube-controller-manager; }
tool_build_kubectl() { k8s_build kubectl; }
tool_build_kubelet() { k8s_build kubelet; }
tool_build_kube-proxy() { k8s_build kube-proxy; }
tool_build_kube-scheduler() { k8s_build kube-scheduler; }
# Helm's own version string otherwise says only v4.3 / v3.22.
tool_build_helm() { go_install helm "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"; }
tool_build_helm3() { go_install helm3 "helm.sh/helm/v3/cmd/helm@$HELM3_VERSION" "-X helm.sh/helm/v3/internal/version.version=$HELM3_VERSION"; }
tool_build_task() { go_install task "github.com/go-task/task/v3/cmd/task@$TASK_VERSION"; }
# promtool --version names the module version (v0.316.0 is Prometheus 3.16.0). Only `check
# metrics` is used: remove_all_sd (Prometheus's own build tag) leaves out every service discovery
# (the AWS, Azure, Google, Kubernetes ... clients), most of the build.
tool_build_promtool() {
  GOBIN="$out" go install -trimpath -tags remove_all_sd \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION"
}
# Static, no cgo (as containerd's own static release builds; the btrfs snapshotter needs cgo).
tool_build_containerd() {
  local cmd
  for cmd in containerd containerd-shim-runc-v2 ctr; do
    (cd containerd && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
      -o "$out/$cmd" "github.com/containerd/containerd/v2/cmd/$cmd")
  done
}
# cgo with libseccomp (Debian's libseccomp-dev), as runc's Makefile builds it.
tool_build_runc() {
  pkg-config --exists libseccomp || fail "runc needs libseccomp-dev and pkg-config (apt-get install libseccomp-dev pkg-config)"
  (cd runc && CGO_ENABLED=1 go build -trimpath -tags seccomp -ldflags "-s -w -X main.version=${RUNC_VERSION#v}" \
    -o "$out/runc" github.com/opencontainers/runc)
}
tool_build_cni() {
  local plugin
  mkdir -p "$out/cni"
  for plugin in ipam/host-local main/bridge main/loopback meta/portmap; do
    (cd cni && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
      -o "$out/cni/$(basename "$plugin")" "github.com/containernetworking/plugins/plugins/$plugin")
  done
}
tool_build_coredns() {
  (cd coredns && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
    -o "$out/coredns" .)
}
# cert-manager's components: our mains (e2e/tools/cert-manager), static so a one-layer image
# holds each (e2e/harness/cert-manager.ts packs them).
cert_manager_build() { # cert_manager_build COMPONENT
  (cd cert-manager && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$CERT_MANAGER_VERSION" \
    -o "$out/cert-manager-$1" "./$1")
}
tool_build_cert-manager-controller() { cert_manager_build controller; }
tool_build_cert-manager-cainjector() { cert_manager_build cainjector; }
tool_build_cert-manager-webhook() { cert_manager_build webhook; }

# Knative Serving's components, its own mains (knative.dev/serving/cmd/...), static for one-layer
# images. v0.42.2: the proxy serves v0.51.0 too, but not the knative.dev/pkg, networking and
# caching versions it requires.
knative_build() { # knative_build COMPONENT
  (cd knative-components && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/knative-$1" "knative.dev/serving/cmd/$1")
}
tool_build_knative-controller() { knative_build controller; }
tool_build_knative-webhook() { knative_build webhook; }
tool_build_knative-autoscaler() { knative_build autoscaler; }
tool_build_knative-activator() { knative_build activator; }
tool_build_knative-queue() { knative_build queue; }

# The local node's stand-in images' programs (e2e/images), static so a one-layer image holds them.
tool_build_standins() {
  local program
  for program in pause sidecar-standin app-standin; do
    (cd ../images && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/$program" "./$program")
  done
}

# The local registry (e2e/harness/registry.ts) and crane, which pushes image archives to it.
tool_build_registry() {
  (cd registry && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/distribution/distribution/v3/version.version=$DISTRIBUTION_VERSION" -o "$out/registry" .)
}
# bench:cluster's receiver of the API server's spans (OTLP/gRPC), from the modules kube-apiserver
# exports them with (bench/spans.ts).
tool_build_otlp-spans() { go build -trimpath -ldflags "-s -w" -o "$out/otlp-spans" ./cmd/otlp-spans; }
tool_build_crane() { CGO_ENABLED=0 go_install crane "github.com/google/go-containerregistry/cmd/crane@$GO_CONTAINERREGISTRY_VERSION"; }

cache="${PANDO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pando-webhook/tools}"
cd "$module"

# A tool's key: its versions, the files it names, its build line and the helpers that line
# calls, the Go version.
key_of() { # key_of NAME VERSION_VARS FILES
  local name="$1" vars="$2" files="$3" body helper var
  body="$(declare -f "tool_build_$name")"
  # shellcheck disable=SC2086
  {
    for var in $vars; do echo "$var=${!var}"; done
    [ -z "$files" ] || cat $files
    echo "$body"
    for helper in go_install k8s_build cert_manager_build knative_build; do
      if grep -q "$helper" <<<"$body"; then declare -f "$helper"; fi
    done
    echo "$go_version"
  } | sha256sum | cut -c1-12
}

declare -A out_of=() binaries_of=()
set_key=""
for entry in "${tools[@]}"; do
  IFS='|' read -r name vars files binaries <<<"$entry"
  key="$(key_of "$name" "$vars" "$files")"
  out_of[$name]="$cache/store/$name-$key"
  binaries_of[$name]="${binaries:-$name}"
  set_key+="$name-$key "
done
bin="$cache/$KUBERNETES_VERSION-$(echo "$set_key" | sha256sum | cut -c1-12)"

if $print_only; then
  for entry in "${tools[@]}"; do
    [ -f "${out_of[${entry%%|*}]}/.done" ] || exit 3
  done
  [ -f "$bin/.done" ] || exit 3
  echo "$bin"
  exit 0
fi

# A failed or interrupted build is redone next time (.done is written last).
build_tool() { # build_tool NAME
  local name="$1" start
  out="${out_of[$name]}"
  if [ -f "$out/.done" ]; then
    say "$name: cached"
  else
    say "$name: building ..."
    start=$SECONDS
    rm -rf "$out" && mkdir -p "$out"
    "tool_build_$name"
    touch "$out/.done"
    say "$name: built in $((SECONDS - start)) s"
  fi
}
# Two lanes at once: the Kubernetes module's tools (they share most packages, so one after the
# other) and all the rest. A cold build on 2 cores leaves a core idle through module downloads,
# links and the long single packages; the second lane fills it. PANDO_TOOLS_LANES=1: one lane.
# A lane that fails lets the other finish, so what it built is kept for the next run.
kubernetes_lane=() other_lane=()
for entry in "${tools[@]}"; do
  IFS='|' read -r name vars _ <<<"$entry"
  case "$vars" in
    KUBERNETES_VERSION | ETCD_VERSION) kubernetes_lane+=("$name") ;;
    *) other_lane+=("$name") ;;
  esac
done
run_lane() { set -e; local name; for name in "$@"; do build_tool "$name"; done; }
if [ "${PANDO_TOOLS_LANES:-2}" = 1 ]; then
  run_lane "${kubernetes_lane[@]}" "${other_lane[@]}"
else
  (run_lane "${kubernetes_lane[@]}") &
  kubernetes_pid=$!
  (run_lane "${other_lane[@]}") &
  other_pid=$!
  failed=""
  wait "$kubernetes_pid" || failed+=" the Kubernetes lane"
  wait "$other_pid" || failed+=" the other lane"
  [ -z "$failed" ] || fail "a build failed in${failed} (its error is above); what was built is kept"
fi

mkdir -p "$bin"
for entry in "${tools[@]}"; do
  name="${entry%%|*}"
  for binary in ${binaries_of[$name]}; do
    ln -sfn "${out_of[$name]}/$binary" "$bin/$binary"
  done
done
touch "$bin/.done"
say "$(du -shL "$bin" | cut -f1) in $bin"
echo "$bin"
