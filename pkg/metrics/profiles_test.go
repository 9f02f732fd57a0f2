package metrics

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServeProfiles(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := ServeProfiles(ctx, "127.0.0.1:0")
	require.NoError(t, err)
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "heap profile")
	resp, err = http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "profiles only")
	cancel()
	require.Eventually(t, func() bool { _, err := http.Get("http://" + addr + "/debug/pprof/"); return err != nil }, time.Second*5, 10*time.Millisecond, "closed with ctx")
}
