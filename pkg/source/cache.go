package source

import (
	"errors"
	"fmt"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// CacheObjectMemory bounds the decoded Git objects a cache repository keeps
// in memory. go-git's default (96 MiB per repository) held every blob a
// status branch push read, and a pack index keeps lookups fast without it.
const CacheObjectMemory = 4 * cache.MiByte

// OpenBareCache opens the bare repository at path, creating it with the
// remote "origin" at remote when absent, with at most CacheObjectMemory of
// decoded objects in memory.
func OpenBareCache(path, remote string) (*git.Repository, error) {
	storage := filesystem.NewStorage(osfs.New(path), cache.NewObjectLRU(CacheObjectMemory))
	repo, err := git.Open(storage, nil)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		if repo, err = git.Init(storage, nil); err == nil {
			_, err = repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{remote}})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", path, err)
	}
	return repo, nil
}
