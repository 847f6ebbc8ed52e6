// cert-manager's controller for the local node, our own main over cert-manager's library
// packages (pkg/controller and the controllers that register themselves there). cert-manager's
// cmd/controller module is not on the Go module proxy, and its configuration package imports
// every issuer, Venafi's too, whose client module (github.com/Venafi/vcert/v5) the proxy does not
// serve either: so this main sets cert-manager's documented defaults itself and takes the flags
// its Helm chart passes. It runs the self-signed and CA issuers with every Certificate
// controller; ACME, Vault and Venafi are not compiled in (they would reach the outside, which
// nothing on this machine may).
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/healthz"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Each registers its controller with pkg/controller, or its issuer with pkg/issuer.
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/metrics"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"

	"github.com/cert-manager/cert-manager/pando-local/command"
)

func main() { command.Main("cert-manager controller", run) }

// The settings this main understands, with cert-manager's defaults (its ControllerConfiguration
// v1alpha1 defaults).
type options struct {
	kubeconfig, master, namespace, clusterResourceNamespace string
	leaderElect                                             bool
	leaderNamespace                                         string
	leaseDuration, renewDeadline, retryPeriod               time.Duration
	leaderHealthzTimeout                                    time.Duration
	controllers                                             []string
	acmeSolverImage                                         string
	maxConcurrentChallenges, workers                        int
	enableCertificateOwnerRef                               bool
	metricsAddress, healthzAddress                          string
	featureGates                                            map[string]bool
	logging                                                 *logsapi.LoggingConfiguration
}

func defaultOptions() *options {
	return &options{
		clusterResourceNamespace: "kube-system",
		leaderElect:              true,
		leaderNamespace:          "kube-system",
		leaseDuration:            60 * time.Second,
		renewDeadline:            40 * time.Second,
		retryPeriod:              15 * time.Second,
		leaderHealthzTimeout:     20 * time.Second,
		controllers:              []string{"*"},
		maxConcurrentChallenges:  60,
		workers:                  5,
		metricsAddress:           "0.0.0.0:9402",
		healthzAddress:           "0.0.0.0:9403",
		featureGates:             map[string]bool{},
		logging:                  logsapi.NewLoggingConfiguration(),
	}
}

// The flags the chart passes (deploy/charts/cert-manager/templates/deployment.yaml) and a few
// for running outside a pod; any other flag is refused.
func addFlags(fs *pflag.FlagSet, o *options) {
	fs.StringVar(&o.kubeconfig, "kubeconfig", o.kubeconfig, "kubeconfig, when not in a pod")
	fs.StringVar(&o.master, "master", o.master, "API server address")
	fs.StringVar(&o.namespace, "namespace", o.namespace, "only this namespace (ClusterIssuers off)")
	fs.StringVar(&o.clusterResourceNamespace, "cluster-resource-namespace", o.clusterResourceNamespace, "namespace of ClusterIssuers' Secrets")
	fs.BoolVar(&o.leaderElect, "leader-elect", o.leaderElect, "leader election")
	fs.StringVar(&o.leaderNamespace, "leader-election-namespace", o.leaderNamespace, "leader election Lease namespace")
	fs.DurationVar(&o.leaseDuration, "leader-election-lease-duration", o.leaseDuration, "")
	fs.DurationVar(&o.renewDeadline, "leader-election-renew-deadline", o.renewDeadline, "")
	fs.DurationVar(&o.retryPeriod, "leader-election-retry-period", o.retryPeriod, "")
	fs.StringSliceVar(&o.controllers, "controllers", o.controllers, "controllers: * (all compiled in), name, -name")
	fs.StringVar(&o.acmeSolverImage, "acme-http01-solver-image", o.acmeSolverImage, "accepted; ACME is not compiled in")
	fs.IntVar(&o.maxConcurrentChallenges, "max-concurrent-challenges", o.maxConcurrentChallenges, "accepted; ACME is not compiled in")
	fs.BoolVar(&o.enableCertificateOwnerRef, "enable-certificate-owner-ref", o.enableCertificateOwnerRef, "Certificates own their Secrets")
	fs.StringVar(&o.metricsAddress, "metrics-listen-address", o.metricsAddress, "metrics address, 0 for none")
	fs.StringVar(&o.healthzAddress, "healthz-listen-address", o.healthzAddress, "healthz address")
	fs.Var(cliflag.NewMapStringBool(&o.featureGates), "feature-gates", "cert-manager feature gates")
	logf.AddFlags(o.logging, fs)
}

func run(ctx context.Context, args []string) error {
	cfg := defaultOptions()
	fs := pflag.NewFlagSet("cert-manager-controller", pflag.ContinueOnError)
	addFlags(fs, cfg)
	if err := command.Configure(fs, args, cfg.featureGates, nil, cfg.logging); err != nil {
		return err
	}
	log := logf.Log.WithName("controller")

	factory, err := contextFactory(ctx, cfg)
	if err != nil {
		return err
	}
	base, err := factory.Build()
	if err != nil {
		return err
	}

	group, ctx := errgroup.WithContext(ctx)
	serve := func(name, address string, newServer func(net.Listener) *http.Server) error {
		listener, err := net.Listen("tcp", address)
		if err != nil {
			return fmt.Errorf("%s on %s: %w", name, address, err)
		}
		server := newServer(listener)
		group.Go(func() error {
			<-ctx.Done()
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return server.Shutdown(shutdown) //nolint:contextcheck // the serving context is done
		})
		group.Go(func() error {
			if err := server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		return nil
	}
	if cfg.metricsAddress != "0" {
		base.Metrics.SetupCertificateCollector(base.SharedInformerFactory.Certmanager().V1().Certificates().Lister())
		base.Metrics.SetupIssuerCollector(base.SharedInformerFactory.Certmanager().V1().Issuers().Lister())
		if err := serve("metrics", cfg.metricsAddress, base.Metrics.NewServer); err != nil {
			return err
		}
	}
	health := healthz.NewServer(cfg.leaderHealthzTimeout)
	healthListener, err := net.Listen("tcp", cfg.healthzAddress)
	if err != nil {
		return fmt.Errorf("healthz on %s: %w", cfg.healthzAddress, err)
	}
	group.Go(func() error { return health.Start(ctx, healthListener) })

	elected := make(chan struct{})
	if cfg.leaderElect {
		group.Go(func() error { return leadElection(ctx, cfg, factory, health, elected) })
	} else {
		close(elected)
	}
	select {
	case <-ctx.Done():
		return group.Wait()
	case <-elected:
	}

	enabled := enabledControllers(cfg)
	known := controller.Known()
	var started, absent []string
	for name := range enabled {
		if _, ok := known[name]; !ok {
			absent = append(absent, name)
		}
	}
	for name, construct := range known {
		if !enabled.Has(name) {
			continue
		}
		runner, err := construct(factory)
		if err != nil {
			return fmt.Errorf("controller %s: %w", name, err)
		}
		started = append(started, name)
		group.Go(func() error { return runner.Run(cfg.workers, ctx) })
	}
	sort.Strings(started)
	sort.Strings(absent)
	log.Info("controllers", "running", strings.Join(started, ","), "named but not compiled in", strings.Join(absent, ","))

	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	err = group.Wait()
	base.HTTP01ResourceMetadataInformersFactory.Shutdown()
	base.KubeSharedInformerFactory.Shutdown()
	base.SharedInformerFactory.Shutdown()
	return err
}

func contextFactory(ctx context.Context, cfg *options) (*controller.ContextFactory, error) {
	return controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         cfg.kubeconfig,
		APIServerHost:      cfg.master,
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		Namespace:          cfg.namespace,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace:        cfg.clusterResourceNamespace,
			ClusterIssuerAmbientCredentials: true,
		},
		ACMEOptions:      controller.ACMEOptions{HTTP01SolverImage: cfg.acmeSolverImage, ACMEHTTP01SolverRunAsNonRoot: true, DNS01CheckRetryPeriod: 10 * time.Second},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: cfg.maxConcurrentChallenges},
		CertificateOptions: controller.CertificateOptions{
			EnableOwnerRef:                           cfg.enableCertificateOwnerRef,
			CopiedAnnotationPrefixes:                 []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
	})
}

// "*" is every controller compiled in (cert-manager's default set, less ACME, Vault, Venafi and
// the ingress shim), "-name" takes one out, and a namespaced controller runs no ClusterIssuers.
func enabledControllers(cfg *options) sets.Set[string] {
	all := sets.New[string]()
	for name := range controller.Known() {
		all.Insert(name)
	}
	enabled, disabled := sets.New[string](), sets.New[string]()
	for _, name := range cfg.controllers {
		switch {
		case name == "*":
			enabled = enabled.Union(all)
		case strings.HasPrefix(name, "-"):
			disabled.Insert(strings.TrimPrefix(name, "-"))
		default:
			enabled.Insert(name)
		}
	}
	if enabled.Len() == 0 && disabled.Len() > 0 {
		enabled = enabled.Union(all)
	}
	if cfg.namespace != "" {
		disabled.Insert(clusterissuers.ControllerName)
	}
	return enabled.Difference(disabled)
}

// Controllers start once this process holds the Lease; losing it ends the process, so the
// kubelet restarts it as a candidate again.
func leadElection(ctx context.Context, cfg *options, factory *controller.ContextFactory, health *healthz.Server, elected chan struct{}) error {
	clients, err := factory.Build("leader-election")
	if err != nil {
		return err
	}
	host, err := os.Hostname()
	if err != nil {
		return err
	}
	lock, err := resourcelock.NewWithLabels(resourcelock.LeasesResourceLock, cfg.leaderNamespace, "cert-manager-controller",
		clients.Client.CoreV1(), clients.Client.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: host + "-cert-manager-controller", EventRecorder: clients.Recorder},
		map[string]string{"app.kubernetes.io/managed-by": "cert-manager"})
	if err != nil {
		return err
	}
	lost := make(chan error, 1)
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   cfg.leaseDuration,
		RenewDeadline:   cfg.renewDeadline,
		RetryPeriod:     cfg.retryPeriod,
		ReleaseOnCancel: true,
		WatchDog:        health.LeaderHealthzAdaptor,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { close(elected) },
			OnStoppedLeading: func() {
				if ctx.Err() == nil {
					lost <- errors.New("leader election lost")
				}
			},
		},
	})
	if err != nil {
		return err
	}
	elector.Run(ctx)
	select {
	case err := <-lost:
		return err
	default:
		return nil
	}
}
