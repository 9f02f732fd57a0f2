package devenv

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// deleteEtcdPrefix deletes the keys an apiserver stored under its
// --etcd-prefix (it stores under prefix + "/"), through etcd's JSON
// gateway, and returns how many there were.
func (e *Environment) deleteEtcdPrefix(ctx context.Context, prefix string) (int64, error) {
	key := prefix + "/"
	end := prefix + "0" // '0' follows '/': the end of the keys starting with key
	body, err := json.Marshal(map[string]string{
		"key":       base64.StdEncoding.EncodeToString([]byte(key)),
		"range_end": base64.StdEncoding.EncodeToString([]byte(end)),
	})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/v3/kv/deleterange", e.state.EtcdClientPort)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s %s", url, resp.Status, bytes.TrimSpace(out))
	}
	var res struct {
		Deleted string `json:"deleted"` // an int64, as a string in JSON
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, fmt.Errorf("%s: %w", url, err)
	}
	if res.Deleted == "" {
		return 0, nil
	}
	return strconv.ParseInt(res.Deleted, 10, 64)
}
