package gittest

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// Server serves the bare repositories under Root.
type Server struct {
	Root string
	// URL is the server's base: repositories are at URL/<name>.git.
	URL string
	// Requests counts the HTTP requests served.
	Requests atomic.Int64
	// Stall, while set, holds every request until its client gives up:
	// a server that hangs.
	Stall atomic.Bool
}

// BasicAuth are the credentials an HTTP server requires.
type BasicAuth struct{ Username, Password string }

// NewHTTPServer starts `git http-backend` on 127.0.0.1 for the test's
// duration; with auth, every request must carry those credentials.
func NewHTTPServer(t testing.TB, auth *BasicAuth) *Server {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git is needed: %v", err)
	}
	s := &Server{Root: t.TempDir()}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + s.Root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Requests.Add(1)
		if s.Stall.Load() {
			<-r.Context().Done()
			return
		}
		if auth != nil {
			u, p, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(auth.Username)) != 1 ||
				subtle.ConstantTimeCompare([]byte(p), []byte(auth.Password)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			r.Header.Set("Remote-User", u)
		}
		backend.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	s.URL = "http://" + l.Addr().String()
	return s
}

// NewRepo creates an empty bare repository on the server, accepting
// pushes, and a working clone to change it.
func (s *Server) NewRepo(t testing.TB, name string) *Repo {
	t.Helper()
	bare := filepath.Join(s.Root, name+".git")
	git(t, "", "init", "--quiet", "--bare", "--initial-branch=main", bare)
	git(t, bare, "config", "http.receivepack", "true")
	git(t, bare, "config", "uploadpack.allowReachableSHA1InWant", "true")
	work := filepath.Join(t.TempDir(), name)
	git(t, "", "init", "--quiet", "--initial-branch=main", work)
	git(t, work, "remote", "add", "origin", bare)
	return &Repo{URL: s.URL + "/" + name + ".git", Bare: bare, Work: work}
}

// Repo is a repository on a test server and a working clone of it.
type Repo struct {
	URL  string // as clients reach it
	Bare string // the server's bare repository
	Work string // the working clone, whose origin is Bare
}

// Write writes files (path → content) into the working clone.
func (r *Repo) Write(t testing.TB, files map[string]string) {
	t.Helper()
	for path, content := range files {
		full := filepath.Join(r.Work, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Remove deletes files from the working clone.
func (r *Repo) Remove(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.RemoveAll(filepath.Join(r.Work, filepath.FromSlash(p))); err != nil {
			t.Fatal(err)
		}
	}
}

// CopyDir copies a directory's files into the working clone under dst.
func (r *Repo) CopyDir(t testing.TB, src, dst string) {
	t.Helper()
	target := filepath.Join(r.Work, filepath.FromSlash(dst))
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("cp", "-r", src+"/.", target).CombinedOutput()
	if err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
}

// Commit commits everything in the working clone and returns the commit.
func (r *Repo) Commit(t testing.TB, message string) string {
	t.Helper()
	git(t, r.Work, "add", "--all")
	git(t, r.Work, "commit", "--quiet", "--allow-empty", "-m", message)
	return r.Head(t)
}

// Head is the working clone's current commit.
func (r *Repo) Head(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(git(t, r.Work, "rev-parse", "HEAD"))
}

// Push pushes the current branch to the server (with --force when asked).
func (r *Repo) Push(t testing.TB, args ...string) {
	t.Helper()
	git(t, r.Work, append([]string{"push", "--quiet", "origin"}, args...)...)
}

// Git runs a git command in the working clone.
func (r *Repo) Git(t testing.TB, args ...string) string {
	t.Helper()
	return git(t, r.Work, args...)
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=gitstellar test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=gitstellar test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+os.TempDir(), "GIT_TERMINAL_PROMPT=0",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
