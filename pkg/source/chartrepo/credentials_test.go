package chartrepo_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/source/chartrepo"
)

func TestCredentialSet(t *testing.T) {
	set, err := chartrepo.ParseCredentials([]byte(`
- {url: https://charts.example.com, username: all, password: p1}
- {url: https://charts.example.com/private/, username: private, password: p2}
- {url: oci://registry.example.com/charts, username: robot, password: p3}
`))
	require.NoError(t, err)
	for _, tc := range []struct{ url, user string }{
		{"https://charts.example.com/stable/index.yaml", "all"},
		{"https://charts.example.com/private/index.yaml", "private"},
		{"https://charts.example.com.evil.test/index.yaml", ""},
		{"https://charts.example.comevil/x", ""},
		{"oci://registry.example.com/charts", "robot"},
		{"oci://registry.example.com/other", ""},
	} {
		c, ok := set.For(tc.url)
		assert.Equal(t, tc.user != "", ok, tc.url)
		assert.Equal(t, tc.user, c.Username, tc.url)
	}
	for _, bad := range []string{
		"not: a list",
		"- {url: ftp://x, username: a, password: s3cret-value}",
		"- {url: 'https://a:s3cret-value@x', username: a, password: b}",
		"- {url: https://x, username: a}",
		"- {url: https://x, username: a, password: s3cret-value, extra: 1}",
	} {
		_, err := chartrepo.ParseCredentials([]byte(bad))
		require.Error(t, err, bad)
		assert.NotContains(t, err.Error(), "s3cret-value")
	}
}
