package source_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

func need(t *testing.T, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is needed: %v", p, err)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// sshKey makes a key pair with ssh-keygen and returns the private key's
// path and the public key line.
func sshKey(t *testing.T, typ, comment string) (private, public string) {
	t.Helper()
	private = filepath.Join(t.TempDir(), "id_"+typ)
	args := []string{"-q", "-t", typ, "-N", "", "-C", comment, "-f", private}
	if typ == "rsa" {
		args = append(args, "-b", "2048")
	}
	run(t, "ssh-keygen", args...)
	pub, err := os.ReadFile(private + ".pub")
	require.NoError(t, err)
	return private, string(pub)
}

func sshFingerprint(t *testing.T, line string) string {
	t.Helper()
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	require.NoError(t, err)
	return ssh.FingerprintSHA256(key)
}

// gnupg gives the test a GnuPG home of its own, and stops its agent at the
// end.
func gnupg(t *testing.T) {
	t.Helper()
	need(t, "gpg", "gpgconf")
	home := t.TempDir()
	t.Setenv("GNUPGHOME", home)
	t.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
		_ = cmd.Run()
	})
}

// gpgKey makes a signing key without passphrase in the test's GnuPG home
// and returns its armored public key and fingerprint.
func gpgKey(t *testing.T, uid string) (armored, fingerprint string) {
	t.Helper()
	run(t, "gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-gen-key", uid, "ed25519", "sign", "never")
	armored = run(t, "gpg", "--batch", "--armor", "--export", uid)
	for _, line := range strings.Split(run(t, "gpg", "--batch", "--with-colons", "--fingerprint", uid), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" && fingerprint == "" {
			fingerprint = f[9]
		}
	}
	require.NotEmpty(t, fingerprint)
	return armored, fingerprint
}

func sshSigning(key string) []string {
	return []string{"-c", "gpg.format=ssh", "-c", "user.signingKey=" + key}
}

func gpgSigning(uid string) []string {
	return []string{"-c", "gpg.format=openpgp", "-c", "user.signingKey=" + uid}
}

// signedCommit commits the working clone with `git commit -S` and the
// given signing configuration.
func signedCommit(t *testing.T, repo *gittest.Repo, message string, signing []string) string {
	t.Helper()
	repo.Write(t, map[string]string{"message.txt": message + "\n"})
	repo.Git(t, "add", "--all")
	repo.Git(t, append(signing, "commit", "--quiet", "-S", "-m", message)...)
	return repo.Head(t)
}

// tamper replaces the head commit by a copy whose message is changed but
// whose signature is kept, and returns the copy.
func tamper(t *testing.T, repo *gittest.Repo) string {
	t.Helper()
	raw := repo.Git(t, "cat-file", "commit", "HEAD")
	i := strings.LastIndex(raw, "\n\n")
	require.Positive(t, i)
	path := writeFile(t, "tampered", raw[:i]+"\n\ntampered with\n")
	forged := strings.TrimSpace(repo.Git(t, "hash-object", "-t", "commit", "-w", path))
	repo.Git(t, "reset", "--quiet", "--hard", forged)
	return forged
}

func TestFetchVerifiesCommits(t *testing.T) {
	need(t, "ssh-keygen")
	gnupg(t)
	ctx := context.Background()
	aliceKey, alicePub := sshKey(t, "ed25519", "alice@example.com")
	malloryKey, malloryPub := sshKey(t, "ed25519", "mallory@example.com")
	bobPGP, _ := gpgKey(t, "Bob <bob@example.com>")
	_, eveFingerprint := gpgKey(t, "Eve <eve@example.com>")
	verifier, err := source.LoadCommitVerifier([]string{
		writeFile(t, "allowed_signers", "alice@example.com "+alicePub),
		writeFile(t, "bob.asc", bobPGP),
	})
	require.NoError(t, err)

	srv := gittest.NewHTTPServer(t, nil)
	repo := srv.NewRepo(t, "signed")
	cache := t.TempDir()
	f, err := source.NewFetcher(source.Options{URL: repo.URL, Ref: source.Ref{Branch: "main"}, CacheDir: cache, Verifier: verifier})
	require.NoError(t, err)

	sshSigned := signedCommit(t, repo, "signed with ssh", sshSigning(aliceKey))
	repo.Push(t, "main")
	good, changed, err := f.Fetch(ctx)
	require.NoError(t, err, "a commit signed by a trusted SSH key")
	assert.True(t, changed)
	assert.Equal(t, sshSigned, good.Commit)
	assert.Equal(t, "SSH key "+sshFingerprint(t, alicePub)+" (alice@example.com)", good.Signer)

	gpgSigned := signedCommit(t, repo, "signed with gpg", gpgSigning("bob@example.com"))
	repo.Push(t, "main")
	good, changed, err = f.Fetch(ctx)
	require.NoError(t, err, "a commit signed by a trusted OpenPGP key")
	assert.True(t, changed)
	assert.Equal(t, gpgSigned, good.Commit)
	assert.Contains(t, good.Signer, "(Bob <bob@example.com>)")

	refused := []struct {
		name    string
		commit  func() string
		reason  error
		message string
	}{
		{"unsigned", func() string { return repo.Commit(t, "unsigned") },
			source.ErrUnsigned, "is not signed; --verify-commits requires a signature by a trusted key"},
		{"an untrusted SSH key", func() string { return signedCommit(t, repo, "mallory", sshSigning(malloryKey)) },
			source.ErrUntrustedKey, "is signed by an untrusted key " + sshFingerprint(t, malloryPub)},
		{"an untrusted OpenPGP key", func() string { return signedCommit(t, repo, "eve", gpgSigning("eve@example.com")) },
			source.ErrUntrustedKey, "is signed by an untrusted key " + eveFingerprint + " (OpenPGP)"},
		{"a tampered SSH-signed commit", func() string {
			signedCommit(t, repo, "ssh, then tampered", sshSigning(aliceKey))
			return tamper(t, repo)
		}, source.ErrBadSignature, "has a bad signature: "},
		{"a tampered OpenPGP-signed commit", func() string {
			signedCommit(t, repo, "gpg, then tampered", gpgSigning("bob@example.com"))
			return tamper(t, repo)
		}, source.ErrBadSignature, "has a bad signature: openpgp: invalid signature"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			bad := tc.commit()
			repo.Push(t, "--force", "main")
			_, _, err := f.Fetch(ctx)
			require.Error(t, err)
			t.Log(err)
			assert.Contains(t, err.Error(), "commit "+bad[:12]+" (branch main) "+tc.message)
			assert.ErrorIs(t, err, tc.reason)
			var verr *source.VerificationError
			require.ErrorAs(t, err, &verr)
			assert.Equal(t, bad, verr.Commit)
			assert.Equal(t, good, f.Current(), "the last good revision stays current")
			_, serr := fs.Stat(f.Current().Tree, "message.txt")
			assert.NoError(t, serr, "its tree stays readable")

			_, _, again := f.Fetch(ctx)
			assert.Equal(t, err.Error(), again.Error(), "the commit stays refused")
		})
	}

	t.Run("a good commit after refused ones", func(t *testing.T) {
		next := signedCommit(t, repo, "signed again", sshSigning(aliceKey))
		repo.Push(t, "--force", "main")
		rev, changed, err := f.Fetch(ctx)
		require.NoError(t, err)
		assert.True(t, changed)
		assert.Equal(t, next, rev.Commit)
		assert.Equal(t, rev, f.Current())
	})

	t.Run("a pinned commit is named once", func(t *testing.T) {
		unsigned := repo.Commit(t, "pinned, unsigned")
		repo.Push(t, "main")
		pinned, err := source.NewFetcher(source.Options{URL: repo.Bare, Ref: source.Ref{Commit: unsigned},
			CacheDir: t.TempDir(), Verifier: verifier})
		require.NoError(t, err)
		_, _, err = pinned.Fetch(ctx)
		assert.EqualError(t, err, "commit "+unsigned[:12]+" is not signed; --verify-commits requires a signature by a trusted key")
		assert.Nil(t, pinned.Current())
	})
}

// headCommit reads the working clone's head commit with go-git.
func headCommit(t *testing.T, dir string) *object.Commit {
	t.Helper()
	r, err := git.PlainOpen(dir)
	require.NoError(t, err)
	head, err := r.Head()
	require.NoError(t, err)
	c, err := r.CommitObject(head.Hash())
	require.NoError(t, err)
	return c
}

func TestVerifySSHKeyTypes(t *testing.T) {
	need(t, "ssh-keygen")
	srv := gittest.NewHTTPServer(t, nil)
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(typ, func(t *testing.T) {
			key, pub := sshKey(t, typ, typ+"@example.com")
			verifier, err := source.LoadCommitVerifier([]string{writeFile(t, "key.pub", pub)})
			require.NoError(t, err)
			repo := srv.NewRepo(t, typ)
			signedCommit(t, repo, "signed with "+typ, sshSigning(key))
			signer, err := verifier.Verify(headCommit(t, repo.Work))
			require.NoError(t, err)
			assert.Equal(t, "SSH key "+sshFingerprint(t, pub)+" ("+typ+"@example.com)", signer)
		})
	}
}

// commitSignedWith stores a commit whose gpgsig header is made by sign from
// the commit's signed payload, and reads it back.
func commitSignedWith(t *testing.T, sign func(payload []byte) string) *object.Commit {
	t.Helper()
	st := memory.NewStorage()
	when := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &object.Commit{
		Author:    object.Signature{Name: "A", Email: "a@example.com", When: when},
		Committer: object.Signature{Name: "A", Email: "a@example.com", When: when},
		Message:   "made in Go\n",
		TreeHash:  plumbing.NewHash("4b825dc642cb6eb9a060e54bf8d69288fbee4904"),
	}
	unsigned := st.NewEncodedObject()
	require.NoError(t, c.EncodeWithoutSignature(unsigned))
	r, err := unsigned.Reader()
	require.NoError(t, err)
	var payload bytes.Buffer
	_, err = payload.ReadFrom(r)
	require.NoError(t, err)
	c.PGPSignature = sign(payload.Bytes())
	signed := st.NewEncodedObject()
	require.NoError(t, c.Encode(signed))
	hash, err := st.SetEncodedObject(signed)
	require.NoError(t, err)
	got, err := object.GetCommit(st, hash)
	require.NoError(t, err)
	return got
}

// sshsig is an SSHSIG signature made in Go; the fields may be set wrong.
type sshsig struct {
	signer    ssh.Signer
	algorithm string // the signature algorithm, for RSA keys
	namespace string
	hash      string
	version   uint32
}

func (s sshsig) sign(t *testing.T, payload []byte) string {
	t.Helper()
	var digest []byte
	if s.hash == "sha256" {
		sum := sha256.Sum256(payload)
		digest = sum[:]
	} else {
		sum := sha512.Sum512(payload)
		digest = sum[:]
	}
	signed := append([]byte("SSHSIG"), ssh.Marshal(struct {
		Namespace, Reserved, Hash string
		Digest                    []byte
	}{s.namespace, "", s.hash, digest})...)
	var sig *ssh.Signature
	var err error
	if s.algorithm != "" {
		sig, err = s.signer.(ssh.AlgorithmSigner).SignWithAlgorithm(rand.Reader, signed, s.algorithm)
	} else {
		sig, err = s.signer.Sign(rand.Reader, signed)
	}
	require.NoError(t, err)
	blob := append([]byte("SSHSIG"), ssh.Marshal(struct {
		Version                   uint32
		PublicKey                 []byte
		Namespace, Reserved, Hash string
		Signature                 []byte
	}{s.version, s.signer.PublicKey().Marshal(), s.namespace, "", s.hash, ssh.Marshal(sig)})...)
	b64 := base64.StdEncoding.EncodeToString(blob)
	var lines []string
	for len(b64) > 70 {
		lines, b64 = append(lines, b64[:70]), b64[70:]
	}
	lines = append(lines, b64)
	return "-----BEGIN SSH SIGNATURE-----\n" + strings.Join(lines, "\n") + "\n-----END SSH SIGNATURE-----\n"
}

func TestVerifySSHSignatureFormat(t *testing.T) {
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ed, err := ssh.NewSignerFromKey(edPriv)
	require.NoError(t, err)
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaSigner, err := ssh.NewSignerFromKey(rsaPriv)
	require.NoError(t, err)
	verifier, err := source.LoadCommitVerifier([]string{writeFile(t, "keys",
		string(ssh.MarshalAuthorizedKey(ed.PublicKey()))+string(ssh.MarshalAuthorizedKey(rsaSigner.PublicKey())))})
	require.NoError(t, err)

	for _, tc := range []struct {
		name  string
		sig   sshsig
		error string // empty when the signature is good
	}{
		{"ed25519 with sha512", sshsig{signer: ed, namespace: "git", hash: "sha512", version: 1}, ""},
		{"ed25519 with sha256", sshsig{signer: ed, namespace: "git", hash: "sha256", version: 1}, ""},
		{"rsa-sha2-512", sshsig{signer: rsaSigner, algorithm: ssh.KeyAlgoRSASHA512, namespace: "git", hash: "sha512", version: 1}, ""},
		{"rsa-sha2-256", sshsig{signer: rsaSigner, algorithm: ssh.KeyAlgoRSASHA256, namespace: "git", hash: "sha512", version: 1}, ""},
		{"ssh-rsa with SHA-1", sshsig{signer: rsaSigner, algorithm: ssh.KeyAlgoRSA, namespace: "git", hash: "sha512", version: 1},
			"an RSA signature with SHA-1 (ssh-rsa)"},
		{"another namespace", sshsig{signer: ed, namespace: "file", hash: "sha512", version: 1},
			`the SSH signature is for namespace "file", not "git"`},
		{"another version", sshsig{signer: ed, namespace: "git", hash: "sha512", version: 2},
			"SSH signature version 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := commitSignedWith(t, func(payload []byte) string { return tc.sig.sign(t, payload) })
			signer, err := verifier.Verify(c)
			if tc.error == "" {
				require.NoError(t, err)
				assert.Equal(t, "SSH key "+ssh.FingerprintSHA256(tc.sig.signer.PublicKey()), signer)
				return
			}
			assert.ErrorIs(t, err, source.ErrBadSignature)
			assert.ErrorContains(t, err, "has a bad signature: "+tc.error)
		})
	}

	for name, armored := range map[string]string{
		"truncated":       "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n",
		"not base64":      "-----BEGIN SSH SIGNATURE-----\n!!!!\n-----END SSH SIGNATURE-----\n",
		"no magic":        "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n",
		"short":           "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n",
		"two signatures":  "-----BEGIN SSH SIGNATURE-----\n-----BEGIN SSH SIGNATURE-----\n",
		"x509":            "-----BEGIN SIGNED MESSAGE-----\nAAAA\n-----END SIGNED MESSAGE-----\n",
		"openpgp garbage": "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := verifier.Verify(commitSignedWith(t, func([]byte) string { return armored }))
			assert.ErrorIs(t, err, source.ErrBadSignature)
			t.Log(err)
		})
	}
}

// pgpEntity makes an OpenPGP key in Go.
func pgpEntity(t *testing.T, name string) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", name+"@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	require.NoError(t, err)
	return e
}

func armoredPublic(t *testing.T, e *openpgp.Entity) string {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	require.NoError(t, err)
	require.NoError(t, e.Serialize(w))
	require.NoError(t, w.Close())
	return b.String()
}

func TestVerifyOpenPGPMadeInGo(t *testing.T) {
	carol, dave := pgpEntity(t, "carol"), pgpEntity(t, "dave")
	verifier, err := source.LoadCommitVerifier([]string{writeFile(t, "carol.asc", armoredPublic(t, carol))})
	require.NoError(t, err)
	signedBy := func(e *openpgp.Entity) *object.Commit {
		return commitSignedWith(t, func(payload []byte) string {
			var b bytes.Buffer
			require.NoError(t, openpgp.ArmoredDetachSign(&b, e, bytes.NewReader(payload), nil))
			return b.String()
		})
	}

	signer, err := verifier.Verify(signedBy(carol))
	require.NoError(t, err)
	assert.Contains(t, signer, "(carol <carol@example.com>)")

	_, err = verifier.Verify(signedBy(dave))
	assert.ErrorIs(t, err, source.ErrUntrustedKey)
	assert.ErrorContains(t, err, "is signed by an untrusted key ")
}

func TestLoadCommitVerifier(t *testing.T) {
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edSigner, err := ssh.NewSignerFromKey(edPriv)
	require.NoError(t, err)
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(edSigner.PublicKey())))
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, err := ssh.NewSignerFromKey(otherPriv)
	require.NoError(t, err)
	other := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(otherSigner.PublicKey())))
	carol, dave := pgpEntity(t, "carol"), pgpEntity(t, "dave")
	var binary bytes.Buffer
	require.NoError(t, dave.Serialize(&binary))

	for _, tc := range []struct {
		name, content, want string
	}{
		{"a .pub file", pub + " alice@laptop\n", "0 trusted OpenPGP and 1 trusted SSH keys"},
		{"allowed signers", "# who may sign\n\nalice@example.com,bob@example.com " + pub + "\n" +
			`"*@example.com" namespaces="git,file" ` + other + "\n", "0 trusted OpenPGP and 2 trusted SSH keys"},
		{"a key for another namespace is left out", "alice@example.com " + pub + "\n" +
			`bob@example.com namespaces="file" ` + other + "\n", "0 trusted OpenPGP and 1 trusted SSH keys"},
		{"authorized_keys options", `no-pty,command="echo a b" ` + pub + " alice\n", "0 trusted OpenPGP and 1 trusted SSH keys"},
		{"two armored blocks", armoredPublic(t, carol) + "\n" + armoredPublic(t, dave), "2 trusted OpenPGP and 0 trusted SSH keys"},
		{"a binary keyring", binary.String(), "1 trusted OpenPGP and 0 trusted SSH keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := source.LoadCommitVerifier([]string{writeFile(t, "keys", tc.content)})
			require.NoError(t, err)
			assert.Equal(t, tc.want, v.String())
		})
	}

	t.Run("several files", func(t *testing.T) {
		v, err := source.LoadCommitVerifier([]string{writeFile(t, "a", pub), writeFile(t, "b", armoredPublic(t, carol)), writeFile(t, "c", pub)})
		require.NoError(t, err)
		assert.Equal(t, "1 trusted OpenPGP and 1 trusted SSH keys", v.String())
	})
}

func TestLoadCommitVerifierErrors(t *testing.T) {
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(edPriv)
	require.NoError(t, err)
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	b64 := strings.Fields(pub)[1]

	for _, tc := range []struct {
		name, content string
		want          string // after "key file PATH"
	}{
		{"empty", "", ": no public key found"},
		{"only comments", "# nobody\n\n", ": no public key found"},
		{"garbage", "hello world\n", ": line 1: not an SSH public key"},
		{"a bad line after good ones", "# keys\n" + pub + "\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==\n", ": line 3: ssh-ed25519 key: "},
		{"not base64", "ssh-ed25519 !!!!\n", ": line 1: ssh-ed25519 key: not valid base64"},
		{"the wrong type", "ssh-rsa " + b64 + "\n", ": line 1: ssh-rsa key: the key is of type ssh-ed25519"},
		{"cert-authority", "*@example.com cert-authority " + pub + "\n", ": line 1: option cert-authority is not supported"},
		{"valid-before", `alice valid-before="20300101" ` + pub + "\n", ": line 1: option valid-before is not supported"},
		{"an SSH private key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----\n", " holds a private key"},
		{"an OpenPGP private key", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n-----END PGP PRIVATE KEY BLOCK-----\n", " holds a private key"},
		{"a broken OpenPGP block", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n", ": OpenPGP key block 1: "},
		{"a broken binary keyring", "\x99\x00\x01garbage", ": OpenPGP keyring: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "keys", tc.content)
			_, err := source.LoadCommitVerifier([]string{path})
			assert.ErrorContains(t, err, "key file "+path+tc.want)
		})
	}

	t.Run("a missing file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope.pub")
		_, err := source.LoadCommitVerifier([]string{missing})
		assert.ErrorContains(t, err, missing)
		assert.True(t, errors.Is(err, os.ErrNotExist))
	})

	t.Run("no file", func(t *testing.T) {
		_, err := source.LoadCommitVerifier(nil)
		assert.ErrorContains(t, err, "no key file")
	})

	t.Run("no key for git", func(t *testing.T) {
		path := writeFile(t, "keys", `alice namespaces="file" `+pub+"\n")
		_, err := source.LoadCommitVerifier([]string{path})
		assert.ErrorContains(t, err, "no trusted key in "+path)
	})
}
