// cert-manager's CA injector for the local node, our own main over cert-manager's library package
// pkg/controller/cainjector (its cmd/cainjector module is not on the Go module proxy). It takes
// the flags cert-manager's Helm chart passes, defaulted and validated by cert-manager's own
// configuration packages, and writes the CA of a Certificate's Secret into webhook
// configurations, APIServices and CRDs annotated cert-manager.io/inject-ca-from.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/wait"
	kscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	cliflag "k8s.io/component-base/cli/flag"
	apireg "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	config "github.com/cert-manager/cert-manager/internal/apis/config/cainjector"
	configscheme "github.com/cert-manager/cert-manager/internal/apis/config/cainjector/scheme"
	"github.com/cert-manager/cert-manager/internal/apis/config/cainjector/validation"
	configv1alpha1 "github.com/cert-manager/cert-manager/pkg/apis/config/cainjector/v1alpha1"
	cmscheme "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/scheme"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"

	"github.com/cert-manager/cert-manager/pando-local/command"
)

func main() { command.Main("cert-manager cainjector", run) }

func newConfiguration() (*config.CAInjectorConfiguration, error) {
	scheme, _, err := configscheme.NewSchemeAndCodecs()
	if err != nil {
		return nil, err
	}
	versioned := &configv1alpha1.CAInjectorConfiguration{}
	scheme.Default(versioned)
	cfg := &config.CAInjectorConfiguration{}
	return cfg, scheme.Convert(versioned, cfg, nil)
}

// The flags the chart passes (templates/cainjector-deployment.yaml), and --kubeconfig for
// running outside a pod; any other flag is refused.
func addFlags(fs *pflag.FlagSet, c *config.CAInjectorConfiguration) {
	fs.StringVar(&c.KubeConfig, "kubeconfig", c.KubeConfig, "kubeconfig, when not in a pod")
	fs.StringVar(&c.Namespace, "namespace", c.Namespace, "only this namespace")
	fs.BoolVar(&c.LeaderElectionConfig.Enabled, "leader-elect", c.LeaderElectionConfig.Enabled, "leader election")
	fs.StringVar(&c.LeaderElectionConfig.Namespace, "leader-election-namespace", c.LeaderElectionConfig.Namespace, "leader election Lease namespace")
	fs.DurationVar(&c.LeaderElectionConfig.LeaseDuration, "leader-election-lease-duration", c.LeaderElectionConfig.LeaseDuration, "")
	fs.DurationVar(&c.LeaderElectionConfig.RenewDeadline, "leader-election-renew-deadline", c.LeaderElectionConfig.RenewDeadline, "")
	fs.DurationVar(&c.LeaderElectionConfig.RetryPeriod, "leader-election-retry-period", c.LeaderElectionConfig.RetryPeriod, "")
	fs.StringVar(&c.MetricsListenAddress, "metrics-listen-address", c.MetricsListenAddress, "metrics address, 0 for none")
	fs.Var(cliflag.NewMapStringBool(&c.FeatureGates), "feature-gates", "cert-manager feature gates")
	logf.AddFlags(&c.Logging, fs)
}

func run(ctx context.Context, args []string) error {
	ctrl.SetLogger(logf.Log)
	cfg, err := newConfiguration()
	if err != nil {
		return err
	}
	fs := pflag.NewFlagSet("cert-manager-cainjector", pflag.ContinueOnError)
	addFlags(fs, cfg)
	validate := func() field.ErrorList { return validation.ValidateCAInjectorConfiguration(cfg, nil) }
	if err := command.Configure(fs, args, cfg.FeatureGates, validate, &cfg.Logging); err != nil {
		return err
	}
	log := logf.Log.WithName("cainjector")

	restConfig, err := ctrl.GetConfig()
	if cfg.KubeConfig != "" {
		restConfig, err = clientcmd.BuildConfigFromFlags("", cfg.KubeConfig)
	}
	if err != nil {
		return err
	}
	// The user agent names the field manager of cainjector's server-side applies.
	restConfig = util.RestConfigWithUserAgent(restConfig, "cainjector")
	scheme := runtime.NewScheme()
	utilruntime.Must(kscheme.AddToScheme(scheme))
	utilruntime.Must(cmscheme.AddToScheme(scheme))
	utilruntime.Must(apiext.AddToScheme(scheme))
	utilruntime.Must(apireg.AddToScheme(scheme))
	var namespaces map[string]cache.Config
	if cfg.Namespace != "" {
		namespaces = map[string]cache.Config{cfg.Namespace: {}}
	}
	leader := cfg.LeaderElectionConfig
	manager, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme: scheme,
		Cache:  cache.Options{ReaderFailOnMissingInformer: true, DefaultNamespaces: namespaces},
		// Secrets are read when needed, not cached: a cluster may hold many large ones.
		Client:                        client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		LeaderElection:                leader.Enabled,
		LeaderElectionNamespace:       leader.Namespace,
		LeaderElectionID:              "cert-manager-cainjector-leader-election",
		LeaderElectionReleaseOnCancel: true,
		LeaderElectionResourceLock:    resourcelock.LeasesResourceLock,
		LeaseDuration:                 &leader.LeaseDuration,
		RenewDeadline:                 &leader.RenewDeadline,
		RetryPeriod:                   &leader.RetryPeriod,
		Metrics:                       metricsserver.Options{BindAddress: cfg.MetricsListenAddress},
	})
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}

	// The Certificate data source needs cert-manager's CRDs; a fresh install may apply them a
	// moment after this pod starts.
	if cfg.EnableDataSourceConfig.Certificates {
		direct, err := client.New(restConfig, client.Options{Scheme: scheme, Mapper: manager.GetRESTMapper()})
		if err != nil {
			return err
		}
		err = wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
			err := direct.Get(ctx, types.NamespacedName{Name: "certificates.cert-manager.io"}, &apiext.CustomResourceDefinition{})
			if apierrors.IsNotFound(err) {
				log.Info("waiting for the certificates.cert-manager.io CRD")
				return false, nil
			}
			return err == nil, err
		})
		if err != nil {
			return fmt.Errorf("certificates.cert-manager.io CRD: %w", err)
		}
	}

	injectable := cfg.EnableInjectableConfig
	err = cainjector.RegisterAllInjectors(ctx, manager, cainjector.SetupOptions{
		Namespace:                    cfg.Namespace,
		IgnoreNamespaces:             cfg.IgnoreNamespaces,
		EnableCertificatesDataSource: cfg.EnableDataSourceConfig.Certificates,
		EnabledReconcilersFor: map[string]bool{
			cainjector.MutatingWebhookConfigurationName:   injectable.MutatingWebhookConfigurations,
			cainjector.ValidatingWebhookConfigurationName: injectable.ValidatingWebhookConfigurations,
			cainjector.APIServiceName:                     injectable.APIServices,
			cainjector.CustomResourceDefinitionName:       injectable.CustomResourceDefinitions,
		},
	})
	if err != nil {
		return fmt.Errorf("injectors: %w", err)
	}
	log.Info("starting")
	return manager.Start(ctx)
}
