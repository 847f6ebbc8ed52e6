// registry for the local cluster: the CNCF Distribution registry with only what a registry on
// loopback needs (the filesystem store and htpasswd authentication). The cloud storage drivers,
// the pull-through proxy and token auth are left out: less to build, nothing that could reach
// off the machine. `registry htpasswd USER` (password on stdin) prints the bcrypt line the
// htpasswd auth reads, so no other tool is needed to make one.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"
)

var htpasswdCmd = &cobra.Command{
	Use:   "htpasswd USER",
	Short: "print USER:bcrypt(password from stdin), a line of an htpasswd file",
	Args:  cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		password, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && password == "" {
			return fmt.Errorf("reading the password from stdin: %w", err)
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(strings.TrimRight(password, "\r\n")), bcrypt.DefaultCost)
		if err != nil {
			return err
		}
		fmt.Printf("%s:%s\n", args[0], hash)
		return nil
	},
}

func main() {
	registry.RootCmd.AddCommand(htpasswdCmd)
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
