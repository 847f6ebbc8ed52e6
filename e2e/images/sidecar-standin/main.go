// sidecar-standin: stands in for pando-sidecar on the local node (test support, not the
// product). It serves /healthz and /readyz on the health port the injected probes use, is not
// ready without a license key, and prints its mode, whether it found the license, and the other
// containers' processes it can see (with shareProcessNamespace it sees the app's).
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The injected probes' default port (function/config.ts: PANDO_SIDECAR_HEALTH_PORT).
const defaultHealthPort = "9901"

func main() {
	port := os.Getenv("PANDO_HEALTH_PORT")
	if port == "" {
		port = defaultHealthPort
	}
	licensed := os.Getenv("PANDO_LICENSE_KEY") != ""
	fmt.Printf("sidecar-standin: mode=%s\n", os.Getenv("PANDO_MODE"))
	if licensed {
		fmt.Println("sidecar-standin: license found")
	} else {
		fmt.Println("sidecar-standin: license missing (PANDO_LICENSE_KEY is empty): not ready")
	}

	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !licensed {
			http.Error(w, "no license key", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	go func() {
		if err := http.ListenAndServe(":"+port, nil); err != nil {
			fmt.Fprintf(os.Stderr, "sidecar-standin: %v\n", err)
			os.Exit(1)
		}
	}()
	fmt.Printf("sidecar-standin: health on :%s\n", port)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	seen := ""
	for {
		// Printed when it changes: the app container starts after this native sidecar.
		if now := strings.Join(otherProcesses(), ", "); now != seen {
			seen = now
			if now == "" {
				fmt.Println("sidecar-standin: app processes seen: none")
			} else {
				fmt.Printf("sidecar-standin: app processes seen: %s\n", now)
			}
		}
		select {
		case <-stop:
			fmt.Println("sidecar-standin: stopping")
			return
		case <-tick.C:
		}
	}
}

// otherProcesses lists "pid:command" for every process in /proc but this one and the sandbox's
// pause process.
func otherProcesses() []string {
	self := os.Getpid()
	entries, _ := filepath.Glob("/proc/[0-9]*")
	var found []string
	for _, entry := range entries {
		pid, err := strconv.Atoi(filepath.Base(entry))
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(entry, "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		command := strings.TrimRight(strings.ReplaceAll(string(cmdline), "\x00", " "), " ")
		if command == "/pause" {
			continue
		}
		found = append(found, fmt.Sprintf("%d:%s", pid, command))
	}
	sort.Strings(found)
	return found
}
