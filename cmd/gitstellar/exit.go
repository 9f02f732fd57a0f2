package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/spf13/cobra"
)

// exitError carries an exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if e := (*exitError)(nil); errors.As(err, &e) {
		return e.code
	}
	return 1
}

// usageError is a misuse of the command line: exit code 2.
func usageError(err error) error { return &exitError{code: 2, err: err} }

// strictArgs makes a bad positional argument a usage error. A command
// that only groups subcommands gets one for an unknown subcommand (cobra
// would print the help and exit 0, or exit 1 at the top), and prints its
// help when called alone.
func strictArgs(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = unknownSubcommand
		cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	if args := cmd.Args; args != nil {
		cmd.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return usageError(err)
			}
			return nil
		}
	}
}

func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	err := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		err += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return errors.New(err)
}

// checkOutput makes the command fail, with exit code 2, when writing to
// its output (stdout: a closed pipe, a full disk) fails: a result that
// was not written is not a success, and not "problems found" either.
func checkOutput(cmd *cobra.Command) {
	run := cmd.RunE
	if run == nil {
		return
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		out := &errWriter{w: cmd.OutOrStdout()}
		cmd.SetOut(out)
		err := run(cmd, args)
		werr := out.Err()
		switch {
		case werr == nil:
			return err
		case err == nil || errors.Is(err, werr):
			return &exitError{code: 2, err: fmt.Errorf("write the output: %w", werr)}
		default:
			return &exitError{code: 2, err: fmt.Errorf("%w; and write the output: %w", err, werr)}
		}
	}
}

// errWriter writes to w until a write fails; it then remembers the error
// and fails every later write with it.
type errWriter struct {
	w   io.Writer
	mu  sync.Mutex
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	e.err = err
	return n, err
}

// Err is the first error of a write.
func (e *errWriter) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}
