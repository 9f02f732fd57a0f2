package propagate

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"go/token"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// Transforms are the CustomTransforms of a WDS, compiled.
type Transforms struct {
	byResource map[schema.GroupResource][]compiledTransform
	// Errors are per CustomTransform: a path that does not parse.
	Errors map[string][]string
	// Warnings: more than one CustomTransform for the same resource.
	Warnings []string
}

type compiledTransform struct {
	name  string
	paths []Path
}

// CompileTransforms parses every CustomTransform. A path that does not
// parse is an error of its CustomTransform and is skipped; its valid paths
// still apply.
func CompileTransforms(cts []controlv1alpha1.CustomTransform) *Transforms {
	t := &Transforms{byResource: map[schema.GroupResource][]compiledTransform{}, Errors: map[string][]string{}}
	sorted := slices.Clone(cts)
	slices.SortFunc(sorted, func(a, b controlv1alpha1.CustomTransform) int { return strings.Compare(a.Name, b.Name) })
	for _, ct := range sorted {
		c := compiledTransform{name: ct.Name}
		var errs []string
		c.paths, errs = parseRemove(ct.Spec.Remove)
		if len(errs) > 0 {
			t.Errors[ct.Name] = errs
		}
		gr := schema.GroupResource{Group: ct.Spec.APIGroup, Resource: ct.Spec.Resource}
		t.byResource[gr] = append(t.byResource[gr], c)
	}
	for gr, list := range t.byResource {
		if len(list) > 1 {
			var names []string
			for _, c := range list {
				names = append(names, c.name)
			}
			t.Warnings = append(t.Warnings, fmt.Sprintf("%s: CustomTransforms %s all apply", gr, strings.Join(names, ", ")))
		}
	}
	slices.Sort(t.Warnings)
	return t
}

// parseRemove parses the paths of a CustomTransform's spec.remove: the
// paths that parse, and one message per path that does not, naming its
// place in the list and the path.
func parseRemove(remove []string) ([]Path, []string) {
	var (
		paths []Path
		errs  []string
	)
	for i, r := range remove {
		p, err := ParsePath(r)
		if err != nil {
			errs = append(errs, fmt.Sprintf("spec.remove[%d]: %v", i, err))
			continue
		}
		paths = append(paths, p)
	}
	return paths, errs
}

// CheckCustomTransform checks a CustomTransform offline, as the transport
// will: one message per problem, naming the path at fault; none when the
// CustomTransform is fine. For validate and plan.
func CheckCustomTransform(u *unstructured.Unstructured) []string {
	gvk := u.GroupVersionKind()
	if gvk.Group != controlv1alpha1.GroupVersion.Group || gvk.Kind != "CustomTransform" {
		return []string{fmt.Sprintf("%s is not a CustomTransform", gvk.GroupKind())}
	}
	var ct controlv1alpha1.CustomTransform
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &ct); err != nil {
		return []string{fmt.Sprintf("does not decode: %v", err)}
	}
	var problems []string
	if ct.Spec.Resource == "" {
		problems = append(problems, "spec.resource: empty; name a resource (lowercase plural)")
	}
	_, errs := parseRemove(ct.Spec.Remove)
	return append(problems, errs...)
}

// Properties are the values a WEC's templates expand with.
type Properties map[string]string

// fingerprint identifies the properties' content.
func (p Properties) fingerprint() string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(p)) {
		fmt.Fprintf(h, "%q=%q\n", k, p[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// PropertiesOf merges a WEC's properties as KubeStellar's transport does,
// later ones winning: the built-in clusterName, the inventory object's
// labels, its annotations, then the data and the binaryData of its
// ConfigMap in the ITS namespace customization-properties (both nil when
// it has none). Only keys that are Go identifiers are properties: a
// template names them as {{.key}}.
func PropertiesOf(wec string, labels, annotations, data map[string]string, binaryData map[string][]byte) Properties {
	p := Properties{"clusterName": wec}
	for _, m := range []map[string]string{labels, annotations, data} {
		for k, v := range m {
			if token.IsIdentifier(k) {
				p[k] = v
			}
		}
	}
	for k, v := range binaryData {
		if token.IsIdentifier(k) {
			p[k] = string(v)
		}
	}
	return p
}

// ConfigMapProperties reads the data and binaryData of a property
// ConfigMap (nil: none).
func ConfigMapProperties(u *unstructured.Unstructured) (data map[string]string, binaryData map[string][]byte) {
	if u == nil {
		return nil, nil
	}
	data, _, _ = unstructured.NestedStringMap(u.Object, "data")
	encoded, _, _ := unstructured.NestedStringMap(u.Object, "binaryData")
	for k, v := range encoded {
		if b, err := base64.StdEncoding.DecodeString(v); err == nil {
			if binaryData == nil {
				binaryData = map[string][]byte{}
			}
			binaryData[k] = b
		}
	}
	return data, binaryData
}

// Labels and annotations of other GitOps tools that would make one of
// their instances in a WEC prune or fight over the object.
var (
	foreignLabels      = []string{"kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace", "helm.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/namespace"}
	foreignAnnotations = []string{"argocd.argoproj.io/tracking-id", "kubectl.kubernetes.io/last-applied-configuration"}
	// gitstellar's marks in the WDS: where an object comes from, and that
	// its status is its WECs' reported state.
	sourceLabels = []string{"gitstellar.io/source", controlv1alpha1.LabelSingletonStatus, controlv1alpha1.LabelMultiWECStatus}
)

// Transform returns the object as one WEC is to receive it, in
// KubeStellar's order: the always-removed fields, Service and Job
// cleaning, the CustomTransforms of its resource, then template expansion
// when the object asks for it. The input is not changed.
func (t *Transforms) Transform(in *unstructured.Unstructured, gr schema.GroupResource, props Properties) (*unstructured.Unstructured, error) {
	u := in.DeepCopy()
	removeAlways(u)
	switch gr {
	case schema.GroupResource{Resource: "services"}:
		cleanService(u)
	case schema.GroupResource{Group: "batch", Resource: "jobs"}:
		cleanJob(u)
	}
	if t != nil {
		for _, c := range t.byResource[gr] {
			for _, p := range c.paths {
				p.Remove(u.Object)
			}
		}
	}
	if in.GetAnnotations()[controlv1alpha1.AnnotationExpandTemplates] == "true" {
		expanded, err := expandObject(u.Object, props, isSecret(in, gr), defaultTemplateLimits)
		if err != nil {
			return nil, err
		}
		u.Object = expanded
	}
	return u, nil
}

func removeAlways(u *unstructured.Unstructured) {
	meta, _ := u.Object["metadata"].(map[string]any)
	for _, f := range []string{"managedFields", "finalizers", "generation", "ownerReferences", "selfLink",
		"resourceVersion", "uid", "generateName", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"} {
		delete(meta, f)
	}
	delete(u.Object, "status")
	labels := u.GetLabels()
	for _, k := range append(foreignLabels, sourceLabels...) {
		delete(labels, k)
	}
	if labels[gitstellarv1alpha1.LabelManagedBy] == gitstellarv1alpha1.ManagedByValue {
		delete(labels, gitstellarv1alpha1.LabelManagedBy)
	}
	setOrDrop(u, labels, u.SetLabels, "labels")
	annotations := u.GetAnnotations()
	for _, k := range foreignAnnotations {
		delete(annotations, k)
	}
	setOrDrop(u, annotations, u.SetAnnotations, "annotations")
}

func setOrDrop(u *unstructured.Unstructured, m map[string]string, set func(map[string]string), key string) {
	if len(m) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", key)
		return
	}
	set(m)
}

// cleanService drops what the WDS's apiserver allocated or defaulted, as
// KubeStellar's transport does: cluster IPs (unless headless), the IP
// families and their policy, the traffic policies, the session affinity,
// and node ports unless the object keeps them (annotation
// control.kubestellar.io/preserve: nodeport). With the external traffic
// policy gone, a health check node port would be refused: it goes with
// the node ports (KubeStellar leaves it).
func cleanService(u *unstructured.Unstructured) {
	if ip, _, _ := unstructured.NestedString(u.Object, "spec", "clusterIP"); ip != "None" {
		unstructured.RemoveNestedField(u.Object, "spec", "clusterIP")
		unstructured.RemoveNestedField(u.Object, "spec", "clusterIPs")
	}
	for _, field := range []string{"ipFamilies", "ipFamilyPolicy", "externalTrafficPolicy", "internalTrafficPolicy", "sessionAffinity"} {
		unstructured.RemoveNestedField(u.Object, "spec", field)
	}
	if u.GetAnnotations()[controlv1alpha1.AnnotationPreserve] == controlv1alpha1.PreserveNodePort {
		return
	}
	unstructured.RemoveNestedField(u.Object, "spec", "healthCheckNodePort")
	ports, found, _ := unstructured.NestedSlice(u.Object, "spec", "ports")
	if !found {
		return
	}
	for _, p := range ports {
		if m, ok := p.(map[string]any); ok {
			delete(m, "nodePort")
		}
	}
	_ = unstructured.SetNestedSlice(u.Object, ports, "spec", "ports")
}

// cleanJob drops what the WDS's job controller set: the selector, suspend,
// the controller-uid labels and the job-tracking annotation.
func cleanJob(u *unstructured.Unstructured) {
	unstructured.RemoveNestedField(u.Object, "spec", "selector")
	unstructured.RemoveNestedField(u.Object, "spec", "suspend")
	unstructured.RemoveNestedField(u.Object, "metadata", "annotations", "batch.kubernetes.io/job-tracking")
	if len(u.GetAnnotations()) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", "annotations")
	}
	for _, path := range [][]string{{"metadata", "labels"}, {"spec", "template", "metadata", "labels"}} {
		for _, k := range []string{"controller-uid", "batch.kubernetes.io/controller-uid"} {
			unstructured.RemoveNestedField(u.Object, append(slices.Clone(path), k)...)
		}
	}
}

// Template expansion runs templates written by whoever can push to the
// repository, once per object and WEC, in the transport: it is bounded so
// that no object can exhaust the transport's memory or time.
//
// text/template cannot be interrupted, so the bounds are enforced from the
// inside: output goes through a writer that fails once the output budget is
// spent; every {{range}} iteration calls a hidden function that counts
// iterations and checks the deadline (a range over a large integer with an
// empty body produces no output and calls nothing else); print, printf,
// println, html, js and urlquery are replaced by versions that refuse to
// build a string the output budget could not hold; and {{define}},
// {{template}} and {{block}} are refused, as template calls could recurse
// exponentially without a range. What is left — property lookups, if,
// with, range, comparisons, and, or, not, len, index, slice — runs in time
// linear in the template between two range iterations.
const (
	// MaxTemplateOutputBytes bounds the bytes the templates of one object
	// write, over all its strings, together with the strings they build
	// with print, printf, println, html, js and urlquery. 1.5 MiB is the
	// most an object can hold in etcd.
	MaxTemplateOutputBytes = 3 << 19
	// MaxTemplateIterations bounds the {{range}} iterations of one object's
	// templates, over all its strings.
	MaxTemplateIterations = 100_000
	// TemplateTimeout bounds the time the templates of one object take.
	TemplateTimeout = time.Second
)

// Why a template does not expand. The errors name the field and, except in
// a Secret, the line and column; they never quote the template nor
// text/template's own message, which does.
var (
	ErrTemplateSyntax          = errors.New("does not parse")
	ErrTemplateMissingProperty = errors.New("refers to a property the WEC does not have")
	ErrTemplateNotAllowed      = errors.New("uses define, template or block, which template expansion does not allow")
	ErrTemplateFailed          = errors.New("fails to execute")
)

// TemplateLimitError is an expansion stopped by one of its limits.
type TemplateLimitError struct {
	// Limit is MaxTemplateOutputBytes, MaxTemplateIterations or
	// TemplateTimeout.
	Limit string
	// Value is the limit's value.
	Value string
}

func (e *TemplateLimitError) Error() string {
	return fmt.Sprintf("exceeds %s (%s per object)", e.Limit, e.Value)
}

// templateLimits are the limits of one object's expansion.
type templateLimits struct {
	outputBytes int
	iterations  int
	timeout     time.Duration
}

var defaultTemplateLimits = templateLimits{outputBytes: MaxTemplateOutputBytes, iterations: MaxTemplateIterations, timeout: TemplateTimeout}

// isSecret tells whether an object is a core Secret.
func isSecret(u *unstructured.Unstructured, gr schema.GroupResource) bool {
	gvk := u.GroupVersionKind()
	return gr == schema.GroupResource{Resource: "secrets"} || (gvk.Group == "" && gvk.Kind == "Secret")
}

// expansion is the expansion of one object for one WEC.
type expansion struct {
	props  map[string]string
	secret bool // errors name the field only
	budget *templateBudget
	funcs  template.FuncMap
}

// expandObject runs every string value of obj that holds "{{" through
// text/template with the WEC's properties; a reference to a missing
// property is an error. Fields expand in key order, so that the error of
// an object that fails is always the same.
func expandObject(obj map[string]any, props Properties, secret bool, limits templateLimits) (map[string]any, error) {
	b := &templateBudget{limits: limits, deadline: time.Now().Add(limits.timeout)}
	x := &expansion{props: props, secret: secret, budget: b, funcs: b.funcs()}
	out, err := x.expand(obj, "")
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

func (x *expansion) expand(v any, where string) (any, error) {
	switch v := v.(type) {
	case string:
		if !strings.Contains(v, "{{") {
			return v, nil
		}
		return x.expandString(v, where)
	case map[string]any:
		out := make(map[string]any, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			e, err := x.expand(v[k], where+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = e
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, child := range v {
			e, err := x.expand(child, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	}
	return v, nil
}

// templateName names every template, so that positions can be read from
// text/template's errors.
const templateName = "t"

func (x *expansion) expandString(s, where string) (string, error) {
	if err := x.budget.checkTime(); err != nil {
		return "", x.failure(where, err, err)
	}
	tmpl, err := template.New(templateName).Option("missingkey=error").Funcs(x.funcs).Parse(s)
	if err != nil {
		return "", x.failure(where, err, ErrTemplateSyntax)
	}
	if err := guard(tmpl); err != nil {
		return "", x.failure(where, nil, err)
	}
	w := &budgetWriter{budget: x.budget}
	if err := tmpl.Execute(w, x.props); err != nil {
		reason := ErrTemplateFailed
		if missingProperty(err) != "" {
			reason = ErrTemplateMissingProperty
		}
		return "", x.failure(where, err, reason)
	}
	return w.buf.String(), nil
}

// failure is the error of the template at where: the limit it hit, or the
// reason, with the position (but not in a Secret). err, text/template's
// error, is read, never quoted.
func (x *expansion) failure(where string, err, reason error) error {
	var limit *TemplateLimitError
	if errors.As(err, &limit) {
		return fmt.Errorf("template at %s: %w", where, limit)
	}
	if x.secret {
		return fmt.Errorf("template at %s: %w", where, reason)
	}
	pos := position(err)
	if key := missingProperty(err); errors.Is(reason, ErrTemplateMissingProperty) && key != "" {
		return fmt.Errorf("template at %s%s: %w: %s", where, pos, reason, key)
	}
	return fmt.Errorf("template at %s%s: %w", where, pos, reason)
}

var (
	// errorPosition reads the position text/template puts first:
	// "template: t:LINE: " when parsing, "template: t:LINE:COL: " when
	// executing.
	errorPosition = regexp.MustCompile(`^template: ` + templateName + `:(\d+)(:\d+)?: `)
	// missingKey reads the property a template referred to; only an
	// identifier, as {{.name}} takes.
	missingKey = regexp.MustCompile(`map has no entry for key "([\pL\pN_]+)"$`)
)

// position is ":LINE[:COL]" of a text/template error, or "".
func position(err error) string {
	if err == nil {
		return ""
	}
	m := errorPosition.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	return ":" + m[1] + m[2]
}

// missingProperty is the property whose absence err reports, or "".
func missingProperty(err error) string {
	if err == nil {
		return ""
	}
	if m := missingKey.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
}

// tickFunc is the hidden function every {{range}} iteration calls.
const tickFunc = "gitstellarRangeIteration"

// rangeTick is the action {{gitstellarRangeIteration}}, put first into the
// body of every {{range}}. It prints nothing.
var rangeTick = template.Must(template.New("tick").Funcs(template.FuncMap{tickFunc: func() string { return "" }}).
	Parse("{{" + tickFunc + "}}")).Tree.Root.Nodes[0]

// guard refuses {{define}}, {{template}} and {{block}}, and makes every
// {{range}} iteration call tickFunc.
func guard(t *template.Template) error {
	if len(t.Templates()) > 1 || t.Tree == nil {
		return ErrTemplateNotAllowed
	}
	return guardNode(t.Tree.Root)
}

func guardNode(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := guardNode(c); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return guardBranch(&n.BranchNode)
	case *parse.WithNode:
		return guardBranch(&n.BranchNode)
	case *parse.RangeNode:
		if n.List == nil {
			n.List = &parse.ListNode{NodeType: parse.NodeList, Pos: n.Pos}
		}
		if err := guardBranch(&n.BranchNode); err != nil {
			return err
		}
		n.List.Nodes = append([]parse.Node{rangeTick}, n.List.Nodes...)
	case *parse.TemplateNode:
		return ErrTemplateNotAllowed
	}
	return nil
}

func guardBranch(b *parse.BranchNode) error {
	if err := guardNode(b.List); err != nil {
		return err
	}
	return guardNode(b.ElseList)
}

// templateBudget is what one object's expansion may still spend.
type templateBudget struct {
	limits     templateLimits
	bytes      int // written or built
	iterations int
	deadline   time.Time
}

func (b *templateBudget) checkTime() error {
	if time.Now().After(b.deadline) {
		return &TemplateLimitError{Limit: "TemplateTimeout", Value: b.limits.timeout.String()}
	}
	return nil
}

// afford tells whether n more bytes fit.
func (b *templateBudget) afford(n int) error {
	if n > b.limits.outputBytes-b.bytes {
		return &TemplateLimitError{Limit: "MaxTemplateOutputBytes", Value: fmt.Sprintf("%d bytes", b.limits.outputBytes)}
	}
	return b.checkTime()
}

// spend takes n bytes from the budget.
func (b *templateBudget) spend(n int) error {
	if err := b.afford(n); err != nil {
		return err
	}
	b.bytes += n
	return nil
}

// iterate counts one {{range}} iteration.
func (b *templateBudget) iterate() (string, error) {
	if b.iterations >= b.limits.iterations {
		return "", &TemplateLimitError{Limit: "MaxTemplateIterations", Value: strconv.Itoa(b.limits.iterations)}
	}
	b.iterations++
	return "", b.checkTime()
}

// funcs are tickFunc and the budgeted replacements of text/template's
// string-building functions.
func (b *templateBudget) funcs() template.FuncMap {
	return template.FuncMap{
		tickFunc: b.iterate,
		"print": func(args ...any) (string, error) {
			return b.build(argsBound(args), func() string { return fmt.Sprint(args...) })
		},
		"println": func(args ...any) (string, error) {
			return b.build(argsBound(args), func() string { return fmt.Sprintln(args...) })
		},
		"printf": func(format string, args ...any) (string, error) {
			return b.build(printfBound(format, args), func() string { return fmt.Sprintf(format, args...) })
		},
		"html": func(args ...any) (string, error) {
			return b.build(maxEscapeGrowth*argsBound(args), func() string { return template.HTMLEscaper(args...) })
		},
		"js": func(args ...any) (string, error) {
			return b.build(maxEscapeGrowth*argsBound(args), func() string { return template.JSEscaper(args...) })
		},
		"urlquery": func(args ...any) (string, error) {
			return b.build(maxEscapeGrowth*argsBound(args), func() string { return template.URLQueryEscaper(args...) })
		},
	}
}

// build makes a string at most bound bytes long, when the budget can hold
// that many, and spends its length.
func (b *templateBudget) build(bound int, format func() string) (string, error) {
	if err := b.afford(bound); err != nil {
		return "", err
	}
	s := format()
	return s, b.spend(len(s))
}

const (
	// maxEscapeGrowth bounds how much longer escaping makes a string:
	// js's \u003C is 6 bytes for 1, as is %q's worst.
	maxEscapeGrowth = 6
	// maxScalarBytes bounds a formatted number, bool or nil (%f of 1e308
	// is 316 bytes).
	maxScalarBytes = 512
	// fmtMaxWidth is the largest width or precision fmt honours.
	fmtMaxWidth = 1_000_000
)

// sizeBound bounds the formatted size of one argument.
func sizeBound(a any) int {
	switch a := a.(type) {
	case string:
		return len(a)
	case map[string]string: // the properties: map[k:v ...]
		n := 5
		for k, v := range a {
			n += len(k) + len(v) + 2
		}
		return n
	}
	return maxScalarBytes
}

// argsBound bounds fmt.Sprint and Sprintln of args.
func argsBound(args []any) int {
	n := 1
	for _, a := range args {
		n += sizeBound(a) + 1
	}
	return n
}

// printfBound bounds fmt.Sprintf(format, args...): the format, the widths
// and precisions it names, and every verb formatting the largest argument
// (an argument index can repeat one), escaped, plus all arguments once
// more for %!(EXTRA ...).
func printfBound(format string, args []any) int {
	verbs, pad := scanFormat(format)
	largest, all, elements := 0, 0, 1
	for _, a := range args {
		n := sizeBound(a)
		largest, all = max(largest, n), all+n
		if m, ok := a.(map[string]string); ok { // a width pads every key and value
			elements = max(elements, 2*len(m)+1)
		}
	}
	return len(format) + pad*elements + maxEscapeGrowth*(verbs*largest+all) + 32*(verbs+len(args)+1)
}

// scanFormat counts the verbs of a fmt format and sums the widths and
// precisions they name; a * counts as the largest fmt honours.
func scanFormat(format string) (verbs, pad int) {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		var isVerb bool
		i, pad, isVerb = scanVerb(format, i+1, pad)
		if isVerb {
			verbs++
		}
	}
	return verbs, pad
}

// scanVerb reads the flags, argument indexes, width and precision after a
// %, adding the numbers to pad; it returns the index of the verb and
// whether there is one (%% is none).
func scanVerb(format string, i, pad int) (int, int, bool) {
	n := 0
	for ; i < len(format); i++ {
		switch c := format[i]; {
		case c >= '0' && c <= '9':
			n = min(n*10+int(c-'0'), fmtMaxWidth)
		case c == '*':
			pad += fmtMaxWidth
		case strings.IndexByte("+-# .[]", c) >= 0:
			pad, n = pad+n, 0
		default:
			return i, pad + n, c != '%'
		}
	}
	return i, pad + n, false
}

// budgetWriter collects a template's output within the budget.
type budgetWriter struct {
	buf    bytes.Buffer
	budget *templateBudget
}

func (w *budgetWriter) Write(p []byte) (int, error) {
	if err := w.budget.spend(len(p)); err != nil {
		return 0, err
	}
	return w.buf.Write(p)
}
