package source

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Ref is what to follow: exactly one of Branch, Tag, Commit or Head. A
// Commit pins the revision; Head follows the remote's default branch.
type Ref struct {
	Branch string
	Tag    string
	Commit string
	Head   bool
}

var commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ParseRef reads the --ref flag: HEAD (the remote's default branch), a
// 40-hex commit, refs/heads/NAME, refs/tags/NAME, tag:NAME, or a plain
// NAME, which is a branch.
func ParseRef(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Ref{}, fmt.Errorf("empty ref")
	case s == "HEAD":
		return Ref{Head: true}, nil
	case commitPattern.MatchString(s):
		return Ref{Commit: s}, nil
	case strings.HasPrefix(s, "refs/heads/"):
		return Ref{Branch: strings.TrimPrefix(s, "refs/heads/")}, nil
	case strings.HasPrefix(s, "refs/tags/"):
		return Ref{Tag: strings.TrimPrefix(s, "refs/tags/")}, nil
	case strings.HasPrefix(s, "tag:"):
		return Ref{Tag: strings.TrimPrefix(s, "tag:")}, nil
	case strings.HasPrefix(s, "refs/"):
		return Ref{}, fmt.Errorf("ref %q: only refs/heads/ and refs/tags/ can be followed", s)
	}
	return Ref{Branch: s}, nil
}

// remoteName is the name of the ref on the remote.
func (r Ref) remoteName() plumbing.ReferenceName {
	switch {
	case r.Head:
		return plumbing.HEAD
	case r.Tag != "":
		return plumbing.NewTagReferenceName(r.Tag)
	case r.Branch != "":
		return plumbing.NewBranchReferenceName(r.Branch)
	}
	return ""
}

func (r Ref) String() string {
	switch {
	case r.Head:
		return "HEAD"
	case r.Commit != "":
		return r.Commit
	case r.Tag != "":
		return "tag " + r.Tag
	}
	return "branch " + r.Branch
}
