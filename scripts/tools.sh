#!/usr/bin/env bash
# npm run tools: build the real Kubernetes pieces the e2e suite runs against, from their Go
# modules, once per version set. The binaries live outside the checkout, so every clone on the
# machine shares them. The last line printed is the directory that holds them.
#   --print   build nothing: print that directory if every tool is built, else exit 3
set -euo pipefail
print_only=false
[ "${1:-}" = "--print" ] && print_only=true
root="$(cd "$(dirname "$0")/.." && pwd)"
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

# go.mod must build the versions named in versions.env.
grep -q "k8s.io/kubernetes $KUBERNETES_VERSION\$" "$module/go.mod" \
  || fail "e2e/tools/go.mod does not require k8s.io/kubernetes $KUBERNETES_VERSION (versions.env)"
grep -q "go.etcd.io/etcd/server/v3 $ETCD_VERSION\$" "$module/go.mod" \
  || fail "e2e/tools/go.mod does not require go.etcd.io/etcd/server/v3 $ETCD_VERSION (versions.env)"
grep -q "knative.dev/serving $KNATIVE_SERVING_VERSION\$" "$module/knative/go.mod" \
  || fail "e2e/tools/knative/go.mod does not require knative.dev/serving $KNATIVE_SERVING_VERSION (versions.env)"

# Keyed by what goes into the binaries: versions, module files, our mains, the build lines of this
# script and the Go version (not the rest of the script, so editing it rebuilds nothing).
key="$(cat "$module/versions.env" "$module"/go.{mod,sum} "$module"/cmd/*/*.go "$module"/knative/*.go "$module"/knative/go.{mod,sum} \
  <(grep -E '^build |ldflags|version_flags' "$0") | { cat; echo "$go_version"; } | sha256sum | cut -c1-12)"
cache="${PANDO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pando-webhook/tools}"
bin="$cache/$KUBERNETES_VERSION-$key"
# Every tool the build lines below make (e2e/harness/tools.ts checks the same names).
tools=(etcd kube-apiserver kube-controller-manager kubectl knative-serving helm helm3 task)
if $print_only; then
  for name in "${tools[@]}"; do
    [ -f "$bin/.$name.done" ] || exit 3
  done
  echo "$bin"
  exit 0
fi
mkdir -p "$bin"

k8s_minor="${KUBERNETES_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
version_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  version_flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

# build NAME COMMAND...: runs once per key; a failed or interrupted build is redone next time.
build() {
  local name="$1"; shift
  if [ -x "$bin/$name" ] && [ -f "$bin/.$name.done" ]; then
    say "$name: cached"
    return
  fi
  say "$name: building ..."
  local start=$SECONDS
  "$@"
  touch "$bin/.$name.done"
  say "$name: built in $((SECONDS - start)) s"
}

go_install() { # go_install NAME MODULE_PATH@VERSION [LDFLAGS]
  local tmp; tmp="$(mktemp -d)"
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w ${3:-}" "$2"
  mv "$tmp/$(basename "${2%@*}")" "$bin/$1"
  rm -rf "$tmp"
}

cd "$module"
build etcd go build -trimpath -ldflags "-s -w" -o "$bin/etcd" ./cmd/etcd
build kube-apiserver go build -trimpath -ldflags "-s -w $version_flags" -o "$bin/kube-apiserver" ./cmd/kube-apiserver
build kube-controller-manager go build -trimpath -ldflags "-s -w $version_flags" -o "$bin/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
build kubectl go build -trimpath -ldflags "-s -w $version_flags" -o "$bin/kubectl" k8s.io/kubernetes/cmd/kubectl
build knative-serving sh -c "cd knative && go build -trimpath -ldflags '-s -w' -o '$bin/knative-serving' ."
# Helm's own version string otherwise says only v4.3 / v3.22.
build helm go_install helm "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
build helm3 go_install helm3 "helm.sh/helm/v3/cmd/helm@$HELM3_VERSION" "-X helm.sh/helm/v3/internal/version.version=$HELM3_VERSION"
build task go_install task "github.com/go-task/task/v3/cmd/task@$TASK_VERSION"

say "$(du -sh "$bin" | cut -f1) in $bin"
echo "$bin"
