package source

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"golang.org/x/crypto/ssh"
)

// trustedSSHKey is an SSH key commits may be signed with.
type trustedSSHKey struct {
	key   ssh.PublicKey
	label string // the key's comment or principals, for messages
}

func (k trustedSSHKey) String() string {
	s := "SSH key " + ssh.FingerprintSHA256(k.key)
	if k.label != "" {
		s += " (" + k.label + ")"
	}
	return s
}

const pgpPublicKeyBegin = "-----BEGIN PGP PUBLIC KEY BLOCK-----"

var privateKeyBegin = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY`)

// LoadCommitVerifier reads the trusted public keys of --verify-commits.
// Each file holds either OpenPGP public keys (one or more armored blocks,
// as `gpg --armor --export` writes them, or a binary keyring) or SSH
// public keys, one a line, in the formats of a .pub file, authorized_keys
// or git's gpg.ssh.allowedSignersFile ("principals [options] TYPE BASE64
// [comment]"); blank lines and # comments are skipped. Of the options, a
// namespaces="..." list that does not allow "git" leaves the key out;
// cert-authority, valid-after and valid-before are refused, as they are
// not implemented; the others are ignored. A file without a key is an
// error.
func LoadCommitVerifier(paths []string) (*CommitVerifier, error) {
	if len(paths) == 0 {
		return nil, errors.New("no key file: commit verification needs at least one file of trusted public keys")
	}
	v := &CommitVerifier{ssh: map[string]trustedSSHKey{}}
	for _, path := range paths {
		if err := v.load(path); err != nil {
			return nil, err
		}
	}
	if len(v.pgp)+len(v.ssh) == 0 {
		return nil, fmt.Errorf("no trusted key in %s: every key is restricted to namespaces other than git", strings.Join(paths, ", "))
	}
	return v, nil
}

// load adds the keys of one file.
func (v *CommitVerifier) load(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read key file: %w", err)
	}
	var n int
	switch {
	case privateKeyBegin.Match(data):
		return fmt.Errorf("key file %s holds a private key: give the public key", path)
	case bytes.Contains(data, []byte(pgpPublicKeyBegin)):
		n, err = v.addArmoredPGP(data)
	case len(data) > 0 && data[0]&0x80 != 0: // an OpenPGP packet tag
		n, err = v.addBinaryPGP(data)
	default:
		n, err = v.addSSH(data)
	}
	if err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	if n == 0 {
		return fmt.Errorf("key file %s: no public key found (expected OpenPGP or SSH public keys)", path)
	}
	return nil
}

// addArmoredPGP adds the keys of each armored public key block.
func (v *CommitVerifier) addArmoredPGP(data []byte) (int, error) {
	blocks := bytes.Split(data, []byte(pgpPublicKeyBegin))[1:]
	n := 0
	for i, block := range blocks {
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(append([]byte(pgpPublicKeyBegin), block...)))
		if err != nil {
			return n, fmt.Errorf("OpenPGP key block %d: %v", i+1, err)
		}
		n += v.addPGP(el)
	}
	return n, nil
}

func (v *CommitVerifier) addBinaryPGP(data []byte) (int, error) {
	el, err := openpgp.ReadKeyRing(bytes.NewReader(data))
	if err != nil {
		return 0, fmt.Errorf("OpenPGP keyring: %v", err)
	}
	return v.addPGP(el), nil
}

// addPGP adds the entities not known yet and says how many were read.
func (v *CommitVerifier) addPGP(el openpgp.EntityList) int {
	for _, e := range el {
		known := false
		for _, k := range v.pgp {
			known = known || bytes.Equal(k.PrimaryKey.Fingerprint, e.PrimaryKey.Fingerprint)
		}
		if !known {
			v.pgp = append(v.pgp, e)
		}
	}
	return len(el)
}

// addSSH adds the keys of SSH public key lines.
func (v *CommitVerifier) addSSH(data []byte) (int, error) {
	n := 0
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, forGit, err := parseSSHKeyLine(line)
		if err != nil {
			return n, fmt.Errorf("line %d: %w", i+1, err)
		}
		n++
		if forGit {
			v.ssh[string(key.key.Marshal())] = key
		}
	}
	return n, nil
}

// parseSSHKeyLine reads "[principals] [options] TYPE BASE64 [comment]".
// forGit is false when a namespaces option does not allow git.
func parseSSHKeyLine(line string) (key trustedSSHKey, forGit bool, err error) {
	fields := splitOutsideQuotes(line, func(r rune) bool { return r == ' ' || r == '\t' })
	var keyErr error
	for i := 0; i+1 < len(fields); i++ {
		if !looksLikeSSHKeyType(fields[i]) {
			continue
		}
		pub, err := parseSSHKey(fields[i], fields[i+1])
		if err != nil {
			if keyErr == nil {
				keyErr = err
			}
			continue
		}
		allowed, err := sshKeyOptions(fields[:i])
		if err != nil {
			return key, false, err
		}
		label := strings.Join(fields[i+2:], " ")
		if label == "" && i > 0 && !strings.Contains(fields[0], "=") { // principals, not options
			label = fields[0]
		}
		return trustedSSHKey{key: pub, label: label}, allowed, nil
	}
	if keyErr != nil {
		return key, false, keyErr
	}
	return key, false, errors.New("not an SSH public key: expected [principals] [options] TYPE BASE64 [comment], as in a .pub file or git's allowed signers")
}

func looksLikeSSHKeyType(s string) bool {
	return strings.HasPrefix(s, "ssh-") || strings.HasPrefix(s, "ecdsa-sha2-") || strings.HasPrefix(s, "sk-")
}

// parseSSHKey reads the TYPE and BASE64 fields of a public key line.
func parseSSHKey(typ, b64 string) (ssh.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%s key: not valid base64", typ)
	}
	key, err := ssh.ParsePublicKey(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s key: %v", typ, err)
	case key.Type() != typ:
		return nil, fmt.Errorf("%s key: the key is of type %s", typ, key.Type())
	}
	if _, isCert := key.(*ssh.Certificate); isCert {
		return nil, fmt.Errorf("%s: SSH certificates are not supported: list the signing key itself", typ)
	}
	return key, nil
}

// sshKeyOptions reads the principals and options before a key: forGit is
// false when a namespaces option does not allow "git".
func sshKeyOptions(fields []string) (forGit bool, err error) {
	forGit = true
	for _, field := range fields {
		for _, opt := range splitOutsideQuotes(field, func(r rune) bool { return r == ',' }) {
			name, value, _ := strings.Cut(opt, "=")
			switch strings.ToLower(name) {
			case "namespaces":
				forGit = matchPatternList(strings.Trim(value, `"`), sshSigNamespace)
			case "cert-authority", "valid-after", "valid-before":
				return false, fmt.Errorf("option %s is not supported: list the signing keys themselves, without it", name)
			}
		}
	}
	return forGit, nil
}

// splitOutsideQuotes splits s at the runes sep matches, except inside
// double quotes, dropping empty parts.
func splitOutsideQuotes(s string, sep func(rune) bool) []string {
	quoted := false
	return strings.FieldsFunc(s, func(r rune) bool {
		if r == '"' {
			quoted = !quoted
		}
		return !quoted && sep(r)
	})
}

// matchPatternList matches s against an OpenSSH pattern list: comma
// separated patterns with * and ?, where a pattern starting with ! excludes.
func matchPatternList(list, s string) bool {
	matched := false
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if negated, ok := strings.CutPrefix(p, "!"); ok {
			if matchPattern(negated, s) {
				return false
			}
		} else if matchPattern(p, s) {
			matched = true
		}
	}
	return matched
}

// matchPattern matches s against a pattern with * (any run) and ? (any
// one character).
func matchPattern(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if matchPattern(p[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && matchPattern(p[1:], s[1:])
	}
	return s != "" && p[0] == s[0] && matchPattern(p[1:], s[1:])
}
