package source

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// The SSHSIG format of `ssh-keygen -Y sign`, which git uses for
// gpg.format=ssh: OpenSSH's PROTOCOL.sshsig.
const (
	sshSigMagic     = "SSHSIG"
	sshSigVersion   = 1
	sshSigEnd       = "-----END SSH SIGNATURE-----"
	sshSigNamespace = "git" // what git signs commits and tags under
)

// sshSignature is an SSHSIG blob after its magic preamble.
type sshSignature struct {
	Version       uint32
	PublicKey     []byte
	Namespace     string
	Reserved      string
	HashAlgorithm string
	Signature     []byte
}

// parseSSHSignature reads an armored SSHSIG signature.
func parseSSHSignature(armored string) (*sshSignature, error) {
	body, ok := strings.CutPrefix(strings.TrimSpace(armored), sshSignatureBegin)
	if !ok {
		return nil, errors.New("not an armored SSH signature")
	}
	body, ok = strings.CutSuffix(body, sshSigEnd)
	if !ok {
		return nil, fmt.Errorf("the SSH signature does not end with %s", sshSigEnd)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return nil, fmt.Errorf("the SSH signature is not valid base64: %v", err)
	}
	rest, ok := bytes.CutPrefix(raw, []byte(sshSigMagic))
	if !ok {
		return nil, fmt.Errorf("the SSH signature does not start with %s", sshSigMagic)
	}
	var sig sshSignature
	if err := ssh.Unmarshal(rest, &sig); err != nil {
		return nil, fmt.Errorf("malformed SSH signature: %v", err)
	}
	if sig.Version != sshSigVersion {
		return nil, fmt.Errorf("SSH signature version %d (only %d is known)", sig.Version, sshSigVersion)
	}
	return &sig, nil
}

// verify checks that key made the signature over message in the git
// namespace.
func (s *sshSignature) verify(key ssh.PublicKey, message []byte) error {
	if s.Namespace != sshSigNamespace {
		return fmt.Errorf("the SSH signature is for namespace %q, not %q", s.Namespace, sshSigNamespace)
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(s.Signature, &sig); err != nil {
		return fmt.Errorf("malformed SSH signature: %v", err)
	}
	if sig.Format == ssh.KeyAlgoRSA {
		return errors.New("an RSA signature with SHA-1 (ssh-rsa): SSH signatures need rsa-sha2-256 or rsa-sha2-512")
	}
	signed, err := s.signedData(message)
	if err != nil {
		return err
	}
	return key.Verify(signed, &sig)
}

// signedData is what an SSHSIG signature signs: the magic preamble, the
// namespace, the reserved field, the hash algorithm and the message's hash.
func (s *sshSignature) signedData(message []byte) ([]byte, error) {
	var digest []byte
	switch s.HashAlgorithm {
	case "sha256":
		sum := sha256.Sum256(message)
		digest = sum[:]
	case "sha512":
		sum := sha512.Sum512(message)
		digest = sum[:]
	default:
		return nil, fmt.Errorf("SSH signature hash algorithm %q (sha256 and sha512 are known)", s.HashAlgorithm)
	}
	fields := ssh.Marshal(struct {
		Namespace     string
		Reserved      string
		HashAlgorithm string
		Hash          []byte
	}{s.Namespace, s.Reserved, s.HashAlgorithm, digest})
	return append([]byte(sshSigMagic), fields...), nil
}
