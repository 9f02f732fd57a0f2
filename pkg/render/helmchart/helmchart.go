package helmchart

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// File is one file of a chart, its name relative to the chart's root
// (Chart.yaml, values.yaml, templates/deployment.yaml, charts/dep/...).
type File struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// Request is one chart to render.
type Request struct {
	// Files of the chart's directory, or Archive: a packaged chart (.tgz).
	Files   []File `json:"files,omitempty"`
	Archive []byte `json:"archive,omitempty"`
	// ReleaseName and Namespace are .Release.Name and .Release.Namespace.
	ReleaseName string `json:"releaseName"`
	Namespace   string `json:"namespace"`
	// Values are merged in order (a later one wins, maps merged key by
	// key), then coalesced over the chart's values.yaml.
	Values []map[string]any `json:"values,omitempty"`
	// IncludeCRDs renders the chart's crds/ too, before its templates.
	IncludeCRDs bool `json:"includeCRDs,omitempty"`
	// KubeVersion and APIVersions are .Capabilities (Helm's defaults when
	// empty; APIVersions add to the built-in ones, as `helm template
	// --api-versions` does). ServedAPIVersions, when set, are what a
	// cluster serves: they replace the built-in ones.
	KubeVersion       string   `json:"kubeVersion,omitempty"`
	APIVersions       []string `json:"apiVersions,omitempty"`
	ServedAPIVersions []string `json:"servedAPIVersions,omitempty"`
}

// Manifest is one rendered file.
type Manifest struct {
	// Source is the file it was rendered from, with the chart's name
	// first: "postgres/templates/statefulset.yaml", "postgres/crds/x.yaml".
	Source  string `json:"source"`
	Content string `json:"content"`
}

// Result is a rendered chart.
type Result struct {
	ChartName    string `json:"chartName"`
	ChartVersion string `json:"chartVersion"`
	// Manifests in the order Helm installs them: CRDs first, then the
	// templates by name; files that render to nothing are left out, and
	// so is NOTES.txt.
	Manifests []Manifest `json:"manifests"`
}

// Bounds limit one render.
type Bounds struct {
	// Timeout is the wall-clock time (default 30 s); CPU time is bounded
	// to the same number of seconds.
	Timeout time.Duration
	// Memory is the address space the child may map beyond what it has
	// when it starts, in bytes (default 1 GiB).
	Memory int64
	// Output is the most bytes of rendered manifests (default 64 MiB).
	Output int64
}

func (b Bounds) withDefaults() Bounds {
	if b.Timeout <= 0 {
		b.Timeout = 30 * time.Second
	}
	if b.Memory <= 0 {
		b.Memory = 1 << 30
	}
	if b.Output <= 0 {
		b.Output = 64 << 20
	}
	return b
}

// Error is a chart that does not render: a template that fails (Helm's
// message names the template file and line), a chart that does not load,
// or a bound exceeded.
type Error struct {
	Message string
}

func (e *Error) Error() string { return e.Message }

// childEnv makes the binary serve one render (see init).
const childEnv = "GITSTELLAR_HELMCHART_CHILD"

// response is what the child writes.
type response struct {
	Result *Result `json:"result,omitempty"`
	Error  string  `json:"error,omitempty"`
}

// Render renders a chart in a bounded child process.
func Render(ctx context.Context, req Request, b Bounds) (*Result, error) {
	b = b.withDefaults()
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("helm: the running binary: %w", err)
	}
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, b.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = []string{childEnv + "=" + fmt.Sprintf("%d,%d", b.Memory, int64(b.Timeout.Seconds()+1))}
	cmd.Stdin = bytes.NewReader(in)
	cmd.Dir = os.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, left: 64 << 10}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("helm: start the renderer: %w", err)
	}
	out, readErr := io.ReadAll(io.LimitReader(stdout, b.Output+1<<20)) // the manifests and their JSON framing
	overflow := int64(len(out)) > b.Output
	if overflow {
		_ = cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, &Error{Message: fmt.Sprintf("rendering took longer than %s: refused (does a template loop?)", b.Timeout)}
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case overflow:
		return nil, &Error{Message: fmt.Sprintf("the chart renders more than %d bytes: refused", b.Output)}
	case readErr != nil:
		return nil, fmt.Errorf("helm: read the renderer: %w", readErr)
	}
	var resp response
	if err := json.Unmarshal(out, &resp); err != nil || (resp.Result == nil && resp.Error == "") {
		if waitErr != nil {
			return nil, &Error{Message: fmt.Sprintf("rendering failed within its bounds (%d bytes of memory, %s): %s", b.Memory, b.Timeout, childFailure(waitErr, stderr.String()))}
		}
		return nil, fmt.Errorf("helm: the renderer answered nothing readable")
	}
	if resp.Error != "" {
		return nil, &Error{Message: resp.Error}
	}
	return resp.Result, nil
}

// childFailure says how the child ended.
func childFailure(err error, stderr string) string {
	msg := err.Error()
	if strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory") {
		msg = "out of memory"
	}
	return msg
}

// limitedBuffer keeps the first bytes written to it.
type limitedBuffer struct {
	buf  *bytes.Buffer
	left int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.left > 0 {
		n := min(len(p), l.left)
		l.buf.Write(p[:n])
		l.left -= n
	}
	return len(p), nil
}
