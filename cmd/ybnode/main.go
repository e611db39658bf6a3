// Command ybnode runs one node of the ybfed federation (national or
// provincial center), the whole federation as a demo, and the tools an
// operator needs around them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// realMain runs the CLI and returns the process exit code: 0 success,
// 1 failure, 2 usage or configuration error.
func realMain(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "ybnode:", err)
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "ybnode",
		Short: "Node of the two-level medical security information platform federation",
		Long: `ybnode runs one center of the federation (the national center or a
provincial center): the hospital settlement API, reference data replicated
by raft, gossip membership, cross-province settlement through the national
hub, and the operator console. 'ybnode demo' runs all 33 centers on this
machine.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(versionCmd(), configCmd(), runCmd(), demoCmd(), installCmd(), uninstallCmd(), joinTokenCmd(), backupCmd(), restoreCmd())
	root.AddCommand(caCmd())
	root.AddCommand(auditCmd())
	root.AddCommand(refCmd(), catalogCmd())
	root.AddCommand(consoleCmd(), seedCmd())
	root.AddCommand(clearingCmd())
	root.AddCommand(benchCmd())
	root.AddCommand(membersCmd(), federationCmd())
	return root
}

// usageError marks errors that should exit with code 2.
func usageError(err error) error { return exitError{code: 2, err: err} }
