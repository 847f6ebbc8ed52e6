// cert-manager's webhook for the local node, our own main (cert-manager's cmd/webhook module is
// not on the Go module proxy). The flags are cert-manager's own (pkg/webhook/options), so the
// chart's arguments mean what they mean upstream; the server, its scheme, conversion and
// admission plugins are cert-manager's webhook package.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/cert-manager/cert-manager/internal/apis/config/webhook/validation"
	cmwebhook "github.com/cert-manager/cert-manager/internal/webhook"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"
	"github.com/cert-manager/cert-manager/pkg/webhook/options"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logf.InitLogs()
	defer logf.FlushLogs()
	if err := run(ctx, os.Args[1:]); err != nil {
		logf.Log.Error(err, "cert-manager webhook")
		logf.FlushLogs()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cfg, err := options.NewWebhookConfiguration()
	if err != nil {
		return err
	}
	fs := pflag.NewFlagSet("cert-manager-webhook", pflag.ContinueOnError)
	// --config (a WebhookConfiguration file) is not read here: the chart passes it only when
	// webhook.config is set, and the e2e does not set it.
	options.AddConfigFlags(fs, cfg)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(cfg.FeatureGates); err != nil {
		return err
	}
	if errs := validation.ValidateWebhookConfiguration(cfg, nil); len(errs) > 0 {
		return errs.ToAggregate()
	}
	if err := logf.ValidateAndApply(&cfg.Logging); err != nil {
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
