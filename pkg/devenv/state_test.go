package devenv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func spaceNames(st *state) []string {
	var names []string
	for _, sp := range st.Spaces {
		names = append(names, sp.Name)
	}
	return names
}

func TestStateFollow(t *testing.T) {
	st, err := newState(true)
	require.NoError(t, err)
	require.NoError(t, st.add(wecsLayout(1).Spaces))
	assert.Equal(t, []string{"its1", "wds1", "cluster1"}, spaceNames(st))

	// A state written before incarnations: the prefix was the name.
	legacy := st.Spaces[1]
	legacy.EtcdPrefix = ""
	assert.Equal(t, "/wds1", legacy.etcdPrefix())
	st.Spaces[1] = legacy

	l := Layout{Spaces: []LayoutSpace{{"its1", RoleITS}, {"its2", RoleITS}, {"wds2", RoleWDS}, {"cluster1", RoleWEC}}}
	pruned, err := st.follow(l, false)
	require.NoError(t, err)
	assert.Empty(t, pruned)
	assert.Equal(t, []string{"its1", "its2", "wds1", "wds2", "cluster1"}, spaceNames(st))
	prefixes, ports := map[string]bool{}, map[int]bool{st.EtcdClientPort: true, st.EtcdPeerPort: true}
	for _, sp := range st.Spaces {
		assert.Equal(t, sp.Name == "wds1", sp.Removed, sp.Name)
		assert.False(t, prefixes[sp.etcdPrefix()], "prefix %s twice", sp.etcdPrefix())
		prefixes[sp.etcdPrefix()] = true
		assert.False(t, ports[sp.Port], "port %d twice", sp.Port)
		ports[sp.Port] = true
	}
	assert.True(t, st.Layout)

	// A WEC declared a WDS runs other programs: refused, the state as it was.
	before := append([]Space(nil), st.Spaces...)
	incarnations := st.Incarnations
	_, err = st.follow(Layout{Spaces: []LayoutSpace{{"its1", RoleITS}, {"cluster1", RoleWDS}}}, false)
	require.ErrorContains(t, err, "cluster1 runs as a WEC and is now declared a WDS")
	assert.Equal(t, before, st.Spaces)
	assert.Equal(t, incarnations, st.Incarnations)

	// Pruned: wds1, gone; cluster1 as a WDS is a new, empty incarnation.
	pruned, err = st.follow(Layout{Spaces: []LayoutSpace{{"its1", RoleITS}, {"its2", RoleITS}, {"wds2", RoleWDS}, {"cluster1", RoleWDS}}}, true)
	require.NoError(t, err)
	var names []string
	for _, sp := range pruned {
		names = append(names, sp.Name)
	}
	assert.Equal(t, []string{"wds1", "cluster1"}, names)
	assert.Equal(t, []string{"its1", "its2", "cluster1", "wds2"}, spaceNames(st))
	for _, sp := range st.Spaces {
		assert.False(t, sp.Removed, sp.Name)
		if sp.Name == "cluster1" {
			assert.Equal(t, RoleWDS, sp.Role)
			assert.False(t, prefixes[sp.etcdPrefix()], "cluster1 kept its old prefix")
		}
	}

	// wds1 declared again: a new incarnation, its own prefix.
	_, err = st.follow(Layout{Spaces: []LayoutSpace{{"its1", RoleITS}, {"wds1", RoleWDS}}}, false)
	require.NoError(t, err)
	for _, sp := range st.Spaces {
		if sp.Name == "wds1" {
			assert.NotEqual(t, "/wds1", sp.etcdPrefix())
			assert.False(t, sp.Removed)
		}
	}
}
