// kube-apiserver for the local control plane: the upstream command, plus a service resolver that
// sends the webhook's Service to a process on loopback. Nothing routes a ClusterIP on this machine,
// and the installed objects stay exactly as a user gets them: the API server still calls the
// webhook through its service reference and checks TLS against <service>.<namespace>.svc.
//
// PANDO_SERVICE_ROUTES lists "namespace/name=host:port" pairs, comma-separated.
package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

type loopbackResolver map[string]string

func (routes loopbackResolver) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	hostPort, ok := routes[namespace+"/"+name]
	if !ok {
		return nil, fmt.Errorf("service %s/%s has no route on this local control plane", namespace, name)
	}
	return &url.URL{Scheme: "https", Host: hostPort}, nil
}

func parseRoutes(spec string) (loopbackResolver, error) {
	routes := loopbackResolver{}
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		service, hostPort, ok := strings.Cut(entry, "=")
		if !ok || !strings.Contains(service, "/") {
			return nil, fmt.Errorf("PANDO_SERVICE_ROUTES: %q is not namespace/name=host:port", entry)
		}
		host, _, err := net.SplitHostPort(hostPort)
		if err != nil {
			return nil, fmt.Errorf("PANDO_SERVICE_ROUTES: %q: %v", entry, err)
		}
		if ip := net.ParseIP(host); (ip == nil && host != "localhost") || (ip != nil && !ip.IsLoopback()) {
			return nil, fmt.Errorf("PANDO_SERVICE_ROUTES: %q: only loopback addresses are routed", entry)
		}
		routes[service] = hostPort
	}
	return routes, nil
}

func main() {
	routes, err := parseRoutes(os.Getenv("PANDO_SERVICE_ROUTES"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if len(routes) > 0 {
		app.SetServiceResolverForTests(routes)
	}
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
