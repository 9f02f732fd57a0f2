package source

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
)

// MaxWebhookBody is the largest webhook body read (to check its signature).
const MaxWebhookBody = 1 << 20

// Webhook is an http.Handler for push webhooks. A request proves it knows
// the shared secret in one of three ways, and then fires the signal; its
// body is only ever used to check the signature, never as content:
//
//   - GitHub: X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>
//   - GitLab: X-Gitlab-Token: <the secret>
//   - generic: X-Signature: sha256=<hex HMAC-SHA256 of the body>
//
// Anything else gets 401 and fires nothing. GitHub's ping event is
// answered without a fetch.
type Webhook struct {
	Secret []byte
	Signal *Signal
	// Rejected, when set, is told of each refused request (for metrics and
	// logs); the reason never holds the secret.
	Rejected func(reason string)
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBody+1))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	if len(body) > MaxWebhookBody {
		h.reject(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	kind, ok := h.verify(r.Header, body)
	if !ok {
		h.reject(w, http.StatusUnauthorized, kind)
		return
	}
	if kind == "github" && r.Header.Get("X-GitHub-Event") == "ping" {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "pong\n")
		return
	}
	h.Signal.Fire("webhook (" + kind + ")")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, "fetch triggered\n")
}

func (h *Webhook) reject(w http.ResponseWriter, status int, reason string) {
	if h.Rejected != nil {
		h.Rejected(reason)
	}
	http.Error(w, http.StatusText(status), status)
}

// verify tells which form the request uses and whether it is genuine.
func (h *Webhook) verify(header http.Header, body []byte) (kind string, ok bool) {
	switch {
	case header.Get("X-Hub-Signature-256") != "":
		return "github", h.validHMAC(header.Get("X-Hub-Signature-256"), body)
	case header.Get("X-Gitlab-Token") != "":
		return "gitlab", len(h.Secret) > 0 && subtle.ConstantTimeCompare([]byte(header.Get("X-Gitlab-Token")), h.Secret) == 1
	case header.Get("X-Signature") != "":
		return "generic", h.validHMAC(header.Get("X-Signature"), body)
	}
	return "no signature", false
}

func (h *Webhook) validHMAC(signature string, body []byte) bool {
	hexSum, ok := strings.CutPrefix(signature, "sha256=")
	if !ok || len(h.Secret) == 0 {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, h.Secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Sign returns the signature header value of a body, as GitHub and the
// generic form expect it (for clients and tests).
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
