package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-logr/logr/testr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

// branchTestSummary has one WDS whose ConfigMaps, named, are ready in
// cluster1.
func branchTestSummary(sourceCommit string, names ...string) Summary {
	space := SpaceSummary{Name: "wds1", Policies: []PolicySummary{{Name: "p", WECs: []string{"cluster1"}}}}
	for _, n := range names {
		o := ObjectSummary{Version: "v1", Kind: "ConfigMap", Namespace: "default", Name: n, Policies: []string{"p"},
			WECs: []WECObjectStatus{{WEC: "cluster1", Synced: true, Ready: true}}}
		space.Objects = append(space.Objects, o)
		space.Policies[0].Objects = append(space.Policies[0].Objects, o.Key())
	}
	return Summary{SourceCommit: sourceCommit, Spaces: []SpaceSummary{space}}
}

func newTestBranchWriter(t *testing.T, url, writer string, creds source.Credentials) *StatusBranchWriter {
	t.Helper()
	w, err := NewStatusBranchWriter(StatusBranchOptions{
		URL: url, Writer: writer, Credentials: creds,
		Log: testr.New(t), Attempts: 3, Backoff: 10 * time.Millisecond,
	})
	require.NoError(t, err)
	return w
}

// statusBranch reads the status branch from the server through the git
// command line.
type statusBranch struct{ repo *gittest.Repo }

func (b statusBranch) fetch(t *testing.T) string {
	t.Helper()
	b.repo.Git(t, "fetch", "--quiet", "origin", "+refs/heads/gitstellar-status:refs/remotes/origin/gitstellar-status")
	return b.git(t, "rev-parse", "origin/gitstellar-status")
}

func (b statusBranch) git(t *testing.T, args ...string) string {
	t.Helper()
	return strings.TrimSpace(b.repo.Git(t, args...))
}

func (b statusBranch) files(t *testing.T, commit string) []string {
	t.Helper()
	return strings.Split(b.git(t, "ls-tree", "-r", "--name-only", commit), "\n")
}

func TestStatusBranchWriter(t *testing.T) {
	ctx := context.Background()
	srv := gittest.NewHTTPServer(t, &gittest.BasicAuth{Username: "status", Password: "branch-pass"})
	repo := srv.NewRepo(t, "config")
	repo.Write(t, map[string]string{"wds1/cm.yaml": "kind: ConfigMap\n"})
	source1 := repo.Commit(t, "the source")
	repo.Push(t, "main")
	creds := source.Credentials{Username: "status", Password: []byte("branch-pass")}
	w := newTestBranchWriter(t, repo.URL, "test writer", creds)
	branch := statusBranch{repo}

	s1 := branchTestSummary(source1, "a", "b")
	pushed, err := w.Write(ctx, s1)
	require.NoError(t, err)
	assert.True(t, pushed)
	first := branch.fetch(t)

	t.Run("the first write creates an orphan branch", func(t *testing.T) {
		assert.Equal(t, first, branch.git(t, "rev-list", "--parents", "-n1", first), "no parent")
		assert.Equal(t, []string{"README.md", "summary.yaml", "wds1/core/ConfigMap/default/a.yaml", "wds1/core/ConfigMap/default/b.yaml"}, branch.files(t, first))
		want, err := RenderStatusFiles(s1)
		require.NoError(t, err)
		assert.Equal(t, string(want[StatusSummaryFile]), branch.repo.Git(t, "show", first+":summary.yaml"))
		assert.Equal(t, source1, branch.git(t, "rev-parse", "origin/main"), "the source branch is untouched")
		assert.Equal(t, "gitstellar <gitstellar@users.noreply.gitstellar.io>", branch.git(t, "log", "-1", "--format=%an <%ae>", first))
		msg := branch.git(t, "log", "-1", "--format=%B", first)
		assert.True(t, strings.HasPrefix(msg, "status of "+source1[:12]+"\n\n"), msg)
		trailers := branch.git(t, "log", "-1", "--format=%(trailers:only,unfold)", first)
		assert.Equal(t, "Gitstellar-Writer: test writer\nGitstellar-Source-Commit: "+source1, trailers)
		repo.Git(t, "-C", repo.Bare, "fsck", "--strict", "--no-dangling") // trees in git's order
	})

	t.Run("no change, no commit", func(t *testing.T) {
		pushed, err := w.Write(ctx, s1)
		require.NoError(t, err)
		assert.False(t, pushed)
		assert.Equal(t, first, branch.fetch(t))
	})

	var second string
	t.Run("a change is one commit; removed objects' files go", func(t *testing.T) {
		pushed, err := w.Write(ctx, branchTestSummary(source1, "a", "c"))
		require.NoError(t, err)
		assert.True(t, pushed)
		second = branch.fetch(t)
		assert.Equal(t, second+" "+first, branch.git(t, "rev-list", "--parents", "-n1", second))
		assert.Equal(t, []string{"README.md", "summary.yaml", "wds1/core/ConfigMap/default/a.yaml", "wds1/core/ConfigMap/default/c.yaml"}, branch.files(t, second))
	})

	t.Run("a person's commit is built upon", func(t *testing.T) {
		repo.Git(t, "checkout", "--quiet", "-B", "gitstellar-status", second)
		repo.Write(t, map[string]string{"NOTES.md": "looked at it\n"})
		human := repo.Commit(t, "a note")
		repo.Push(t, "gitstellar-status")
		repo.Git(t, "checkout", "--quiet", "main")

		pushed, err := w.Write(ctx, branchTestSummary(source1, "a"))
		require.NoError(t, err)
		assert.True(t, pushed)
		head := branch.fetch(t)
		assert.Equal(t, head+" "+human, branch.git(t, "rev-list", "--parents", "-n1", head))
		assert.NotContains(t, branch.files(t, head), "NOTES.md", "the tree is the rendered files")
	})

	t.Run("a branch moved under a push: redone on the new head", func(t *testing.T) {
		before := branch.fetch(t)
		var raced string
		w.beforePush = func() {
			if raced != "" {
				return
			}
			repo.Git(t, "checkout", "--quiet", "-B", "gitstellar-status", before)
			raced = repo.Commit(t, "racing commit")
			repo.Push(t, "gitstellar-status")
			repo.Git(t, "checkout", "--quiet", "main")
		}
		defer func() { w.beforePush = nil }()
		pushed, err := w.Write(ctx, branchTestSummary(source1, "a", "d"))
		require.NoError(t, err)
		assert.True(t, pushed)
		head := branch.fetch(t)
		assert.Equal(t, head+" "+raced, branch.git(t, "rev-list", "--parents", "-n1", head), "rebased onto the racing commit")
		assert.Contains(t, branch.files(t, head), "wds1/core/ConfigMap/default/d.yaml")
	})

	t.Run("another writer's lease", func(t *testing.T) {
		head := branch.fetch(t)
		other := newTestBranchWriter(t, repo.URL, "other writer", creds)
		_, err := other.Write(ctx, branchTestSummary(source1, "x"))
		require.ErrorIs(t, err, ErrOtherWriter)
		assert.Contains(t, err.Error(), `"test writer"`)
		assert.Equal(t, head, branch.fetch(t), "nothing pushed")

		other.opts.Now = func() time.Time { return time.Now().Add(3 * time.Minute) }
		pushed, err := other.Write(ctx, branchTestSummary(source1, "x"))
		require.NoError(t, err, "the lease expired")
		assert.True(t, pushed)
		taken := branch.fetch(t)
		assert.Equal(t, taken+" "+head, branch.git(t, "rev-list", "--parents", "-n1", taken))

		_, err = w.Write(ctx, s1)
		require.ErrorIs(t, err, ErrOtherWriter)
		assert.Contains(t, err.Error(), `"other writer"`)
		assert.Equal(t, taken, branch.fetch(t))
	})
}

// downableProxy forwards TCP connections to a server; while down, it
// refuses new connections and has cut the open ones.
type downableProxy struct {
	addr  string
	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
}

func newDownableProxy(t *testing.T, target string) *downableProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &downableProxy{addr: l.Addr().String(), conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); p.setDown(true); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { p.forward(c, target) })
		}
	})
	return p
}

func (p *downableProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
	}
}

// track registers open connections, or says to drop them when down.
func (p *downableProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	for _, c := range conns {
		p.conns[c] = true
	}
	return true
}

func (p *downableProxy) forward(c net.Conn, target string) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	if !p.track(c, s) {
		return
	}
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, s)
		p.mu.Unlock()
	}()
	done := make(chan struct{})
	go func() { _, _ = io.Copy(s, c); s.Close(); close(done) }()
	_, _ = io.Copy(c, s)
	c.Close()
	<-done
}

func TestStatusBranchWriterServerDown(t *testing.T) {
	ctx := context.Background()
	srv := gittest.NewHTTPServer(t, nil)
	repo := srv.NewRepo(t, "config")
	source1 := repo.Commit(t, "the source")
	repo.Push(t, "main")
	proxy := newDownableProxy(t, strings.TrimPrefix(srv.URL, "http://"))
	w := newTestBranchWriter(t, "http://"+proxy.addr+"/config.git", "test writer", source.Credentials{})
	branch := statusBranch{repo}

	pushed, err := w.Write(ctx, branchTestSummary(source1, "a"))
	require.NoError(t, err)
	require.True(t, pushed)
	first := branch.fetch(t)

	proxy.setDown(true)
	start := time.Now()
	changed := branchTestSummary(source1, "a", "b")
	_, err = w.Write(ctx, changed)
	require.Error(t, err)
	assert.False(t, errors.Is(err, ErrOtherWriter))
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, first, branch.fetch(t))

	proxy.setDown(false)
	pushed, err = w.Write(ctx, changed)
	require.NoError(t, err)
	assert.True(t, pushed, "the state a failed write missed is pushed by the next")
	head := branch.fetch(t)
	assert.Contains(t, branch.files(t, head), "wds1/core/ConfigMap/default/b.yaml")
}

func TestStatusBranchWriterKeepsSecretsOut(t *testing.T) {
	ctx := context.Background()
	srv := gittest.NewHTTPServer(t, nil)
	repo := srv.NewRepo(t, "config")
	source1 := repo.Commit(t, "the source")
	repo.Push(t, "main")
	w := newTestBranchWriter(t, repo.URL, "test writer", source.Credentials{})

	// A WDS named "summary": git orders the file summary.yaml before the
	// directory summary/, which fsck checks.
	s := Summary{SourceCommit: source1, Spaces: []SpaceSummary{{Name: "summary", Objects: []ObjectSummary{{
		Version: "v1", Kind: "Secret", Namespace: "app", Name: "db-password",
		WECs: []WECObjectStatus{{WEC: "cluster1", Synced: true, Ready: true,
			Status: map[string]any{"data": map[string]any{"password": "PLANTED-SECRET-VALUE"}}}},
	}, {
		Group: "example.com", Version: "v1", Kind: "Widget", Namespace: "app", Name: "w",
		Redact: []string{"$.credentials.token"},
		WECs: []WECObjectStatus{{WEC: "cluster1", Synced: true, Ready: true,
			Status: map[string]any{"phase": "Running", "credentials": map[string]any{"token": "PLANTED-REDACTED-TOKEN"}}}},
	}}}}}
	pushed, err := w.Write(ctx, s)
	require.NoError(t, err)
	require.True(t, pushed)

	repo.Git(t, "-C", repo.Bare, "fsck", "--strict", "--no-dangling")
	// Every object the server holds, blobs included.
	all := repo.Git(t, "-C", repo.Bare, "cat-file", "--batch-all-objects", "--batch")
	assert.Contains(t, all, "Running", "the objects were read")
	assert.Contains(t, all, "db-password")
	assert.NotContains(t, all, "PLANTED-SECRET-VALUE")
	assert.NotContains(t, all, "PLANTED-REDACTED-TOKEN")
}

// TestStatusBranchWritesWhatChanged: a commit after one object's status
// changed stores that object's file, the summary, the README and the
// directories above them, not the files of every object again; and the
// files are what RenderStatusFiles gives.
func TestStatusBranchWritesWhatChanged(t *testing.T) {
	srv := gittest.NewHTTPServer(t, nil)
	repo := srv.NewRepo(t, "fleet")
	repo.Write(t, map[string]string{"README.md": "fleet\n"})
	repo.Commit(t, "init")
	repo.Push(t, "main")
	w := newTestBranchWriter(t, repo.URL, "test", source.Credentials{})
	ctx := context.Background()
	var names []string
	for i := range 100 {
		names = append(names, fmt.Sprintf("cm%03d", i))
	}
	s := branchTestSummary("0123456789012345678901234567890123456789", names...)
	pushed, err := w.Write(ctx, s)
	require.NoError(t, err)
	require.True(t, pushed)
	branch := statusBranch{repo: repo}
	// held counts the objects the writer holds, and checks that they
	// are those of the branch's head: one snapshot, however many writes.
	held := func() int {
		t.Helper()
		n := 0
		iter, err := w.objects.IterEncodedObjects(plumbing.AnyObject)
		require.NoError(t, err)
		require.NoError(t, iter.ForEach(func(plumbing.EncodedObject) error { n++; return nil }))
		head := branch.fetch(t)
		reachable := strings.Split(branch.git(t, "rev-list", "--objects", "--no-walk", head), "\n")
		assert.Equal(t, len(reachable), n, "the writer holds the head's commit, trees and blobs, nothing more")
		return n
	}
	// onServer counts the objects of the server's repository.
	onServer := func() int {
		t.Helper()
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(repo.Git(t, "-C", repo.Bare, "count-objects", "-v")), "\n") {
			if k, v, ok := strings.Cut(line, ": "); ok && (k == "count" || k == "in-pack") {
				c, err := strconv.Atoi(v)
				require.NoError(t, err)
				n += c
			}
		}
		return n
	}
	before, sentBefore := held(), onServer()
	s.Spaces[0].Objects[42].WECs[0].Ready = false
	pushed, err = w.Write(ctx, s)
	require.NoError(t, err)
	require.True(t, pushed)
	assert.Equal(t, before, held(), "the same files: as many objects as before")

	head := branch.fetch(t)
	// What the push sent: the commit, the root, wds1, core, ConfigMap and
	// default trees, cm042's file, summary.yaml and README.md.
	assert.Equal(t, 9, onServer()-sentBefore, "a push sends what changed, not what the branch holds")
	want, err := RenderStatusFiles(s)
	require.NoError(t, err)
	for _, p := range []string{"summary.yaml", "wds1/core/ConfigMap/default/cm042.yaml", "wds1/core/ConfigMap/default/cm007.yaml"} {
		assert.Equal(t, string(want[p]), branch.git(t, "show", head+":"+p)+"\n", p)
	}

	// writeAndCheck writes s and checks that the branch holds its files.
	writeAndCheck := func(paths ...string) {
		t.Helper()
		pushed, err := w.Write(ctx, s)
		require.NoError(t, err)
		require.True(t, pushed)
		head := branch.fetch(t)
		want, err := RenderStatusFiles(s)
		require.NoError(t, err)
		for _, p := range paths {
			assert.Equal(t, string(want[p]), branch.git(t, "show", head+":"+p)+"\n", p)
		}
	}
	// A person's commit on the branch, which the writer has not seen: its
	// push is refused, it fetches that head and commits on top of it the
	// whole snapshot, the files that head dropped included.
	repo.Git(t, "checkout", "--quiet", "-B", "gitstellar-status", head)
	repo.Git(t, "rm", "--quiet", "-r", "wds1")
	person := repo.Commit(t, "a person empties the branch")
	repo.Push(t, "gitstellar-status")
	repo.Git(t, "checkout", "--quiet", "main")
	s.Spaces[0].Objects[42].WECs[0].Ready = true
	writeAndCheck("wds1/core/ConfigMap/default/cm007.yaml", "wds1/core/ConfigMap/default/cm042.yaml")
	assert.Equal(t, person, branch.git(t, "rev-parse", branch.fetch(t)+"^"), "built on the person's commit")
	s.Spaces[0].Objects[7].WECs[0].Ready = false
	writeAndCheck("wds1/core/ConfigMap/default/cm007.yaml")
	held()
	head2 := branch.fetch(t)

	// A writer started again holds nothing: it fetches the head (its last
	// commit only) and goes on from there.
	again := newTestBranchWriter(t, repo.URL, "test", source.Credentials{})
	s.Spaces[0].Objects[7].WECs[0].Ready = true
	pushed, err = again.Write(ctx, s)
	require.NoError(t, err)
	require.True(t, pushed)
	assert.Equal(t, head2, branch.git(t, "rev-parse", branch.fetch(t)+"^"))

	// Another one started again records a revision's errors: the files
	// of the head it keeps are not held, and need not be.
	errorsOnly := newTestBranchWriter(t, repo.URL, "test", source.Credentials{})
	pushed, err = errorsOnly.WriteErrors(ctx, []string{"wds1/x.yaml:1: broken"})
	require.NoError(t, err)
	require.True(t, pushed)
	head3 := branch.fetch(t)
	assert.Contains(t, branch.files(t, head3), "wds1/core/ConfigMap/default/cm007.yaml", "the objects' files are kept")
	assert.Contains(t, branch.git(t, "show", head3+":summary.yaml"), "wds1/x.yaml:1: broken")
}

// TestStatusBranchHostileHead: whoever can push the status branch controls
// its head. The writer holds of a fetched head its commit, trees and
// summary.yaml, within a bound: a large file pushed there is never read
// into memory, a head larger than the bound is built upon without its
// trees, and the next commit is the whole state either way.
func TestStatusBranchHostileHead(t *testing.T) {
	ctx := context.Background()
	big := strings.Repeat("0123456789abcdef", 8<<10) // 128 KiB
	bigBlob := plumbing.ComputeHash(plumbing.BlobObject, []byte(big))
	s := branchTestSummary("0123456789012345678901234567890123456789", "a", "b")
	for _, c := range []struct {
		name  string
		limit int64
	}{{"within the bound, the large files left out", 64 << 10}, {"beyond the bound, the trees left out too", 64}} {
		t.Run(c.name, func(t *testing.T) {
			srv := gittest.NewHTTPServer(t, nil)
			repo := srv.NewRepo(t, "fleet")
			repo.Write(t, map[string]string{"README.md": "fleet\n"})
			repo.Commit(t, "init")
			repo.Push(t, "main")
			branch := statusBranch{repo: repo}
			// Someone pushes a status branch with a large file and a large
			// summary.yaml.
			repo.Git(t, "checkout", "--quiet", "--orphan", "gitstellar-status")
			repo.Write(t, map[string]string{"big.bin": big, "summary.yaml": "sourceCommit: x\n# " + big + "\n"})
			pushedHead := repo.Commit(t, "a large head")
			repo.Push(t, "gitstellar-status")
			repo.Git(t, "checkout", "--quiet", "main")

			w := newTestBranchWriter(t, repo.URL, "test", source.Credentials{})
			w.headLimit = c.limit
			head, err := w.fetchHead(ctx)
			require.NoError(t, err)
			assert.Equal(t, pushedHead, head.Hash.String())
			assert.Error(t, w.objects.HasEncodedObject(bigBlob), "the large file is not held")
			_, treeErr := head.Tree()
			assert.Equal(t, c.limit > 1024, treeErr == nil, "the trees are held within the bound only: %v", treeErr)

			pushed, err := w.Write(ctx, s)
			require.NoError(t, err)
			require.True(t, pushed)
			now := branch.fetch(t)
			assert.Equal(t, pushedHead, branch.git(t, "rev-parse", now+"^"), "built on the head")
			files := branch.files(t, now)
			assert.Contains(t, files, "wds1/core/ConfigMap/default/a.yaml")
			assert.NotContains(t, files, "big.bin", "the commit is the whole state")
		})
	}
}
