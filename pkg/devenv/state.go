package devenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Role is what a space is for.
type Role string

// The roles of the spaces of a dev environment.
const (
	RoleITS Role = "ITS"
	RoleWDS Role = "WDS"
	RoleWEC Role = "WEC"
)

// The names of the hub spaces of an environment made with Options.WECs
// (one made from a layout has the names of its layout).
const (
	ITSName = "its1"
	WDSName = "wds1"
)

// Space is one kube-apiserver of the environment.
type Space struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	Port int    `json:"port"`
	// EtcdPrefix is where this incarnation of the space keeps its data
	// in the shared etcd: a space pruned and declared again starts empty.
	// Empty in a state written before incarnations: "/" + Name.
	EtcdPrefix string `json:"etcdPrefix,omitempty"`
	// Removed: the layout (the repository) does not declare the space any
	// more; it runs until pruned.
	Removed bool `json:"removed,omitempty"`
}

// etcdPrefix is the apiserver's --etcd-prefix.
func (s Space) etcdPrefix() string {
	if s.EtcdPrefix == "" {
		return "/" + s.Name
	}
	return s.EtcdPrefix
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
	// Layout: the spaces follow a layout (a repository's, or a test's),
	// not Options.WECs.
	Layout bool `json:"layout,omitempty"`
	// Repo and Path are the repository the layout was last read from.
	Repo string `json:"repo,omitempty"`
	Path string `json:"path,omitempty"`
	// Incarnations counts the spaces ever created, for their etcd
	// prefixes.
	Incarnations int `json:"incarnations,omitempty"`
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

// newState is a state with etcd's ports and no space.
func newState(bare bool) (*state, error) {
	ports, err := freePorts(2, nil)
	if err != nil {
		return nil, err
	}
	return &state{Version: stateVersion, Bare: bare, EtcdClientPort: ports[0], EtcdPeerPort: ports[1]}, nil
}

// wecsLayout is the layout of Options.WECs: its1, wds1, cluster1..N.
func wecsLayout(wecs int) Layout {
	l := Layout{Spaces: []LayoutSpace{{Name: ITSName, Role: RoleITS}, {Name: WDSName, Role: RoleWDS}}}
	for i := 1; i <= wecs; i++ {
		l.Spaces = append(l.Spaces, LayoutSpace{Name: fmt.Sprintf("cluster%d", i), Role: RoleWEC})
	}
	return l
}

// add adds new spaces, each on a free port with an etcd prefix of its own.
func (s *state) add(spaces []LayoutSpace) error {
	used := map[int]bool{s.EtcdClientPort: true, s.EtcdPeerPort: true}
	for _, sp := range s.Spaces {
		used[sp.Port] = true
	}
	ports, err := freePorts(len(spaces), used)
	if err != nil {
		return err
	}
	for i, ls := range spaces {
		s.Incarnations++
		s.Spaces = append(s.Spaces, Space{Name: ls.Name, Role: ls.Role, Port: ports[i],
			// A space's name is a DNS-1123 subdomain and the number is
			// the last dot-separated part: no two incarnations share a
			// prefix, nor one is another's "/"+name.
			EtcdPrefix: fmt.Sprintf("/%s.%d", ls.Name, s.Incarnations)})
	}
	return nil
}

// follow makes the state's spaces those of a layout: the spaces it
// declares that the state lacks are added; the state's spaces it does not
// declare are marked Removed, or, with prune, dropped and returned. A
// space whose role changes between WEC and hub (ITS, WDS) runs other
// programs: with prune it is dropped and added again, empty; without, it
// is an error. On error the state is unchanged.
func (s *state) follow(l Layout, prune bool) (pruned []Space, err error) {
	declared := map[string]Role{}
	for _, ls := range l.Spaces {
		declared[ls.Name] = ls.Role
	}
	var (
		keep      []Space
		conflicts []string
		have      = map[string]bool{}
	)
	for _, sp := range s.Spaces {
		role, ok := declared[sp.Name]
		changes := ok && (role == RoleWEC) != (sp.Role == RoleWEC)
		switch {
		case (!ok || changes) && prune:
			pruned = append(pruned, sp)
			continue
		case !ok:
			sp.Removed = true
		case changes:
			conflicts = append(conflicts, fmt.Sprintf("%s runs as a %s and is now declared a %s", sp.Name, sp.Role, role))
			continue
		default:
			sp.Removed, sp.Role = false, role
		}
		keep = append(keep, sp)
		have[sp.Name] = true
	}
	if len(conflicts) > 0 {
		return nil, fmt.Errorf("%s: prune to replace it with an empty space", strings.Join(conflicts, "; "))
	}
	var added []LayoutSpace
	for _, ls := range l.Spaces {
		if !have[ls.Name] {
			added = append(added, ls)
		}
	}
	next := *s
	next.Spaces = keep
	if err := next.add(added); err != nil {
		return nil, err
	}
	slices.SortStableFunc(next.Spaces, func(a, b Space) int { return compareSpaces(a.Name, a.Role, b.Name, b.Role) })
	next.Layout = true
	*s = next
	return pruned, nil
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

// freePorts picks n distinct free loopback ports, none of them in used
// (the ports of processes that may not run at the moment).
func freePorts(n int, used map[int]bool) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for attempt := 0; len(ports) < n; attempt++ {
		if attempt == n+100 {
			return nil, fmt.Errorf("pick a free port: only ports in use were offered")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l) // held until all are picked: no port twice
		if port := l.Addr().(*net.TCPAddr).Port; !used[port] {
			ports = append(ports, port)
		}
	}
	return ports, nil
}

var errNoEnvironment = errors.New("no dev environment")
