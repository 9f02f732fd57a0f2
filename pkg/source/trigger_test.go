package source_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/source"
)

func pending(s *source.Signal) (string, bool) {
	select {
	case r := <-s.C():
		return r, true
	default:
		return "", false
	}
}

func TestSignalMergesBursts(t *testing.T) {
	s := source.NewSignal()
	s.Fire("webhook")
	s.Fire("interval")
	s.Fire("interval")
	r, ok := pending(s)
	assert.True(t, ok)
	assert.Equal(t, "webhook", r)
	_, ok = pending(s)
	assert.False(t, ok, "the burst caused one fetch")
}

func TestWebhook(t *testing.T) {
	secret := []byte("hook-secret")
	body := `{"ref":"refs/heads/main"}`
	cases := map[string]struct {
		method  string
		headers map[string]string
		body    string
		status  int
		fires   string
	}{
		"github":                    {headers: map[string]string{"X-Hub-Signature-256": source.Sign(secret, []byte(body))}, status: 202, fires: "webhook (github)"},
		"github, wrong signature":   {headers: map[string]string{"X-Hub-Signature-256": source.Sign([]byte("other"), []byte(body))}, status: 401},
		"github, body changed":      {headers: map[string]string{"X-Hub-Signature-256": source.Sign(secret, []byte(body))}, body: body + " ", status: 401},
		"github, not hex":           {headers: map[string]string{"X-Hub-Signature-256": "sha256=zz"}, status: 401},
		"github, sha1 only":         {headers: map[string]string{"X-Hub-Signature-256": "sha1=abc"}, status: 401},
		"github ping":               {headers: map[string]string{"X-Hub-Signature-256": source.Sign(secret, []byte(body)), "X-GitHub-Event": "ping"}, status: 200},
		"gitlab":                    {headers: map[string]string{"X-Gitlab-Token": "hook-secret"}, status: 202, fires: "webhook (gitlab)"},
		"gitlab, wrong token":       {headers: map[string]string{"X-Gitlab-Token": "hook-secreT"}, status: 401},
		"generic":                   {headers: map[string]string{"X-Signature": source.Sign(secret, []byte(body))}, status: 202, fires: "webhook (generic)"},
		"generic, wrong signature":  {headers: map[string]string{"X-Signature": source.Sign(secret, []byte("x"))}, status: 401},
		"no signature":              {status: 401},
		"GET":                       {method: http.MethodGet, headers: map[string]string{"X-Gitlab-Token": "hook-secret"}, status: 405},
		"too large, even if signed": {headers: map[string]string{"X-Gitlab-Token": "hook-secret"}, body: strings.Repeat("x", source.MaxWebhookBody+1), status: 413},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := source.NewSignal()
			var rejected []string
			h := &source.Webhook{Secret: secret, Signal: s, Rejected: func(r string) { rejected = append(rejected, r) }}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			b := tc.body
			if b == "" {
				b = body
			}
			req := httptest.NewRequest(method, "/webhook", strings.NewReader(b))
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tc.status, rec.Code)
			reason, fired := pending(s)
			assert.Equal(t, tc.fires != "", fired, "fired")
			assert.Equal(t, tc.fires, reason)
			if tc.status == 401 {
				require.Len(t, rejected, 1)
				assert.NotContains(t, rejected[0], string(secret))
			}
		})
	}
	t.Run("no secret configured accepts nothing", func(t *testing.T) {
		s := source.NewSignal()
		h := &source.Webhook{Signal: s}
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", source.Sign(nil, []byte(body)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, 401, rec.Code)
	})
}

func TestSchedule(t *testing.T) {
	_, err := source.ParseSchedule("not a schedule")
	assert.ErrorContains(t, err, `schedule "not a schedule"`)
	sched, err := source.ParseSchedule("@every 50ms")
	require.NoError(t, err)
	s := source.NewSignal()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go source.RunSchedule(ctx, sched, s, nil)
	select {
	case r := <-s.C():
		assert.Equal(t, "schedule", r)
	case <-ctx.Done():
		t.Fatal("the schedule never fired")
	}
	hourly, err := source.ParseSchedule("0 * * * *")
	require.NoError(t, err)
	from := time.Date(2026, 1, 1, 10, 20, 0, 0, time.UTC)
	assert.Equal(t, time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC), hourly.Next(from))
}

func TestInterval(t *testing.T) {
	s := source.NewSignal()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go source.RunInterval(ctx, 20*time.Millisecond, s)
	select {
	case r := <-s.C():
		assert.Equal(t, "interval", r)
	case <-ctx.Done():
		t.Fatal("the interval never fired")
	}
}

func TestFromSecretData(t *testing.T) {
	https := source.FromSecretData(map[string][]byte{"username": []byte("u"), "password": []byte("p\n")})
	assert.Equal(t, "u", https.Username)
	assert.Equal(t, []byte("p"), https.Password)

	token := source.FromSecretData(map[string][]byte{"bearerToken": []byte("t")})
	assert.Equal(t, []byte("t"), token.Token)

	sshCreds := source.FromSecretData(map[string][]byte{"identity": []byte("KEY"), "password": []byte("phrase"), "known_hosts": []byte("host key")})
	assert.Equal(t, []byte("KEY"), sshCreds.PrivateKey)
	assert.Equal(t, []byte("phrase"), sshCreds.Passphrase, "with a key, password is its passphrase")
	assert.Empty(t, sshCreds.Password)
	assert.Equal(t, []byte("host key"), sshCreds.KnownHosts)
}
