package devenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// Role is what a space is for.
type Role string

// The roles of the spaces of a dev environment.
const (
	RoleITS Role = "ITS"
	RoleWDS Role = "WDS"
	RoleWEC Role = "WEC"
)

// The names of the hub spaces.
const (
	ITSName = "its1"
	WDSName = "wds1"
)

// Space is one kube-apiserver of the environment.
type Space struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	Port int    `json:"port"`
}

// Server is the URL of the space's apiserver.
func (s Space) Server() string { return fmt.Sprintf("https://127.0.0.1:%d", s.Port) }

// state is what state.json records: enough to restart every process the
// same way.
type state struct {
	Version        int     `json:"version"`
	Bare           bool    `json:"bare"`
	EtcdClientPort int     `json:"etcdClientPort"`
	EtcdPeerPort   int     `json:"etcdPeerPort"`
	Spaces         []Space `json:"spaces"`
}

const stateVersion = 1

func (s *state) wecs() int {
	n := 0
	for _, sp := range s.Spaces {
		if sp.Role == RoleWEC {
			n++
		}
	}
	return n
}

func newState(wecs int, bare bool) (*state, error) {
	ports, err := freePorts(2 + 2 + wecs)
	if err != nil {
		return nil, err
	}
	st := &state{Version: stateVersion, Bare: bare, EtcdClientPort: ports[0], EtcdPeerPort: ports[1]}
	st.Spaces = append(st.Spaces, Space{Name: ITSName, Role: RoleITS, Port: ports[2]}, Space{Name: WDSName, Role: RoleWDS, Port: ports[3]})
	for i := 1; i <= wecs; i++ {
		st.Spaces = append(st.Spaces, Space{Name: fmt.Sprintf("cluster%d", i), Role: RoleWEC, Port: ports[3+i]})
	}
	return st, nil
}

func loadState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "state.json"), err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("%s: state version %d, want %d: run `gitstellar dev down` first", filepath.Join(dir, "state.json"), st.Version, stateVersion)
	}
	return &st, nil
}

func (s *state) save(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "state.json"))
}

// freePorts picks n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

var errNoEnvironment = errors.New("no dev environment")
