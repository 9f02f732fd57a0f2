package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/gitstellar/gitstellar/pkg/report"
	"github.com/gitstellar/gitstellar/pkg/source"
)

type statusOptions struct {
	repo, branch, wds, output string
	creds                     source.CredentialFiles
	insecureIgnoreHostKey     bool
}

func newStatusCommand() *cobra.Command {
	o := statusOptions{}
	cmd := &cobra.Command{
		Use:   "status [--repo URL|PATH]",
		Short: "Print the status gitstellar committed to the status branch",
		Long: "Status reads summary.yaml from the status branch and prints, per WDS, every bound object in\n" +
			"every WEC: synced, ready, and why not. It needs read access to the repository, no cluster.\n" +
			"--repo is a local clone (default: the current directory; the local branch, else\n" +
			"origin/BRANCH: fetch first to be current) or a remote URL (only the branch is fetched).\n" +
			"Exit code: 0 when everything is ready and the revision has no error, 1 otherwise (a CI gate),\n" +
			"2 when the branch cannot be read or the command is misused.",
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.NoArgs(cmd, args); err != nil {
				return &exitError{code: 2, err: err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{code: 2, err: err} })
	f := cmd.Flags()
	f.StringVar(&o.repo, "repo", ".", "local clone (path) or remote URL (https://, ssh://, user@host:path, file://) of the repository")
	f.StringVar(&o.branch, "branch", report.DefaultStatusBranch, "the status branch")
	f.StringVar(&o.wds, "wds", "", "only this WDS")
	f.StringVarP(&o.output, "output", "o", "table", "output: table, yaml or json")
	addGitCredentialFlags(f, &o.creds, &o.insecureIgnoreHostKey)
	return cmd
}

// addGitCredentialFlags binds the flags of Git credentials, named as in
// `gitstellar run`.
func addGitCredentialFlags(f *pflag.FlagSet, creds *source.CredentialFiles, insecureIgnoreHostKey *bool) {
	f.StringVar(&creds.Username, "username", "", "HTTPS user name")
	f.StringVar(&creds.PasswordFile, "password-file", "", "file holding the HTTPS password")
	f.StringVar(&creds.TokenFile, "token-file", "", "file holding an HTTPS token")
	f.StringVar(&creds.PrivateKeyFile, "ssh-key-file", "", "file holding the SSH private key")
	f.StringVar(&creds.PassphraseFile, "ssh-passphrase-file", "", "file holding the SSH key's passphrase")
	f.StringVar(&creds.KnownHostsFile, "known-hosts-file", "", "known_hosts for SSH (required for SSH remotes)")
	f.BoolVar(insecureIgnoreHostKey, "insecure-ignore-host-key", false, "accept any SSH host key (unsafe)")
}

func (o *statusOptions) run(cmd *cobra.Command) error {
	if o.output != "table" && o.output != "yaml" && o.output != "json" {
		return &exitError{code: 2, err: fmt.Errorf("--output %q: want table, yaml or json", o.output)}
	}
	s, err := o.summary(cmd.Context())
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if o.wds != "" {
		spaces := s.Spaces[:0]
		for _, space := range s.Spaces {
			if space.Name == o.wds {
				spaces = append(spaces, space)
			}
		}
		if len(spaces) == 0 {
			return &exitError{code: 2, err: fmt.Errorf("--wds %s: no such WDS in the status of %s", o.wds, cmp.Or(s.SourceCommit, "(none)"))}
		}
		s.Spaces = spaces
	}
	out := cmd.OutOrStdout()
	switch o.output {
	case "yaml":
		b, err := yaml.Marshal(s)
		if err != nil {
			return err
		}
		_, _ = out.Write(b)
	case "json":
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s\n", b)
	default:
		printStatusTables(out, s)
	}
	ready, total, errs := statusCounts(s)
	if ready < total || errs > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d/%d ready, %d error(s)", ready, total, errs)}
	}
	return nil
}

// summary reads summary.yaml from the status branch.
func (o *statusOptions) summary(ctx context.Context) (report.Summary, error) {
	var (
		commit *statusCommit
		err    error
	)
	if isRemoteURL(o.repo) {
		commit, err = o.remoteCommit(ctx)
	} else {
		commit, err = localCommit(o.repo, o.branch)
	}
	if err != nil {
		return report.Summary{}, err
	}
	file, err := commit.File(report.StatusSummaryFile)
	if err != nil {
		return report.Summary{}, fmt.Errorf("%s of %s: %w", report.StatusSummaryFile, commit.name, err)
	}
	content, err := file.Contents()
	if err != nil {
		return report.Summary{}, fmt.Errorf("%s of %s: %w", report.StatusSummaryFile, commit.name, err)
	}
	s, err := report.DecodeStatusSummary([]byte(content))
	if err != nil {
		return report.Summary{}, fmt.Errorf("%s: %w", commit.name, err)
	}
	return s, nil
}

// statusCommit is a commit of the status branch and what to call it.
type statusCommit struct {
	*object.Commit
	name string
}

// localCommit finds the branch in a local clone: the local branch, else
// origin's.
func localCommit(path, branch string) (*statusCommit, error) {
	repo, err := git.PlainOpenWithOptions(path, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, name := range []plumbing.ReferenceName{plumbing.NewBranchReferenceName(branch), plumbing.NewRemoteReferenceName("origin", branch)} {
		ref, err := repo.Reference(name, true)
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, name, err)
		}
		c, err := repo.CommitObject(ref.Hash())
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, name, err)
		}
		return &statusCommit{Commit: c, name: filepath.Clean(path) + " " + name.Short()}, nil
	}
	return nil, fmt.Errorf("%s: no branch %s nor origin/%s (is gitstellar writing its status there? `git fetch origin %s` brings it)", path, branch, branch, branch)
}

// remoteCommit fetches the head of the branch, alone, into memory.
func (o *statusOptions) remoteCommit(ctx context.Context) (*statusCommit, error) {
	creds, err := o.creds.Load()
	if err != nil {
		return nil, err
	}
	creds.InsecureIgnoreHostKey = o.insecureIgnoreHostKey
	auth, err := creds.AuthFor(o.repo)
	if err != nil {
		return nil, err
	}
	branch := plumbing.NewBranchReferenceName(o.branch)
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
		URL: o.repo, Auth: auth, ReferenceName: branch, SingleBranch: true, Depth: 1, Tags: git.NoTags,
	})
	if err != nil {
		return nil, fmt.Errorf("fetch %s of %s: %w", o.branch, redactedURL(o.repo), err)
	}
	ref, err := repo.Reference(branch, true)
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %w", o.branch, redactedURL(o.repo), err)
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return nil, err
	}
	return &statusCommit{Commit: c, name: redactedURL(o.repo) + " " + o.branch}, nil
}

// isRemoteURL tells a URL (scheme://, or scp-like user@host:path) from a
// local path.
func isRemoteURL(repo string) bool {
	if strings.Contains(repo, "://") {
		return true
	}
	i := strings.Index(repo, ":")
	return i > 1 && !strings.Contains(repo[:i], "/")
}

// redactedURL hides a password written in a URL.
func redactedURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok || strings.Contains(userinfo, "/") {
		return u
	}
	if user, _, has := strings.Cut(userinfo, ":"); has {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return u
}

// statusCounts are the ready and all placements (object × WEC), and the
// errors: the revision's and the policies'.
func statusCounts(s report.Summary) (ready, total, errs int) {
	errs = len(s.Errors)
	for _, space := range s.Spaces {
		r, t := spaceCounts(space)
		ready, total = ready+r, total+t
		for _, p := range space.Policies {
			errs += len(p.Errors)
		}
	}
	return ready, total, errs
}

func spaceCounts(space report.SpaceSummary) (ready, total int) {
	for _, o := range space.Objects {
		for _, st := range o.WECs {
			total++
			if st.Synced && st.Ready {
				ready++
			}
		}
	}
	return ready, total
}

// printStatusTables prints the source commit, the errors, and a table per
// WDS.
func printStatusTables(out io.Writer, s report.Summary) {
	fmt.Fprintf(out, "Source commit: %s\n", cmp.Or(s.SourceCommit, "(none)"))
	if len(s.Errors) > 0 {
		fmt.Fprintf(out, "Errors (the spaces hold the last good revision):\n")
		for _, e := range s.Errors {
			fmt.Fprintf(out, "  %s\n", oneLine(e))
		}
	}
	for _, space := range s.Spaces {
		ready, total := spaceCounts(space)
		fmt.Fprintf(out, "\nWDS %s: %d/%d ready\n", space.Name, ready, total)
		for _, p := range space.Policies {
			for _, e := range p.Errors {
				fmt.Fprintf(out, "  BindingPolicy %s: %s\n", p.Name, oneLine(e))
			}
		}
		if len(space.Objects) == 0 {
			continue
		}
		var table strings.Builder
		tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAMESPACE\tOBJECT\tWEC\tSYNCED\tREADY\tMESSAGE")
		for _, o := range space.Objects {
			ns, name := o.Namespace, o.Kind
			if o.Group != "" {
				name += "." + o.Group
			}
			name += "/" + o.Name
			if ns == "" {
				ns = "-"
			}
			if len(o.WECs) == 0 {
				fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\tbound to no WEC\n", ns, name)
			}
			for _, st := range o.WECs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ns, name, st.WEC, yesNo(st.Synced), yesNo(st.Ready), oneLine(st.Message))
			}
		}
		_ = tw.Flush()
		for _, line := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
			fmt.Fprintln(out, strings.TrimRight(line, " ")) // no padding after the last cell
		}
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
