package source

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Credentials authenticate to the remote. Over HTTPS: Username and
// Password, or a Token (sent as the password of user "git" unless Username
// is set). Over SSH: a PrivateKey (PEM or OpenSSH) with an optional
// Passphrase, and KnownHosts, which is required unless
// InsecureIgnoreHostKey is set.
//
// The values are secrets: they never appear in errors or logs.
type Credentials struct {
	Username   string
	Password   []byte
	Token      []byte
	PrivateKey []byte
	Passphrase []byte
	KnownHosts []byte
	// InsecureIgnoreHostKey accepts any SSH host key. Only for tests and
	// throw-away setups.
	InsecureIgnoreHostKey bool
}

// CredentialFiles names files holding credentials, as the command line
// gives them.
type CredentialFiles struct {
	Username       string // the user name itself, not a file
	PasswordFile   string
	TokenFile      string
	PrivateKeyFile string
	PassphraseFile string
	KnownHostsFile string
}

// Load reads the files.
func (f CredentialFiles) Load() (Credentials, error) {
	c := Credentials{Username: f.Username}
	for _, x := range []struct {
		path string
		into *[]byte
		what string
	}{
		{f.PasswordFile, &c.Password, "password"},
		{f.TokenFile, &c.Token, "token"},
		{f.PrivateKeyFile, &c.PrivateKey, "private key"},
		{f.PassphraseFile, &c.Passphrase, "passphrase"},
		{f.KnownHostsFile, &c.KnownHosts, "known_hosts"},
	} {
		if x.path == "" {
			continue
		}
		b, err := os.ReadFile(x.path)
		if err != nil {
			return c, fmt.Errorf("read %s file: %w", x.what, err)
		}
		*x.into = b
	}
	c.Password = trimNewline(c.Password)
	c.Token = trimNewline(c.Token)
	c.Passphrase = trimNewline(c.Passphrase)
	return c, nil
}

// FromSecretData reads credentials from a Secret's data, with Flux's key
// names: username, password, bearerToken or token, identity, identity.pub
// (ignored), password for the key passphrase, known_hosts.
func FromSecretData(data map[string][]byte) Credentials {
	c := Credentials{
		Username:   string(data["username"]),
		Password:   trimNewline(data["password"]),
		Token:      trimNewline(firstOf(data["bearerToken"], data["token"])),
		PrivateKey: data["identity"],
		KnownHosts: data["known_hosts"],
	}
	if len(c.PrivateKey) > 0 {
		c.Passphrase, c.Password = c.Password, nil
	}
	return c
}

func firstOf(bs ...[]byte) []byte {
	for _, b := range bs {
		if len(b) > 0 {
			return b
		}
	}
	return nil
}

func trimNewline(b []byte) []byte {
	return []byte(strings.TrimRight(string(b), "\r\n"))
}

// errSSHNeedsKnownHosts refuses an SSH remote without known hosts.
var errSSHNeedsKnownHosts = errors.New("SSH needs known_hosts to check the server's host key (or, insecurely, to be told to ignore it)")

// AuthFor returns the go-git auth method for a remote URL: nil when the
// remote needs none (a local path, or HTTP without credentials). Errors
// name the remote without its password and never hold a secret.
func (c Credentials) AuthFor(remote string) (transport.AuthMethod, error) {
	scheme := schemeOf(remote)
	switch scheme {
	case "ssh":
		if len(c.PrivateKey) == 0 {
			return nil, fmt.Errorf("%s: an SSH remote needs a private key", RedactURL(remote))
		}
		user := c.Username
		if user == "" {
			user = userOf(remote, "git")
		}
		keys, err := gitssh.NewPublicKeys(user, c.PrivateKey, string(c.Passphrase))
		if err != nil {
			return nil, fmt.Errorf("%s: private key: cannot be parsed (wrong format or passphrase)", RedactURL(remote))
		}
		switch {
		case c.InsecureIgnoreHostKey:
			keys.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec // asked for explicitly
		case len(c.KnownHosts) == 0:
			return nil, fmt.Errorf("%s: %w", RedactURL(remote), errSSHNeedsKnownHosts)
		default:
			cb, err := knownHostsCallback(c.KnownHosts)
			if err != nil {
				return nil, fmt.Errorf("%s: known_hosts: %w", RedactURL(remote), err)
			}
			keys.HostKeyCallback = cb
		}
		return keys, nil
	case "http", "https":
		switch {
		case len(c.Token) > 0:
			user := c.Username
			if user == "" {
				user = "git"
			}
			return &githttp.BasicAuth{Username: user, Password: string(c.Token)}, nil
		case c.Username != "" || len(c.Password) > 0:
			return &githttp.BasicAuth{Username: c.Username, Password: string(c.Password)}, nil
		}
	}
	return nil, nil
}

// knownHostsCallback checks host keys against known_hosts content.
func knownHostsCallback(content []byte) (ssh.HostKeyCallback, error) {
	f, err := os.CreateTemp("", "gitstellar-known-hosts-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(content); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return knownhosts.New(f.Name())
}

// schemeOf returns the transport of a remote: ssh for scp-like
// user@host:path, file for a local path.
func schemeOf(remote string) string {
	if u, err := url.Parse(remote); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		return u.Scheme
	}
	if i := strings.Index(remote, ":"); i > 0 && !strings.Contains(remote[:i], "/") {
		return "ssh"
	}
	return "file"
}

func userOf(remote, def string) string {
	if u, err := url.Parse(remote); err == nil && u.User != nil && u.User.Username() != "" {
		return u.User.Username()
	}
	if i := strings.Index(remote, "@"); i > 0 && schemeOf(remote) == "ssh" && !strings.Contains(remote, "://") {
		return remote[:i]
	}
	return def
}

// RedactURL hides a URL's password and its query (where tokens go), for
// messages and logs.
func RedactURL(remote string) string {
	u, err := url.Parse(remote)
	if err != nil || (u.User == nil && u.RawQuery == "") {
		return remote
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if u.RawQuery != "" {
		u.RawQuery = "xxxxx"
	}
	return u.String()
}

// HostOnly is an HTTP transport that refuses every request to a host
// other than Host: a redirect, or a registry's token realm, cannot send
// gitstellar elsewhere.
type HostOnly struct {
	Host string
	// Inner makes the requests (http.DefaultTransport when nil).
	Inner http.RoundTripper
}

func (h HostOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != h.Host {
		return nil, fmt.Errorf("%s is not %s, the host named: refused", req.URL.Host, h.Host)
	}
	inner := h.Inner
	if inner == nil {
		inner = http.DefaultTransport
	}
	return inner.RoundTrip(req)
}
