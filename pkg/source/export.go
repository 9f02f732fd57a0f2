package source

import (
	"fmt"
	"os"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Export writes the files of a revision of a local repository into dir
// (created if needed) and returns its commit. rev is anything git
// understands as a revision: HEAD, a branch, a tag, origin/main, a commit,
// HEAD~1.
func Export(repoPath, rev, dir string) (string, error) {
	repo, err := git.PlainOpenWithOptions(repoPath, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return "", fmt.Errorf("%s: %w", repoPath, err)
	}
	hash, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return "", fmt.Errorf("revision %q: %w", rev, err)
	}
	c, err := repo.CommitObject(*hash)
	if err != nil {
		return "", fmt.Errorf("revision %q: %w", rev, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := writeTree(c, dir); err != nil {
		return "", fmt.Errorf("revision %q: %w", rev, err)
	}
	return c.Hash.String(), nil
}

// Toplevel is the root of the working tree holding path.
func Toplevel(path string) (string, error) {
	repo, err := git.PlainOpenWithOptions(path, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return wt.Filesystem.Root(), nil
}
