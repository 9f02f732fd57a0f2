package source

import (
	"fmt"

	"github.com/go-git/go-git/v5"
)

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
