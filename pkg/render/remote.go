package render

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// remoteRefs checks the kustomization in dir, and every kustomization it
// reaches through local resources, bases and components, for references
// kustomize would fetch: remote bases (git clones) and http(s) files. It
// returns one error per reference, naming the kustomization file and the
// (redacted) URL.
func (r *renderer) remoteRefs(dir string) Errors {
	var errs Errors
	r.eachKustomization(dir, func(d, kpath string, k *types.Kustomization, _ []byte) {
		loc := Location{File: r.rel(kpath)}
		for _, ref := range loadedPaths(k) {
			if remote(ref.value) {
				errs = append(errs, &Error{Location: loc, Message: fmt.Sprintf(
					"kustomize: %s %q is remote: gitstellar reads only the repository and reaches no network (an operator may allow remote bases with --allow-remote-bases)",
					ref.field, redactURL(ref.value))})
			}
		}
		if len(k.HelmChartInflationGenerator) > 0 {
			errs = append(errs, &Error{Location: loc, Message: "kustomize: helmChartInflationGenerator is not rendered: use helmCharts"})
		}
	})
	return errs
}

// eachKustomization calls f with the kustomization in dir (a repository
// name) and every kustomization it reaches through local resources,
// bases and components: its directory, file, decoded content and bytes.
func (r *renderer) eachKustomization(dir string, f func(d, kpath string, k *types.Kustomization, raw []byte)) {
	var (
		seen = map[string]bool{}
		todo = []string{dir}
	)
	for len(todo) > 0 && len(seen) < r.limits.Files {
		d := todo[0]
		todo = todo[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		file := kustomizationFile(r.fsys, d)
		if file == "" {
			continue
		}
		kpath := path.Join(d, file)
		data, err := r.readFile(kpath)
		if err != nil {
			continue // kustomize reports it
		}
		var k types.Kustomization
		if err := yaml.Unmarshal(data, &k); err != nil {
			continue // kustomize reports it
		}
		k.FixKustomization()
		f(d, kpath, &k, data)
		for _, base := range append(append(k.Resources, k.Components...), k.Bases...) {
			if !remote(base) {
				if next := path.Join(d, base); !strings.HasPrefix(path.Clean("/"+next), "/..") {
					todo = append(todo, strings.TrimPrefix(path.Clean("/"+next), "/"))
				}
			}
		}
	}
}

type reference struct{ field, value string }

// loadedPaths lists every field of a kustomization that kustomize loads
// from a path or a URL.
func loadedPaths(k *types.Kustomization) []reference {
	var refs []reference
	add := func(field string, values ...string) {
		for _, v := range values {
			if v = strings.TrimSpace(v); v != "" && !strings.Contains(v, "\n") {
				refs = append(refs, reference{field, v})
			}
		}
	}
	add("resources", k.Resources...)
	add("bases", k.Bases...)
	add("components", k.Components...)
	add("crds", k.Crds...)
	add("configurations", k.Configurations...)
	add("generators", k.Generators...)
	add("transformers", k.Transformers...)
	add("validators", k.Validators...)
	add("openapi.path", k.OpenAPI["path"])
	for _, p := range k.PatchesStrategicMerge {
		add("patchesStrategicMerge", string(p))
	}
	for _, p := range append(k.Patches, k.PatchesJson6902...) {
		add("patches.path", p.Path)
	}
	for _, p := range k.Replacements {
		add("replacements.path", p.Path)
	}
	sources := func(field string, s types.KvPairSources) {
		for _, f := range s.FileSources {
			if _, p, ok := strings.Cut(f, "="); ok {
				f = p
			}
			add(field+".files", f)
		}
		add(field+".envs", append(s.EnvSources, s.EnvSource)...)
	}
	for _, g := range k.ConfigMapGenerator {
		sources("configMapGenerator", g.KvPairSources)
	}
	for _, g := range k.SecretGenerator {
		sources("secretGenerator", g.KvPairSources)
	}
	return refs
}

// scpLike is a user@host: reference (git over SSH).
var scpLike = regexp.MustCompile(`^[^/@:]+@[^/:]+:`)

// remote tells whether kustomize would fetch a reference over the network
// (or from outside the repository): a URL of any scheme, an SSH address,
// a forge host, or a git query. It errs on the side of "remote": such a
// name is no local path a repository would use.
func remote(ref string) bool {
	s := strings.ToLower(strings.TrimSpace(ref))
	s = strings.TrimPrefix(s, "git::")
	switch {
	case strings.Contains(s, "://"), scpLike.MatchString(s),
		strings.Contains(s, "?ref="), strings.Contains(s, "?version="), strings.Contains(s, "?submodules="),
		strings.Contains(s, "?timeout="):
		return true
	}
	for _, host := range []string{"github.com", "gitlab.com", "bitbucket.org", "ssh:", "https:", "http:", "file:"} {
		if strings.HasPrefix(s, host) {
			return true
		}
	}
	return false
}

// redactURL hides the credentials a URL may carry.
func redactURL(ref string) string {
	prefix := ""
	if len(ref) > 5 && strings.EqualFold(ref[:5], "git::") {
		prefix, ref = ref[:5], ref[5:]
	}
	u, err := url.Parse(ref)
	if err != nil || u.User == nil {
		return prefix + ref
	}
	u.User = url.User("REDACTED")
	return prefix + u.String()
}
