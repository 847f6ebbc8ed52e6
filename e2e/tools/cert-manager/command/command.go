// Package command is what our three cert-manager mains share: the process around a component
// (signals, logs, exit status) and the steps every component's configuration goes through after
// its flags (feature gates, validation, logging), in the order cert-manager's own commands take.
package command

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation/field"
	logsapi "k8s.io/component-base/logs/api/v1"

	logf "github.com/cert-manager/cert-manager/pkg/logs"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"
)

// Main runs a component until SIGINT or SIGTERM, and exits 1 with its error logged.
func Main(name string, run func(ctx context.Context, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logf.InitLogs()
	defer logf.FlushLogs()
	if err := run(ctx, os.Args[1:]); err != nil {
		logf.Log.Error(err, name)
		logf.FlushLogs()
		os.Exit(1)
	}
}

// Configure parses the flags, then sets the feature gates, validates (validate may be nil) and
// applies the logging configuration.
func Configure(fs *pflag.FlagSet, args []string, featureGates map[string]bool, validate func() field.ErrorList, logging *logsapi.LoggingConfiguration) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(featureGates); err != nil {
		return err
	}
	if validate != nil {
		if errs := validate(); len(errs) > 0 {
			return errs.ToAggregate()
		}
	}
	return logf.ValidateAndApply(logging)
}
