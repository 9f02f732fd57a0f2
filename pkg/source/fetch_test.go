package source_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

func read(t *testing.T, rev *source.Revision, path string) string {
	t.Helper()
	b, err := fs.ReadFile(rev.Tree, path)
	require.NoError(t, err)
	return string(b)
}

func fetcher(t *testing.T, url string, ref string, creds source.Credentials) *source.Fetcher {
	t.Helper()
	r, err := source.ParseRef(ref)
	require.NoError(t, err)
	f, err := source.NewFetcher(source.Options{URL: url, Ref: r, CacheDir: t.TempDir(), Credentials: creds})
	require.NoError(t, err)
	return f
}

func TestFetchOverHTTP(t *testing.T) {
	ctx := context.Background()
	srv := gittest.NewHTTPServer(t, &gittest.BasicAuth{Username: "alice", Password: "s3cret-pass"})
	repo := srv.NewRepo(t, "config")
	repo.Write(t, map[string]string{"wds1/a.yaml": "a: 1\n", "bin/run.sh": "#!/bin/sh\n"})
	first := repo.Commit(t, "first")
	repo.Push(t, "main")

	f := fetcher(t, repo.URL, "main", source.Credentials{Username: "alice", Password: []byte("s3cret-pass")})
	rev, changed, err := f.Fetch(ctx)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, first, rev.Commit)
	assert.Equal(t, "first", rev.Message)
	assert.Equal(t, "branch main", rev.Ref)
	assert.Equal(t, "a: 1\n", read(t, rev, "wds1/a.yaml"))

	t.Run("an unchanged ref does no work", func(t *testing.T) {
		before := srv.Requests.Load()
		again, changed, err := f.Fetch(ctx)
		require.NoError(t, err)
		assert.False(t, changed)
		assert.Equal(t, rev, again)
		assert.Equal(t, int64(1), srv.Requests.Load()-before, "one ref listing, no fetch")
	})

	t.Run("a new commit", func(t *testing.T) {
		repo.Write(t, map[string]string{"wds1/a.yaml": "a: 2\n"})
		second := repo.Commit(t, "second")
		repo.Push(t, "main")
		next, changed, err := f.Fetch(ctx)
		require.NoError(t, err)
		assert.True(t, changed)
		assert.Equal(t, second, next.Commit)
		assert.Equal(t, "a: 2\n", read(t, next, "wds1/a.yaml"))
		rev = next
	})

	t.Run("force-pushed history", func(t *testing.T) {
		repo.Git(t, "reset", "--quiet", "--hard", first)
		repo.Write(t, map[string]string{"wds1/b.yaml": "b: 1\n"})
		rewritten := repo.Commit(t, "rewritten")
		repo.Push(t, "--force", "main")
		next, changed, err := f.Fetch(ctx)
		require.NoError(t, err)
		assert.True(t, changed)
		assert.Equal(t, rewritten, next.Commit)
		assert.Equal(t, "a: 1\n", read(t, next, "wds1/a.yaml"))
		assert.Equal(t, "b: 1\n", read(t, next, "wds1/b.yaml"))
		rev = next
	})

	t.Run("a deleted branch is an error and the last revision stays", func(t *testing.T) {
		repo.Git(t, "push", "--quiet", "origin", "main:other")
		other := fetcher(t, repo.URL, "other", source.Credentials{Username: "alice", Password: []byte("s3cret-pass")})
		got, _, err := other.Fetch(ctx)
		require.NoError(t, err)
		repo.Git(t, "push", "--quiet", "origin", "--delete", "other")
		_, _, err = other.Fetch(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "branch other not found")
		assert.Equal(t, got, other.Current(), "the last good revision is kept")
		assert.Equal(t, "a: 1\n", read(t, other.Current(), "wds1/a.yaml"))
	})

	t.Run("wrong credentials", func(t *testing.T) {
		bad := fetcher(t, repo.URL, "main", source.Credentials{Username: "alice", Password: []byte("wrong-pass")})
		_, _, err := bad.Fetch(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "authentication failed")
		assert.NotContains(t, err.Error(), "wrong-pass")
		none := fetcher(t, repo.URL, "main", source.Credentials{})
		_, _, err = none.Fetch(ctx)
		assert.ErrorContains(t, err, "authentication")
	})

	t.Run("a token", func(t *testing.T) {
		tok := fetcher(t, repo.URL, "main", source.Credentials{Username: "alice", Token: []byte("s3cret-pass")})
		got, _, err := tok.Fetch(ctx)
		require.NoError(t, err)
		assert.Equal(t, rev.Commit, got.Commit)
	})
}

func TestFetchTagsAndCommits(t *testing.T) {
	ctx := context.Background()
	srv := gittest.NewHTTPServer(t, nil)
	repo := srv.NewRepo(t, "tags")
	repo.Write(t, map[string]string{"v.yaml": "v: 1\n"})
	one := repo.Commit(t, "one")
	repo.Git(t, "tag", "-a", "v1", "-m", "release one")
	repo.Write(t, map[string]string{"v.yaml": "v: 2\n"})
	two := repo.Commit(t, "two")
	repo.Push(t, "main", "--tags")

	for _, tc := range []struct{ ref, want, content string }{
		{"tag:v1", one, "v: 1\n"},
		{"refs/tags/v1", one, "v: 1\n"},
		{"refs/heads/main", two, "v: 2\n"},
		{"HEAD", two, "v: 2\n"},
		{one, one, "v: 1\n"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			rev, _, err := fetcher(t, repo.URL, tc.ref, source.Credentials{}).Fetch(ctx)
			require.NoError(t, err)
			assert.Equal(t, tc.want, rev.Commit)
			assert.Equal(t, tc.content, read(t, rev, "v.yaml"))
		})
	}

	t.Run("a local path", func(t *testing.T) {
		rev, _, err := fetcher(t, repo.Bare, "main", source.Credentials{}).Fetch(ctx)
		require.NoError(t, err)
		assert.Equal(t, two, rev.Commit)
	})

	t.Run("an unknown commit", func(t *testing.T) {
		_, _, err := fetcher(t, repo.URL, "0123456789012345678901234567890123456789", source.Credentials{}).Fetch(ctx)
		assert.ErrorContains(t, err, "0123456789012345678901234567890123456789")
	})
}

func TestFetchOverSSH(t *testing.T) {
	ctx := context.Background()
	srv := gittest.NewHTTPServer(t, nil) // for its repository root
	repo := srv.NewRepo(t, "ssh")
	repo.Write(t, map[string]string{"x.yaml": "x: 1\n"})
	head := repo.Commit(t, "over ssh")
	repo.Push(t, "main")
	sshd := gittest.NewSSHServer(t, srv.Root)

	rev, _, err := fetcher(t, sshd.URL("ssh"), "main", source.Credentials{PrivateKey: sshd.ClientKey, KnownHosts: sshd.KnownHosts}).Fetch(ctx)
	require.NoError(t, err)
	assert.Equal(t, head, rev.Commit)

	t.Run("an unknown or changed host key is refused", func(t *testing.T) {
		other := gittest.NewSSHServer(t, srv.Root)
		_, _, err := fetcher(t, sshd.URL("ssh"), "main", source.Credentials{PrivateKey: sshd.ClientKey, KnownHosts: other.KnownHosts}).Fetch(ctx)
		assert.ErrorContains(t, err, "knownhosts: key is unknown")

		// The other server's key under this server's address: a changed key.
		_, otherKey, _ := strings.Cut(string(other.KnownHosts), " ")
		hostPart, _, _ := strings.Cut(string(sshd.KnownHosts), " ")
		changed := []byte(hostPart + " " + otherKey)
		_, _, err = fetcher(t, sshd.URL("ssh"), "main", source.Credentials{PrivateKey: sshd.ClientKey, KnownHosts: changed}).Fetch(ctx)
		assert.ErrorContains(t, err, "knownhosts: key mismatch")
	})

	t.Run("known hosts are required", func(t *testing.T) {
		_, err := source.NewFetcher(source.Options{URL: sshd.URL("ssh"), Ref: source.Ref{Branch: "main"}, CacheDir: t.TempDir(),
			Credentials: source.Credentials{PrivateKey: sshd.ClientKey}})
		assert.ErrorContains(t, err, "known_hosts")
	})

	t.Run("a key the server does not accept", func(t *testing.T) {
		other := gittest.NewSSHServer(t, srv.Root)
		_, _, err := fetcher(t, sshd.URL("ssh"), "main", source.Credentials{PrivateKey: other.ClientKey, KnownHosts: sshd.KnownHosts}).Fetch(ctx)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "PRIVATE KEY")
	})
}

func TestParseRef(t *testing.T) {
	for in, want := range map[string]source.Ref{
		"main":                 {Branch: "main"},
		"refs/heads/release-1": {Branch: "release-1"},
		"refs/tags/v1.2.3":     {Tag: "v1.2.3"},
		"tag:v1":               {Tag: "v1"},
		"HEAD":                 {Head: true},
		"0123456789abcdef0123456789abcdef01234567": {Commit: "0123456789abcdef0123456789abcdef01234567"},
	} {
		got, err := source.ParseRef(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "refs/pull/1/head"} {
		_, err := source.ParseRef(bad)
		assert.Error(t, err, bad)
	}
}
