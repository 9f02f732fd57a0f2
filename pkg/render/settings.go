package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"sigs.k8s.io/yaml"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// SettingsFile is the optional file of repository-wide settings, at the
// root of the rendered directory.
const SettingsFile = "gitstellar.yaml"

// Settings are the repository-wide settings.
type Settings struct {
	// Ignore lists patterns, in .gitignore syntax, of paths not to read.
	// Files whose names start with "." and files that are not .yaml, .yml
	// or .json are never read.
	Ignore []string `json:"ignore,omitempty"`
	// Adopt "unmanaged" puts gitstellar.io/adopt: unmanaged on every
	// BindingPolicy that has no gitstellar.io/adopt annotation: objects in
	// the WECs that gitstellar did not create are taken over unless another
	// GitOps tool manages them (KubeStellar's behaviour). Empty: an object
	// already in a WEC is a conflict unless its policy or WDS object says
	// otherwise.
	Adopt string `json:"adopt,omitempty"`
}

// readSettings reads gitstellar.yaml, a regular file of the layout's
// root (a symbolic link to one inside the repository is followed).
func (r *renderer) readSettings() (Settings, *Error) {
	var s Settings
	b, err := r.readFile(r.name(SettingsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, &Error{Location: Location{File: SettingsFile}, Message: unwrapPathError(err).Error()}
	}
	if err := yaml.UnmarshalStrict(b, &s); err != nil {
		return s, &Error{Location: Location{File: SettingsFile, Line: yamlErrorLine(err)}, Message: cleanYAMLError(err)}
	}
	if s.Adopt != "" && s.Adopt != gitstellarv1alpha1.AdoptUnmanaged {
		return s, &Error{Location: Location{File: SettingsFile}, Message: fmt.Sprintf("adopt: %q is not a choice; the one choice is %q", s.Adopt, gitstellarv1alpha1.AdoptUnmanaged)}
	}
	return s, nil
}

// ignorer tells which paths (slash-separated, relative to the root) are
// not read.
type ignorer struct {
	matcher gitignore.Matcher
}

func newIgnorer(patterns []string) ignorer {
	var ps []gitignore.Pattern
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p != "" && !strings.HasPrefix(p, "#") {
			ps = append(ps, gitignore.ParsePattern(p, nil))
		}
	}
	return ignorer{matcher: gitignore.NewMatcher(ps)}
}

func (ig ignorer) ignored(rel string, isDir bool) bool {
	base := filepath.Base(rel)
	if strings.HasPrefix(base, ".") {
		return true
	}
	if !isDir && !isManifest(base) {
		return true
	}
	return ig.matcher.Match(strings.Split(filepath.ToSlash(rel), "/"), isDir)
}

func isManifest(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// yamlErrorLine finds "line N" in a YAML error message, or returns 0.
func yamlErrorLine(err error) int {
	msg := err.Error()
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 0
	}
	var n int
	if _, e := fmt.Sscanf(msg[i:], "line %d", &n); e != nil {
		return 0
	}
	return n
}

// cleanYAMLError drops the "error converting YAML to JSON: yaml: line N:"
// prefixes, the line being in the Location.
func cleanYAMLError(err error) string {
	msg := err.Error()
	for _, p := range []string{"error converting YAML to JSON: ", "error unmarshaling JSON: while decoding JSON: ", "yaml: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	if strings.HasPrefix(msg, "line ") {
		if i := strings.Index(msg, ": "); i > 0 {
			msg = msg[i+2:]
		}
	}
	return string(bytes.TrimSpace([]byte(msg)))
}
