// cert-manager's webhook for the local node, our own main (cert-manager's cmd/webhook module is
// not on the Go module proxy). The flags are cert-manager's own (pkg/webhook/options), so the
// chart's arguments mean what they mean upstream; the server, its scheme, conversion and
// admission plugins are cert-manager's webhook package.
package main

import (
	"context"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/cert-manager/cert-manager/internal/apis/config/webhook/validation"
	cmwebhook "github.com/cert-manager/cert-manager/internal/webhook"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/webhook/options"

	"github.com/cert-manager/cert-manager/pando-local/command"
)

func main() { command.Main("cert-manager webhook", run) }

func run(ctx context.Context, args []string) error {
	cfg, err := options.NewWebhookConfiguration()
	if err != nil {
		return err
	}
	fs := pflag.NewFlagSet("cert-manager-webhook", pflag.ContinueOnError)
	// --config (a WebhookConfiguration file) is not read here: the chart passes it only when
	// webhook.config is set, and the e2e does not set it.
	options.AddConfigFlags(fs, cfg)
	validate := func() field.ErrorList { return validation.ValidateWebhookConfiguration(cfg, nil) }
	if err := command.Configure(fs, args, cfg.FeatureGates, validate, &cfg.Logging); err != nil {
		return err
	}
	log := logf.Log.WithName("webhook")
	server, err := cmwebhook.NewCertManagerWebhookServer(log, *cfg)
	if err != nil {
		return err
	}
	log.Info("starting", "port", cfg.SecurePort)
	return server.Run(ctx)
}
