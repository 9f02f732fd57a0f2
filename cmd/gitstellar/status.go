package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/gitstellar/gitstellar/pkg/printable"
	"github.com/gitstellar/gitstellar/pkg/report"
	"github.com/gitstellar/gitstellar/pkg/source"
)

type statusOptions struct {
	repo, branch, wds, output string
	expectCommit              string
	creds                     source.CredentialFiles
	insecureIgnoreHostKey     bool
}

func newStatusCommand() *cobra.Command {
	o := statusOptions{}
	cmd := &cobra.Command{
		Use:   "status [--repo URL|PATH] [--expect-commit SHA]",
		Short: "Print the status gitstellar committed to the status branch",
		Long: "Status reads summary.yaml from the status branch and prints, per WDS, every bound object in\n" +
			"every WEC: synced, ready, and why not. It needs read access to the repository, no cluster.\n" +
			"--repo is a local clone (default: the current directory; the local branch, else\n" +
			"origin/BRANCH: fetch first to be current) or a remote URL (only the branch is fetched).\n" +
			"--expect-commit SHA (full or abbreviated; in CI, the commit under test) requires the status\n" +
			"to be of that source commit: without it, a gate could pass on the status of an older commit.\n" +
			"Exit code: 0 when everything is ready, the revision has no error and, with --expect-commit,\n" +
			"the status is of that commit; 1 otherwise: the status says \"not (yet) good\" (a CI gate can\n" +
			"retry on 1 until gitstellar catches up or a deadline passes); 2 when there is no status to\n" +
			"judge (the branch or summary.yaml cannot be read, summary.yaml is empty or lists no WDS, or\n" +
			"--wds names none of them), when the output cannot be written, or when the command is misused.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.repo, "repo", ".", "local clone (path) or remote URL (https://, ssh://, user@host:path, file://) of the repository")
	f.StringVar(&o.branch, "branch", report.DefaultStatusBranch, "the status branch")
	f.StringVar(&o.wds, "wds", "", "only this WDS")
	f.StringVarP(&o.output, "output", "o", "table", "output: table, yaml or json")
	f.StringVar(&o.expectCommit, "expect-commit", "", "exit 1 unless the status is of this source commit (a SHA, full or abbreviated)")
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
		return usageError(fmt.Errorf("--output %q: want table, yaml or json", o.output))
	}
	if o.expectCommit != "" && !isCommitID(o.expectCommit) {
		return usageError(fmt.Errorf("--expect-commit %q: want a commit SHA (4 to 64 hexadecimal digits)", o.expectCommit))
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
			return &exitError{code: 2, err: fmt.Errorf("--wds %s: no such WDS in the status of %s", printable.Quote(o.wds), cmp.Or(s.SourceCommit, "(none)"))}
		}
		s.Spaces = spaces
	}
	if err := writeStatus(cmd.OutOrStdout(), o.output, s); err != nil {
		return err
	}
	return o.gate(s)
}

// gate is the verdict on a status: nil when it is of the expected commit
// (if any), everything is ready and there is no error.
func (o *statusOptions) gate(s report.Summary) error {
	ready, total, errs := statusCounts(s)
	counts := fmt.Sprintf("%d/%d ready, %d error(s)", ready, total, errs)
	if o.expectCommit != "" && !sameCommit(s.SourceCommit, o.expectCommit) {
		return &exitError{code: 1, err: fmt.Errorf("the status is of source commit %s, not %s: not synced yet, or %s does not render (%s)",
			cmp.Or(s.SourceCommit, "(none)"), o.expectCommit, o.expectCommit, counts)}
	}
	if ready < total || errs > 0 {
		return &exitError{code: 1, err: errors.New(counts)}
	}
	return nil
}

// isCommitID tells an abbreviated or full SHA-1 or SHA-256 commit ID.
func isCommitID(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// sameCommit tells whether the commit ID id names commit.
func sameCommit(commit, id string) bool {
	return commit != "" && strings.HasPrefix(strings.ToLower(commit), strings.ToLower(id))
}

// usable says why a status cannot be judged: it is empty, or lists no
// WDS and no error (a gate would pass with nothing ready).
func usable(s report.Summary) error {
	switch {
	case len(s.Spaces) > 0 || len(s.Errors) > 0:
		return nil
	case s.SourceCommit == "":
		return fmt.Errorf("%s is empty: no status to judge", report.StatusSummaryFile)
	default:
		return fmt.Errorf("%s lists no WDS for source commit %s: no status to judge", report.StatusSummaryFile, s.SourceCommit)
	}
}

// writeStatus writes the status as output says. Every string of it may
// come from a repository or a WEC: the table shows them escaped; YAML and
// JSON have them in escapes too (see statusYAML and printable.JSON).
func writeStatus(out io.Writer, output string, s report.Summary) error {
	switch output {
	case "yaml":
		b, err := statusYAML(s)
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	case "json":
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", printable.JSON(b))
		return err
	default:
		printStatusTables(out, s)
		return nil
	}
}

// statusYAML is the summary as YAML, keys sorted. A string that holds a
// hidden character, a newline or a tab, or starts a CI command, is double
// quoted with escapes: it never spans lines (a line of a block scalar
// could be a workflow command), and YAML's own escapes are completed with
// \u escapes for the characters YAML prints as they are (such as U+202E).
func statusYAML(s report.Summary) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var doc kyaml.Node
	if err := kyaml.Unmarshal(printable.JSON(b), &doc); err != nil { // JSON is YAML
		return nil, err
	}
	restyle(&doc)
	if b, err = kyaml.Marshal(&doc); err != nil {
		return nil, err
	}
	return printable.JSON(b), nil // the characters left are in double-quoted scalars, where \u escapes are YAML's too
}

// restyle sorts mapping keys and gives every node the block style, but
// double quotes for the strings TerminalLine would change.
func restyle(n *kyaml.Node) {
	n.Style = 0
	if n.Kind == kyaml.ScalarNode && n.Tag == "!!str" && printable.TerminalLine(n.Value) != n.Value {
		n.Style = kyaml.DoubleQuotedStyle
	}
	if n.Kind == kyaml.MappingNode {
		sortPairs(n.Content)
	}
	for _, c := range n.Content {
		restyle(c)
	}
}

// sortPairs sorts the key, value pairs of a mapping node's content by key.
func sortPairs(content []*kyaml.Node) {
	pairs := make([][2]*kyaml.Node, len(content)/2)
	for i := range pairs {
		pairs[i] = [2]*kyaml.Node{content[2*i], content[2*i+1]}
	}
	slices.SortStableFunc(pairs, func(a, b [2]*kyaml.Node) int { return strings.Compare(a[0].Value, b[0].Value) })
	for i, p := range pairs {
		content[2*i], content[2*i+1] = p[0], p[1]
	}
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
	if err == nil {
		err = usable(s)
	}
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
		if space.Unreachable != "" {
			errs++
		}
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
// WDS: every string one line, escaped (printable.TerminalLine).
func printStatusTables(out io.Writer, s report.Summary) {
	esc := printable.TerminalLine
	fmt.Fprintf(out, "Source commit: %s\n", esc(cmp.Or(s.SourceCommit, "(none)")))
	if len(s.Errors) > 0 {
		fmt.Fprintf(out, "Errors (the spaces hold the last good revision):\n")
		for _, e := range s.Errors {
			fmt.Fprintf(out, "  %s\n", message(e))
		}
	}
	for _, space := range s.Spaces {
		ready, total := spaceCounts(space)
		fmt.Fprintf(out, "\nWDS %s: %d/%d ready\n", esc(space.Name), ready, total)
		if space.Unreachable != "" {
			fmt.Fprintf(out, "  unreachable (as last seen below): %s\n", message(space.Unreachable))
		}
		for _, p := range space.Policies {
			for _, e := range p.Errors {
				fmt.Fprintf(out, "  BindingPolicy %s: %s\n", esc(p.Name), message(e))
			}
		}
		if len(space.Objects) == 0 {
			continue
		}
		var table strings.Builder
		tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAMESPACE\tOBJECT\tWEC\tSYNCED\tREADY\tMESSAGE")
		for _, o := range space.Objects {
			ns, name := cmp.Or(esc(o.Namespace), "-"), esc(o.Kind)
			if o.Group != "" {
				name += "." + esc(o.Group)
			}
			name += "/" + esc(o.Name)
			if len(o.WECs) == 0 {
				fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\tbound to no WEC\n", ns, name)
			}
			for _, st := range o.WECs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ns, name, esc(st.WEC), yesNo(st.Synced), yesNo(st.Ready), message(st.Message))
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

// message is a message on one line: its blanks, newlines included, one
// space; what is hidden in it escaped.
func message(s string) string {
	return printable.TerminalLine(strings.Join(strings.Fields(s), " "))
}
