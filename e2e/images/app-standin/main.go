// app-standin: the application container of the local cluster's test pods. It runs until
// SIGTERM, or exits 0 after APP_EXIT_AFTER seconds (for Jobs). With APP_FETCH=URL it is a client
// instead: it GETs the URL (by name, through the pod's DNS) and exits 0 on a 200, else 1.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if url := os.Getenv("APP_FETCH"); url != "" {
		os.Exit(fetch(url))
	}
	fmt.Printf("app-standin: running as pid %d\n", os.Getpid())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	var deadline <-chan time.Time
	if after := os.Getenv("APP_EXIT_AFTER"); after != "" {
		seconds, err := strconv.Atoi(after)
		if err != nil || seconds < 0 {
			fmt.Fprintf(os.Stderr, "app-standin: APP_EXIT_AFTER=%q is not a number of seconds\n", after)
			os.Exit(2)
		}
		deadline = time.After(time.Duration(seconds) * time.Second)
	}
	select {
	case sig := <-stop:
		fmt.Printf("app-standin: %v, exiting\n", sig)
	case <-deadline:
		fmt.Println("app-standin: done")
	}
}

// fetch tries for APP_FETCH_SECONDS (default 20: the Service's endpoints may lag the pod),
// printing each answer or error.
func fetch(url string) int {
	client := &http.Client{Timeout: 3 * time.Second}
	seconds, err := strconv.Atoi(os.Getenv("APP_FETCH_SECONDS"))
	if err != nil {
		seconds = 20
	}
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	for {
		answer, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(answer.Body, 1024))
			answer.Body.Close()
			fmt.Printf("app-standin: GET %s: %d %s\n", url, answer.StatusCode, body)
			if answer.StatusCode == http.StatusOK {
				return 0
			}
		} else {
			fmt.Printf("app-standin: GET %s: %v\n", url, err)
		}
		if time.Now().After(deadline) {
			return 1
		}
		time.Sleep(time.Second)
	}
}
