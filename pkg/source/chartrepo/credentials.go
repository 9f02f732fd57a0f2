package chartrepo

import (
	"fmt"
	"net/url"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/gitstellar/gitstellar/pkg/source"
)

// CredentialSet gives chart repositories their credentials: the operator's
// list of repository URL prefixes (http(s):// or oci://), each with a user
// name and a password or token. A request gets the credentials of the
// longest prefix its repository starts with, and only on that
// repository's host.
type CredentialSet []RepositoryCredentials

// RepositoryCredentials are one prefix's credentials.
type RepositoryCredentials struct {
	URL      string `json:"url"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// ParseCredentials reads a credential set (YAML: a list of url, username,
// password). Errors never quote a password.
func ParseCredentials(data []byte) (CredentialSet, error) {
	var set CredentialSet
	if err := yaml.UnmarshalStrict(data, &set); err != nil {
		return nil, fmt.Errorf("chart credentials: want a YAML list of url, username, password (%s)", firstLineOf(err.Error()))
	}
	for i, c := range set {
		u, err := url.Parse(c.URL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "oci") || u.User != nil {
			return nil, fmt.Errorf("chart credentials[%d]: url must be an http(s):// or oci:// repository, without credentials in it", i)
		}
		if c.Username == "" || c.Password == "" {
			return nil, fmt.Errorf("chart credentials[%d] (%s): username and password are required", i, source.RedactURL(c.URL))
		}
	}
	return set, nil
}

// For gives the credentials of a repository URL (or a URL inside it).
func (s CredentialSet) For(repository string) (Credentials, bool) {
	best := -1
	for i, c := range s {
		prefix := strings.TrimSuffix(c.URL, "/")
		if (repository == prefix || strings.HasPrefix(repository, prefix+"/")) && (best < 0 || len(prefix) > len(strings.TrimSuffix(s[best].URL, "/"))) {
			best = i
		}
	}
	if best < 0 {
		return Credentials{}, false
	}
	return Credentials{Username: s[best].Username, Password: s[best].Password}, true
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
