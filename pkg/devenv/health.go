package devenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
)

// ProcessStatus is the state of one process.
type ProcessStatus struct {
	Name      string
	Space     string
	Component Component
	// PID is 0 when the process is not running.
	PID int
	// Ready: running, and for etcd and apiservers, healthy.
	Ready bool
	// Endpoint is the address it serves, if any.
	Endpoint string
	// Log is the path of its log file.
	Log string
}

// Status reports every process of the environment.
func (e *Environment) Status(ctx context.Context) []ProcessStatus {
	var out []ProcessStatus
	for _, p := range e.processes() {
		ps := ProcessStatus{Name: p.Name, Space: p.Space, Component: p.Component, PID: e.pid(p.Name), Log: e.logFile(p.Name)}
		ps.Endpoint = e.endpoint(p)
		if ps.PID != 0 {
			ps.Ready = e.probe(ctx, p) == nil
		}
		out = append(out, ps)
	}
	return out
}

func (e *Environment) endpoint(p process) string {
	switch p.Component {
	case ComponentEtcd:
		return fmt.Sprintf("http://127.0.0.1:%d", e.state.EtcdClientPort)
	case ComponentAPIServer:
		sp, _ := e.Space(p.Space)
		return sp.Server()
	}
	return ""
}

// probe checks once whether a running process serves.
func (e *Environment) probe(ctx context.Context, p process) error {
	switch p.Component {
	case ComponentEtcd:
		return e.get(ctx, e.endpoint(p)+"/health", `"health":"true"`)
	case ComponentAPIServer:
		return e.get(ctx, e.endpoint(p)+"/readyz", "ok")
	}
	return nil
}

// waitReady waits until a process serves, failing early when it dies.
func (e *Environment) waitReady(ctx context.Context, p process) error {
	for {
		if e.pid(p.Name) == 0 {
			how := "exited"
			for range 20 { // the reaper records how, right after the exit
				if state, ok := e.exits.Load(p.Name); ok {
					how = fmt.Sprintf("exited (%s)", state)
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			return fmt.Errorf("%s %s: %s", p.Name, how, e.logTail(p.Name, 5))
		}
		err := e.probe(ctx, p)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last probe: %v)", p.Name, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (e *Environment) logTail(name string, n int) string {
	b, err := os.ReadFile(e.logFile(name))
	if err != nil {
		return "no log"
	}
	return lastLines(string(b), n)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (e *Environment) get(ctx context.Context, url, want string) error {
	client, err := e.httpClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("%s: %s %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// httpClient returns the admin's HTTPS client, made once: readiness is
// probed every 200 ms while the environment starts.
func (e *Environment) httpClient() (*http.Client, error) {
	e.clientMu.Lock()
	defer e.clientMu.Unlock()
	if e.client != nil {
		return e.client, nil
	}
	ca, err := os.ReadFile(e.pki.caCert())
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(e.pki.adminCert(), e.pki.adminKey())
	if err != nil {
		return nil, err
	}
	e.client = &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
		DisableKeepAlives: true,
	}}
	return e.client, nil
}

const (
	kwokNodeAnnotation = "kwok.x-k8s.io/node"
	fakeNodes          = 3
)

// ensureNodes creates the fake nodes kwok runs Pods on.
func (e *Environment) ensureNodes(ctx context.Context, wec string) error {
	cfg, err := e.RESTConfig(wec)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for i := range fakeNodes {
		name := fmt.Sprintf("%s-node-%d", wec, i)
		node := applycorev1.Node(name).
			WithAnnotations(map[string]string{kwokNodeAnnotation: "fake"}).
			WithLabels(map[string]string{
				"type":                           "kwok",
				corev1.LabelHostname:             name,
				corev1.LabelOSStable:             "linux",
				corev1.LabelArchStable:           "amd64",
				"node-role.kubernetes.io/worker": "",
			})
		if _, err := cs.CoreV1().Nodes().Apply(ctx, node, metav1.ApplyOptions{FieldManager: "gitstellar-dev", Force: true}); err != nil {
			return err
		}
	}
	return nil
}
