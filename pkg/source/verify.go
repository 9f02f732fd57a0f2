package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
)

// CommitVerifier checks that a commit carries a valid signature by one of
// a set of trusted public keys: OpenPGP keys (git's default gpg.format) or
// SSH keys (gpg.format=ssh). X.509 signatures (gpg.format=x509) are not
// supported. LoadCommitVerifier makes one; it is safe for concurrent use.
type CommitVerifier struct {
	pgp openpgp.EntityList
	ssh map[string]trustedSSHKey // by the key's wire encoding
}

// Why a commit is refused. A *VerificationError wraps one of them; the
// texts complete the sentence "commit 1a2b3c4d5e6f (branch main) ...".
var (
	ErrUnsigned     = errors.New("is not signed; --verify-commits requires a signature by a trusted key")
	ErrUntrustedKey = errors.New("is signed by an untrusted key")
	ErrBadSignature = errors.New("has a bad signature")
)

// VerificationError refuses a commit: it names the commit, the ref that
// led to it and the reason.
type VerificationError struct {
	// Commit is the full SHA of the refused commit.
	Commit string
	// Ref is what was followed, as in Revision.Ref; empty when unknown.
	Ref string
	// Err wraps ErrUnsigned, ErrUntrustedKey or ErrBadSignature.
	Err error
}

func (e *VerificationError) Error() string {
	short := e.Commit
	if len(short) > 12 {
		short = short[:12]
	}
	if e.Ref == "" || e.Ref == e.Commit {
		return fmt.Sprintf("commit %s %v", short, e.Err)
	}
	return fmt.Sprintf("commit %s (%s) %v", short, e.Ref, e.Err)
}

func (e *VerificationError) Unwrap() error { return e.Err }

const (
	pgpSignatureBegin = "-----BEGIN PGP SIGNATURE-----"
	sshSignatureBegin = "-----BEGIN SSH SIGNATURE-----"
)

// Verify checks that the commit is signed by a trusted key and returns a
// description of the signer, such as "SSH key SHA256:... (alice@example.com)".
// A refusal is a *VerificationError; other errors are failures to read the
// commit.
func (v *CommitVerifier) Verify(c *object.Commit) (signer string, err error) {
	refuse := func(err error) (string, error) {
		return "", &VerificationError{Commit: c.Hash.String(), Err: err}
	}
	sig := strings.TrimSpace(c.PGPSignature)
	if sig == "" {
		return refuse(ErrUnsigned)
	}
	if n := strings.Count(sig, "-----BEGIN "); n > 1 {
		return refuse(fmt.Errorf("%w: %d signature blocks; only one is accepted", ErrBadSignature, n))
	}
	payload, err := signedPayload(c)
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", c.Hash, err)
	}
	switch {
	case strings.HasPrefix(sig, sshSignatureBegin):
		signer, err = v.verifySSH(sig, payload)
	case strings.HasPrefix(sig, pgpSignatureBegin):
		signer, err = v.verifyPGP(sig, payload)
	default:
		err = fmt.Errorf("%w: unsupported signature type %q: only OpenPGP and SSH signatures can be verified", ErrBadSignature, firstLine(sig))
	}
	if err != nil {
		return refuse(err)
	}
	return signer, nil
}

// String says how many keys are trusted, for logs.
func (v *CommitVerifier) String() string {
	return fmt.Sprintf("%d trusted OpenPGP and %d trusted SSH keys", len(v.pgp), len(v.ssh))
}

// verify checks the commit's signature when Options.Verifier is set, and
// names the followed ref in a refusal.
func (f *Fetcher) verify(c *object.Commit) (signer string, err error) {
	if f.opts.Verifier == nil {
		return "", nil
	}
	signer, err = f.opts.Verifier.Verify(c)
	var refused *VerificationError
	if errors.As(err, &refused) {
		refused.Ref = f.opts.Ref.String()
	}
	return signer, err
}

// signedPayload is what a commit signature signs: the commit object
// without its gpgsig header.
func signedPayload(c *object.Commit) ([]byte, error) {
	o := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(o); err != nil {
		return nil, err
	}
	r, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// verifyPGP checks an armored OpenPGP detached signature of payload.
func (v *CommitVerifier) verifyPGP(armored string, payload []byte) (string, error) {
	body, sig, err := readPGPSignature(armored)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if len(v.pgp.KeysByIdUsage(*sig.IssuerKeyId, packet.KeyFlagSign)) == 0 {
		return "", fmt.Errorf("%w %s (OpenPGP)", ErrUntrustedKey, pgpIssuer(sig))
	}
	entity, err := openpgp.CheckDetachedSignature(v.pgp, bytes.NewReader(payload), bytes.NewReader(body), nil)
	switch {
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return "", fmt.Errorf("%w %s (OpenPGP)", ErrUntrustedKey, pgpIssuer(sig))
	case err != nil:
		return "", fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return describePGP(entity), nil
}

// readPGPSignature dearmors a signature holding exactly one signature
// packet, and returns the packet's bytes and the parsed packet.
func readPGPSignature(armored string) ([]byte, *packet.Signature, error) {
	block, err := armor.Decode(strings.NewReader(armored))
	if err != nil {
		return nil, nil, fmt.Errorf("unreadable OpenPGP armor: %v", err)
	}
	if block.Type != openpgp.SignatureType {
		return nil, nil, fmt.Errorf("an OpenPGP %q block, not a signature", block.Type)
	}
	body, err := io.ReadAll(block.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("unreadable OpenPGP signature: %v", err)
	}
	packets := packet.NewReader(bytes.NewReader(body))
	var sig *packet.Signature
	for {
		p, err := packets.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("unreadable OpenPGP signature: %v", err)
		}
		s, ok := p.(*packet.Signature)
		switch {
		case !ok:
			return nil, nil, fmt.Errorf("an OpenPGP %T packet where a signature was expected", p)
		case sig != nil:
			return nil, nil, errors.New("more than one OpenPGP signature; only one is accepted")
		case s.IssuerKeyId == nil:
			return nil, nil, errors.New("the OpenPGP signature does not name its key")
		}
		sig = s
	}
	if sig == nil {
		return nil, nil, errors.New("no OpenPGP signature packet")
	}
	return body, sig, nil
}

// pgpIssuer names the key a signature claims: its fingerprint when the
// signature carries it, else its key ID.
func pgpIssuer(sig *packet.Signature) string {
	if len(sig.IssuerFingerprint) > 0 {
		return fmt.Sprintf("%X", sig.IssuerFingerprint)
	}
	return fmt.Sprintf("ID %016X", *sig.IssuerKeyId)
}

func describePGP(e *openpgp.Entity) string {
	s := fmt.Sprintf("OpenPGP key %X", e.PrimaryKey.Fingerprint)
	if id := e.PrimaryIdentity(); id != nil {
		s += " (" + id.Name + ")"
	}
	return s
}

// verifySSH checks an armored SSHSIG signature of payload.
func (v *CommitVerifier) verifySSH(armored string, payload []byte) (string, error) {
	sig, err := parseSSHSignature(armored)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	key, err := ssh.ParsePublicKey(sig.PublicKey)
	if err != nil {
		return "", fmt.Errorf("%w: the SSH signature's public key: %v", ErrBadSignature, err)
	}
	trusted, ok := v.ssh[string(key.Marshal())]
	if !ok {
		return "", fmt.Errorf("%w %s", ErrUntrustedKey, ssh.FingerprintSHA256(key))
	}
	if err := sig.verify(key, payload); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return trusted.String(), nil
}
