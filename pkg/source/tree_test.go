package source_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

const planted = "planted-outside-value-7f3a"

// outside is a directory beside the repository holding a file with a
// planted value that nothing may read.
func outside(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret.yaml"), []byte("value: "+planted+"\n"), 0o644))
	return dir
}

func crafted(t *testing.T, entries ...gittest.Entry) *source.Tree {
	t.Helper()
	dir := t.TempDir()
	gittest.Craft(t, dir, "main", entries...)
	tree, _, err := source.OpenRevision(dir, "main")
	require.NoError(t, err)
	return tree
}

func TestTreeFollowsLinksInside(t *testing.T) {
	tree := crafted(t,
		gittest.File("a/b/c.yaml", "c: 1\n"),
		gittest.Symlink("a/link.yaml", "b/c.yaml"),
		gittest.Symlink("up", "a/b"),
		gittest.Symlink("a/b/back.yaml", "../../a/b/c.yaml"),
		gittest.Symlink("chain", "up"),
	)
	for _, name := range []string{"a/b/c.yaml", "a/link.yaml", "up/c.yaml", "a/b/back.yaml", "chain/c.yaml", "chain/back.yaml"} {
		b, err := fs.ReadFile(tree, name)
		require.NoError(t, err, name)
		assert.Equal(t, "c: 1\n", string(b), name)
	}
	canon, err := tree.Canonical("chain/back.yaml")
	require.NoError(t, err)
	assert.Equal(t, "a/b/c.yaml", canon)
	entries, err := tree.ReadDir("a")
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Equal(t, "link.yaml", entries[1].Name())
	assert.Equal(t, fs.ModeSymlink, entries[1].Type(), "ReadDir lists a link as a link")
	require.NoError(t, fstest.TestFS(tree, "a/b/c.yaml", "a/link.yaml"))
}

func TestTreeRefusesLinksOutside(t *testing.T) {
	out := outside(t)
	tree := crafted(t,
		gittest.File("ok.yaml", "ok: 1\n"),
		gittest.Symlink("abs", filepath.Join(out, "secret.yaml")),
		gittest.Symlink("zero", "/dev/zero"),
		gittest.Symlink("climb", "../"+filepath.Base(out)+"/secret.yaml"),
		gittest.Symlink("d/deep", "../../etc/passwd"),
		gittest.Symlink("loop1", "loop2"),
		gittest.Symlink("loop2", "loop1"),
		gittest.Symlink("self", "."),
		gittest.Symlink("sneak", "self/../.."),
		gittest.Symlink("empty", ""),
		gittest.Entry{Path: "sub", Mode: filemode.Submodule, Content: "0123456789012345678901234567890123456789"},
	)
	cases := map[string]string{
		"abs":      "symbolic link abs → \"" + filepath.Join(out, "secret.yaml") + "\" leads outside the repository: the target is absolute",
		"zero":     "symbolic link zero → \"/dev/zero\" leads outside the repository: the target is absolute",
		"climb":    "leads outside the repository",
		"d/deep":   "symbolic link d/deep → \"../../etc/passwd\" leads outside the repository",
		"loop1":    "more than 40 symbolic links (a loop?)",
		"sneak":    "leads outside the repository",
		"empty":    "is empty",
		"sub":      "not a regular file: a submodule",
		"missing":  "file does not exist",
		"../x":     "invalid argument",
		"/etc/ssh": "invalid argument",
	}
	for name, want := range cases {
		_, err := fs.ReadFile(tree, name)
		require.Error(t, err, name)
		assert.ErrorContains(t, err, want, name)
		assert.NotContains(t, err.Error(), planted)
	}
	self, err := tree.Canonical("self/self/self")
	require.NoError(t, err)
	assert.Equal(t, ".", self, "a link to its own directory resolves (a walker must notice it)")
}

// TestTreeDuplicateNames: a crafted tree with a link x → outside and a
// directory x/ (what made checkouts write through the link) reads
// nothing outside and writes nothing anywhere.
func TestTreeDuplicateNames(t *testing.T) {
	out := t.TempDir()
	tree := crafted(t, gittest.Symlink("x", out), gittest.File("x/file.yaml", "k: v\n"))
	_, err := fs.ReadFile(tree, "x/file.yaml")
	if err != nil {
		assert.ErrorContains(t, err, "leads outside the repository")
	}
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing is written outside")
}

func TestDirTree(t *testing.T) {
	out := outside(t)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "a"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a/c.yaml"), []byte("c: 1\n"), 0o644))
	require.NoError(t, os.Symlink("a/c.yaml", filepath.Join(dir, "in.yaml")))
	require.NoError(t, os.Symlink(filepath.Join(out, "secret.yaml"), filepath.Join(dir, "abs.yaml")))
	require.NoError(t, os.Symlink("../"+filepath.Base(out)+"/secret.yaml", filepath.Join(dir, "rel.yaml")))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero.yaml")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o644))
	require.NoError(t, os.Symlink("fifo.yaml", filepath.Join(dir, "to-fifo.yaml")))

	tree, closeTree, err := source.DirTree(dir)
	require.NoError(t, err)
	defer closeTree()
	b, err := fs.ReadFile(tree, "in.yaml")
	require.NoError(t, err)
	assert.Equal(t, "c: 1\n", string(b))

	done := make(chan struct{})
	go func() {
		defer close(done)
		for name, want := range map[string]string{
			"abs.yaml":     "leads outside the repository",
			"rel.yaml":     "leads outside the repository",
			"zero.yaml":    "leads outside the repository",
			"fifo.yaml":    "not a regular file: a FIFO",
			"to-fifo.yaml": "not a regular file: a FIFO",
		} {
			_, err := fs.ReadFile(tree, name)
			assert.ErrorContains(t, err, want, name)
			if err != nil {
				assert.NotContains(t, err.Error(), planted)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
}
