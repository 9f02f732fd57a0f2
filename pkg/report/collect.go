package report

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	celtypes "github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
)

// DefaultCollectorLimit is the number of rows a StatusCollector yields when
// its spec.limit is 0.
const DefaultCollectorLimit = 20

// CollectorCostLimit bounds the work of one evaluation of one expression, in
// CEL's runtime cost units (about one per elementary operation, more for
// operations on long strings and lists). An evaluation that exceeds it stops
// with an error, which is reported like any other evaluation error, so a
// hostile expression cannot hang the controller. It is the per-call limit
// Kubernetes uses for CEL in CustomResourceDefinitions.
const CollectorCostLimit = 1_000_000

// Collector is a StatusCollector compiled once per generation. It is safe for
// concurrent use.
type Collector struct {
	// Name is the StatusCollector's name, and the name of its results.
	Name string
	// Generation is the StatusCollector's metadata.generation it was
	// compiled from.
	Generation int64

	limit      int
	filter     cel.Program // nil when the spec has no filter
	groupBy    []collectorColumn
	aggregates []collectorAggregate
	selects    []collectorColumn
}

// collectorColumn is a compiled named expression.
type collectorColumn struct {
	name string
	prog cel.Program
}

// collectorAggregate is a compiled named aggregator; subject is nil for
// COUNT.
type collectorAggregate struct {
	name    string
	kind    controlv1alpha1.AggregatorType
	subject cel.Program
}

// collectorEnv is the CEL environment of every StatusCollector expression:
// the standard library, optional types (`obj.?spec.?replicas`), and the four
// variables. The extension libraries are left out on purpose: some of their
// functions (string replace, for one) are charged a constant cost whatever
// they produce, which would let an expression escape CollectorCostLimit.
var collectorEnv = sync.OnceValues(func() (*cel.Env, error) {
	object := cel.MapType(cel.StringType, cel.DynType)
	return cel.NewEnv(
		cel.OptionalTypes(),
		cel.Variable("obj", object),
		cel.Variable("returned", object),
		cel.Variable("inventory", object),
		cel.Variable("propagation", object),
	)
})

// CompileCollector compiles every CEL expression of a StatusCollector and
// checks its spec: combinedFields and select are mutually exclusive (and so
// are groupBy and select, since KubeStellar wants groupBy only with
// aggregation); COUNT takes no subject while SUM, AVG, MIN and MAX need one;
// column names are not empty and are unique within groupBy+combinedFields and
// within select; limit is not negative (0 means DefaultCollectorLimit).
//
// The error, when not nil, lists every problem, each on its own line and
// naming its field (`spec.groupBy[1].def: ...`); CollectorErrors splits it
// into the lines of the StatusCollector's status.errors. The Collector is nil
// when the error is not.
func CompileCollector(sc *controlv1alpha1.StatusCollector) (*Collector, error) {
	env, err := collectorEnv()
	if err != nil {
		return nil, fmt.Errorf("status collector %s: cel environment: %w", sc.Name, err)
	}
	cc := collectorCompiler{env: env}
	c := &Collector{Name: sc.Name, Generation: sc.Generation, limit: cc.limit(sc.Spec.Limit)}
	cc.checkShape(&sc.Spec)
	if sc.Spec.Filter != nil {
		c.filter = cc.compile("spec.filter", *sc.Spec.Filter, filterKinds)
	}
	c.groupBy = cc.columns("spec.groupBy", sc.Spec.GroupBy)
	c.aggregates = cc.aggregates(sc.Spec.CombinedFields)
	c.selects = cc.columns("spec.select", sc.Spec.Select)
	cc.checkNames(sc.Spec)
	if len(cc.problems) > 0 {
		return nil, errors.Join(cc.problems...)
	}
	return c, nil
}

// CollectorErrors splits an error of CompileCollector into one message per
// problem, for a StatusCollector's status.errors. It returns nil for a nil
// error; an error of another origin gives one message per line.
func CollectorErrors(err error) []string {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var msgs []string
		for _, e := range joined.Unwrap() {
			msgs = append(msgs, CollectorErrors(e)...)
		}
		return msgs
	}
	var msgs []string
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if line != "" {
			msgs = append(msgs, line)
		}
	}
	return msgs
}

// collectorCompiler gathers the problems of one StatusCollector spec.
type collectorCompiler struct {
	env      *cel.Env
	problems []error
}

func (cc *collectorCompiler) fail(field, format string, args ...any) {
	cc.problems = append(cc.problems, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

func (cc *collectorCompiler) limit(limit int64) int {
	switch {
	case limit < 0:
		cc.fail("spec.limit", "must not be negative, got %d", limit)
		return 0
	case limit == 0:
		return DefaultCollectorLimit
	case limit > math.MaxInt32:
		return math.MaxInt32
	}
	return int(limit)
}

func (cc *collectorCompiler) checkShape(spec *controlv1alpha1.StatusCollectorSpec) {
	if len(spec.Select) == 0 {
		return
	}
	if len(spec.CombinedFields) > 0 {
		cc.fail("spec.select", "select and combinedFields are mutually exclusive")
	}
	if len(spec.GroupBy) > 0 {
		cc.fail("spec.select", "select and groupBy are mutually exclusive")
	}
}

// checkNames reports empty and duplicate column names.
func (cc *collectorCompiler) checkNames(spec controlv1alpha1.StatusCollectorSpec) {
	aggregated := map[string]string{}
	for i, ne := range spec.GroupBy {
		cc.checkName(aggregated, fmt.Sprintf("spec.groupBy[%d].name", i), ne.Name)
	}
	for i, na := range spec.CombinedFields {
		cc.checkName(aggregated, fmt.Sprintf("spec.combinedFields[%d].name", i), na.Name)
	}
	selected := map[string]string{}
	for i, ne := range spec.Select {
		cc.checkName(selected, fmt.Sprintf("spec.select[%d].name", i), ne.Name)
	}
}

func (cc *collectorCompiler) checkName(seen map[string]string, field, name string) {
	if name == "" {
		cc.fail(field, "must not be empty")
		return
	}
	if first, dup := seen[name]; dup {
		cc.fail(field, "duplicate column name %q (also %s)", name, first)
		return
	}
	seen[name] = field
}

func (cc *collectorCompiler) columns(field string, exprs []controlv1alpha1.NamedExpression) []collectorColumn {
	var cols []collectorColumn
	for i, ne := range exprs {
		prog := cc.compile(fmt.Sprintf("%s[%d].def", field, i), ne.Def, nil)
		cols = append(cols, collectorColumn{name: ne.Name, prog: prog})
	}
	return cols
}

func (cc *collectorCompiler) aggregates(fields []controlv1alpha1.NamedAggregator) []collectorAggregate {
	var aggs []collectorAggregate
	for i, na := range fields {
		field := fmt.Sprintf("spec.combinedFields[%d]", i)
		agg := collectorAggregate{name: na.Name, kind: na.Type}
		switch na.Type {
		case controlv1alpha1.AggregatorTypeCount:
			if na.Subject != nil {
				cc.fail(field+".subject", "COUNT takes no subject")
			}
		case controlv1alpha1.AggregatorTypeSum, controlv1alpha1.AggregatorTypeAvg,
			controlv1alpha1.AggregatorTypeMin, controlv1alpha1.AggregatorTypeMax:
			if na.Subject == nil {
				cc.fail(field+".subject", "%s needs a subject", na.Type)
			} else {
				agg.subject = cc.compile(field+".subject", *na.Subject, subjectKinds)
			}
		default:
			cc.fail(field+".type", "unknown aggregate %q, want one of COUNT, SUM, AVG, MIN, MAX", na.Type)
		}
		aggs = append(aggs, agg)
	}
	return aggs
}

// outputKinds says which statically known result types an expression may
// have; nil allows any.
type outputKinds struct {
	allowed map[celtypes.Kind]bool
	want    string
}

var (
	filterKinds = &outputKinds{want: "a bool or null", allowed: map[celtypes.Kind]bool{
		celtypes.BoolKind: true, celtypes.NullTypeKind: true, celtypes.DynKind: true,
		celtypes.AnyKind: true, celtypes.OpaqueKind: true, // optional_type(bool)
	}}
	subjectKinds = &outputKinds{want: "a number, a numeric string or null", allowed: map[celtypes.Kind]bool{
		celtypes.IntKind: true, celtypes.UintKind: true, celtypes.DoubleKind: true,
		celtypes.StringKind: true, celtypes.NullTypeKind: true, celtypes.DynKind: true,
		celtypes.AnyKind: true, celtypes.OpaqueKind: true,
	}}
)

// compile parses and type-checks one expression; on failure it records a
// problem naming field and returns nil.
func (cc *collectorCompiler) compile(field string, expr controlv1alpha1.Expression, kinds *outputKinds) cel.Program {
	ast, iss := cc.env.Compile(string(expr))
	if iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			msg := strings.ReplaceAll(e.Message, "\n", " ")
			if e.Location != nil && e.Location.Line() > 0 {
				msg = fmt.Sprintf("%d:%d: %s", e.Location.Line(), e.Location.Column()+1, msg)
			}
			msgs = append(msgs, msg)
		}
		cc.fail(field, "%s", strings.Join(msgs, "; "))
		return nil
	}
	if kinds != nil && !kinds.allowed[ast.OutputType().Kind()] {
		cc.fail(field, "must evaluate to %s, not %s", kinds.want, ast.OutputType())
		return nil
	}
	prog, err := cc.env.Program(ast, cel.CostLimit(CollectorCostLimit))
	if err != nil {
		cc.fail(field, "%v", err)
		return nil
	}
	return prog
}

// WECReport is what one WEC returned for a workload object.
type WECReport struct {
	// WEC is the WEC's name: `inventory.name`.
	WEC string
	// Status is `returned.status`, nil when the WEC returned none.
	Status map[string]any
	// LastReturnedUpdate is `propagation.lastReturnedUpdateTimestamp`; as in
	// KubeStellar, the zero time before the first update.
	LastReturnedUpdate time.Time
}

// Evaluate runs the collector over a WDS object (the variable `obj`; a
// .status in it is ignored) and the WECs' reports, one input row per
// report, and returns the named result for a CombinedStatus.
//
// The filter keeps a WEC when true and drops it when false or null; a filter
// that fails, or gives anything else, drops the WEC with a row error whose
// columnName is empty (the filter is no column). An expression that fails
// gives a row error and a Null value. With select, the rows are the kept WECs
// in WEC name order; with groupBy and/or combinedFields, one row per group in
// the order of the groupBy values (a single row when there is no groupBy);
// with neither, no rows and no columns. At most the limit's first rows are
// kept.
func (c *Collector) Evaluate(obj map[string]any, wecs []WECReport) controlv1alpha1.NamedStatusCombination {
	res := controlv1alpha1.NamedStatusCombination{Name: c.Name, ColumnNames: c.columnNames()}
	if len(res.ColumnNames) == 0 {
		return res
	}
	ev := collectorEvaluation{result: &res}
	var kept []collectorInput
	for _, in := range collectorInputs(obj, wecs) {
		if ev.keeps(c.filter, in) {
			kept = append(kept, in)
		}
	}
	var rows []controlv1alpha1.StatusCombinationRow
	if len(c.selects) > 0 {
		rows = ev.selectRows(c.selects, kept)
	} else {
		rows = ev.aggregateRows(c.groupBy, c.aggregates, kept)
	}
	if len(rows) > c.limit {
		rows = rows[:c.limit]
	}
	res.Rows = rows
	return res
}

func (c *Collector) columnNames() []string {
	names := []string{}
	for _, col := range c.selects {
		names = append(names, col.name)
	}
	for _, col := range c.groupBy {
		names = append(names, col.name)
	}
	for _, agg := range c.aggregates {
		names = append(names, agg.name)
	}
	return names
}

// collectorInput is one WEC's row of the input table.
type collectorInput struct {
	wec  string
	vars map[string]any
	// pending: the WEC has returned no status yet.
	pending bool
}

// collectorInputs builds the CEL variables of every WEC, in WEC name order.
func collectorInputs(obj map[string]any, wecs []WECReport) []collectorInput {
	if _, ok := obj["status"]; ok {
		trimmed := make(map[string]any, len(obj))
		for k, v := range obj {
			if k != "status" {
				trimmed[k] = v
			}
		}
		obj = trimmed
	}
	if obj == nil {
		obj = map[string]any{}
	}
	sorted := slices.Clone(wecs)
	slices.SortStableFunc(sorted, func(a, b WECReport) int { return strings.Compare(a.WEC, b.WEC) })
	inputs := make([]collectorInput, 0, len(sorted))
	for _, w := range sorted {
		var status any
		if w.Status != nil {
			status = w.Status
		}
		inputs = append(inputs, collectorInput{wec: w.WEC, vars: map[string]any{
			"obj":         obj,
			"returned":    map[string]any{"status": status},
			"inventory":   map[string]any{"name": w.WEC},
			"propagation": map[string]any{"lastReturnedUpdateTimestamp": w.LastReturnedUpdate},
		}, pending: w.Status == nil})
	}
	return inputs
}

// collectorEvaluation is one run of Evaluate; it records the errors into
// result.
type collectorEvaluation struct {
	result *controlv1alpha1.NamedStatusCombination
}

func (ev collectorEvaluation) rowError(wec, column, format string, args ...any) {
	ev.result.RowErrors = append(ev.result.RowErrors, controlv1alpha1.RowEvaluationError{
		WEC: controlv1alpha1.Destination{ClusterId: wec}, ColumnName: column, Error: fmt.Sprintf(format, args...),
	})
}

func (ev collectorEvaluation) aggregationError(column, format string, args ...any) {
	ev.result.AggregationErrors = append(ev.result.AggregationErrors, controlv1alpha1.ErrorInColumn{ColumnName: column, Error: fmt.Sprintf(format, args...)})
}

// eval runs one program; on failure it records a row error and returns nil.
// An optional result is unwrapped (an empty one is null).
func (ev collectorEvaluation) eval(prog cel.Program, in collectorInput, column string) ref.Val {
	out, _, err := prog.Eval(in.vars)
	if err != nil {
		msg := err.Error()
		if in.pending {
			msg = "no status returned yet: " + msg
		}
		if column == "" {
			msg = "filter: " + msg
		}
		ev.rowError(in.wec, column, "%s", msg)
		return nil
	}
	return unwrapOptional(out)
}

func (ev collectorEvaluation) keeps(filter cel.Program, in collectorInput) bool {
	if filter == nil {
		return true
	}
	out := ev.eval(filter, in, "")
	switch v := out.(type) {
	case nil:
		return false
	case celtypes.Bool:
		return bool(v)
	case celtypes.Null:
		return false
	}
	ev.rowError(in.wec, "", "filter: must evaluate to a bool or null, got %s", out.Type().TypeName())
	return false
}

// value evaluates one column and encodes its result; Null on failure.
func (ev collectorEvaluation) value(col collectorColumn, in collectorInput) controlv1alpha1.Value {
	out := ev.eval(col.prog, in, col.name)
	if out == nil {
		return controlv1alpha1.Value{Type: controlv1alpha1.TypeNull}
	}
	v, err := encodeCELValue(out)
	if err != nil {
		ev.rowError(in.wec, col.name, "%v", err)
	}
	return v
}

func (ev collectorEvaluation) selectRows(cols []collectorColumn, kept []collectorInput) []controlv1alpha1.StatusCombinationRow {
	var rows []controlv1alpha1.StatusCombinationRow
	for _, in := range kept {
		row := controlv1alpha1.StatusCombinationRow{Columns: make([]controlv1alpha1.Value, 0, len(cols))}
		for _, col := range cols {
			row.Columns = append(row.Columns, ev.value(col, in))
		}
		rows = append(rows, row)
	}
	return rows
}

// collectorGroup is the rows of one tuple of groupBy values.
type collectorGroup struct {
	key    []controlv1alpha1.Value
	count  int
	states []aggregateState
}

// aggregateState accumulates the non-null subject values of one aggregate.
type aggregateState struct {
	sum      float64
	n        int
	min, max float64
}

func (s *aggregateState) add(x float64) {
	if s.n == 0 || x < s.min {
		s.min = x
	}
	if s.n == 0 || x > s.max {
		s.max = x
	}
	s.sum += x
	s.n++
}

func (ev collectorEvaluation) aggregateRows(groupBy []collectorColumn, aggs []collectorAggregate, kept []collectorInput) []controlv1alpha1.StatusCombinationRow {
	groups := map[string]*collectorGroup{}
	if len(groupBy) == 0 {
		// Without groupBy there is exactly one group, even of no WECs.
		groups[""] = &collectorGroup{states: make([]aggregateState, len(aggs))}
	}
	for _, in := range kept {
		key := make([]controlv1alpha1.Value, 0, len(groupBy))
		for _, col := range groupBy {
			key = append(key, ev.value(col, in))
		}
		id := groupID(key)
		g := groups[id]
		if g == nil {
			g = &collectorGroup{key: key, states: make([]aggregateState, len(aggs))}
			groups[id] = g
		}
		g.count++
		for i, agg := range aggs {
			ev.accumulate(agg, in, &g.states[i])
		}
	}
	sorted := make([]*collectorGroup, 0, len(groups))
	for _, g := range groups {
		sorted = append(sorted, g)
	}
	slices.SortFunc(sorted, func(a, b *collectorGroup) int { return compareValueLists(a.key, b.key) })
	var rows []controlv1alpha1.StatusCombinationRow
	for _, g := range sorted {
		cols := slices.Clone(g.key)
		for i, agg := range aggs {
			cols = append(cols, aggregateValue(agg.kind, g.count, g.states[i]))
		}
		rows = append(rows, controlv1alpha1.StatusCombinationRow{Columns: cols})
	}
	return rows
}

// accumulate adds one WEC's subject value to an aggregate. Null values (and
// failed evaluations, reported as row errors) are skipped; a value that is
// not a number, nor a string that parses as one, is an aggregation error and
// counts as 0.
func (ev collectorEvaluation) accumulate(agg collectorAggregate, in collectorInput, s *aggregateState) {
	if agg.subject == nil {
		return
	}
	out := ev.eval(agg.subject, in, agg.name)
	switch v := out.(type) {
	case nil, celtypes.Null:
		return
	case celtypes.Int:
		s.add(float64(v))
	case celtypes.Uint:
		s.add(float64(v))
	case celtypes.Double:
		s.add(float64(v))
	case celtypes.String:
		x, err := strconv.ParseFloat(strings.TrimSpace(string(v)), 64)
		if err != nil {
			ev.aggregationError(agg.name, "WEC %q: cannot parse %q as a number; counted as 0", in.wec, string(v))
			x = 0
		}
		s.add(x)
	default:
		ev.aggregationError(agg.name, "WEC %q: %s is not a number; counted as 0", in.wec, out.Type().TypeName())
		s.add(0)
	}
}

// aggregateValue is the final value of an aggregate: COUNT is the number of
// rows in the group; SUM of nothing is 0; AVG of nothing is NaN; MIN and MAX
// of nothing are Null.
func aggregateValue(kind controlv1alpha1.AggregatorType, count int, s aggregateState) controlv1alpha1.Value {
	switch kind {
	case controlv1alpha1.AggregatorTypeCount:
		return numberValue(strconv.Itoa(count))
	case controlv1alpha1.AggregatorTypeSum:
		return numberValue(formatFloat(s.sum))
	case controlv1alpha1.AggregatorTypeAvg:
		if s.n == 0 {
			return numberValue(formatFloat(math.NaN()))
		}
		return numberValue(formatFloat(s.sum / float64(s.n)))
	case controlv1alpha1.AggregatorTypeMin:
		if s.n > 0 {
			return numberValue(formatFloat(s.min))
		}
	case controlv1alpha1.AggregatorTypeMax:
		if s.n > 0 {
			return numberValue(formatFloat(s.max))
		}
	}
	return controlv1alpha1.Value{Type: controlv1alpha1.TypeNull}
}

func unwrapOptional(v ref.Val) ref.Val {
	if opt, ok := v.(*celtypes.Optional); ok {
		if !opt.HasValue() {
			return celtypes.NullValue
		}
		return unwrapOptional(opt.GetValue())
	}
	return v
}

// encodeCELValue encodes a CEL result as a CombinedStatus value: numbers as
// decimal strings (NaN as "NaN", infinities as "+Inf" and "-Inf"),
// timestamps and durations as CEL's string form of them, bytes as base64,
// maps and lists as JSON. On error the value is Null.
func encodeCELValue(v ref.Val) (controlv1alpha1.Value, error) {
	null := controlv1alpha1.Value{Type: controlv1alpha1.TypeNull}
	switch x := v.(type) {
	case celtypes.Null:
		return null, nil
	case celtypes.Bool:
		return controlv1alpha1.Value{Type: controlv1alpha1.TypeBool, Bool: new(bool(x))}, nil
	case celtypes.Int:
		return numberValue(strconv.FormatInt(int64(x), 10)), nil
	case celtypes.Uint:
		return numberValue(strconv.FormatUint(uint64(x), 10)), nil
	case celtypes.Double:
		return numberValue(formatFloat(float64(x))), nil
	case traits.Lister, traits.Mapper:
		native, err := celToJSON(v)
		if err != nil {
			return null, err
		}
		raw, err := json.Marshal(native)
		if err != nil {
			return null, err
		}
		if _, ok := v.(traits.Mapper); ok {
			return controlv1alpha1.Value{Type: controlv1alpha1.TypeObject, Object: &apiextensionsv1.JSON{Raw: raw}}, nil
		}
		return controlv1alpha1.Value{Type: controlv1alpha1.TypeArray, Array: &apiextensionsv1.JSON{Raw: raw}}, nil
	}
	native, err := celToJSON(v)
	if err != nil {
		return null, err
	}
	s, ok := native.(string)
	if !ok {
		return null, fmt.Errorf("cannot encode a value of type %s", v.Type().TypeName())
	}
	return controlv1alpha1.Value{Type: controlv1alpha1.TypeString, String: new(s)}, nil
}

// celToJSON converts a CEL value to what encoding/json marshals the same way.
func celToJSON(v ref.Val) (any, error) {
	switch x := unwrapOptional(v).(type) {
	case celtypes.Null:
		return nil, nil
	case celtypes.Bool:
		return bool(x), nil
	case celtypes.Int:
		return int64(x), nil
	case celtypes.Uint:
		return uint64(x), nil
	case celtypes.Double:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("cannot encode %s in JSON", formatFloat(f))
		}
		return f, nil
	case celtypes.String:
		return string(x), nil
	case celtypes.Bytes:
		return base64.StdEncoding.EncodeToString(x), nil
	case celtypes.Timestamp, celtypes.Duration:
		s, ok := x.ConvertToType(celtypes.StringType).(celtypes.String)
		if !ok {
			return nil, fmt.Errorf("cannot encode a %s", x.Type().TypeName())
		}
		return string(s), nil
	case traits.Mapper:
		return celMapToJSON(x)
	case traits.Lister:
		return celListToJSON(x)
	case *celtypes.Err:
		return nil, x
	}
	return nil, fmt.Errorf("cannot encode a value of type %s", v.Type().TypeName())
}

func celMapToJSON(m traits.Mapper) (any, error) {
	out := map[string]any{}
	for it := m.Iterator(); it.HasNext() == celtypes.True; {
		k := it.Next()
		var key string
		switch kk := k.(type) {
		case celtypes.String:
			key = string(kk)
		case celtypes.Int, celtypes.Uint, celtypes.Bool:
			key = fmt.Sprint(kk.Value())
		default:
			return nil, fmt.Errorf("cannot encode a map key of type %s", k.Type().TypeName())
		}
		val, err := celToJSON(m.Get(k))
		if err != nil {
			return nil, err
		}
		out[key] = val
	}
	return out, nil
}

func celListToJSON(l traits.Lister) (any, error) {
	n, ok := l.Size().(celtypes.Int)
	if !ok {
		return nil, fmt.Errorf("cannot encode a list without a size")
	}
	out := make([]any, 0, int(n))
	for i := range int64(n) {
		val, err := celToJSON(l.Get(celtypes.Int(i)))
		if err != nil {
			return nil, err
		}
		out = append(out, val)
	}
	return out, nil
}

func numberValue(s string) controlv1alpha1.Value {
	return controlv1alpha1.Value{Type: controlv1alpha1.TypeNumber, Float: new(s)}
}

// formatFloat writes a float as a JSON number, without exponent between
// 1e-6 and 1e21 like JavaScript does, and NaN and the infinities as "NaN",
// "+Inf" and "-Inf". Integral values have no fraction, so an int 3 and a
// double 3.0 are the same value.
func formatFloat(f float64) string {
	if f == 0 {
		return "0" // also -0
	}
	if abs := math.Abs(f); abs >= 1e-6 && abs < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// groupID identifies a tuple of groupBy values; equal encodings are the same
// group.
func groupID(key []controlv1alpha1.Value) string {
	var b strings.Builder
	for _, v := range key {
		b.WriteString(string(v.Type))
		b.WriteByte(0)
		b.WriteString(valueText(v))
		b.WriteByte(0)
	}
	return b.String()
}

// valueText is the encoded content of a value, whatever its type.
func valueText(v controlv1alpha1.Value) string {
	switch {
	case v.String != nil:
		return *v.String
	case v.Float != nil:
		return *v.Float
	case v.Bool != nil:
		return strconv.FormatBool(*v.Bool)
	case v.Object != nil:
		return string(v.Object.Raw)
	case v.Array != nil:
		return string(v.Array.Raw)
	}
	return ""
}

// valueTypeOrder orders values of different types.
var valueTypeOrder = map[controlv1alpha1.ValueType]int{
	controlv1alpha1.TypeNull: 0, controlv1alpha1.TypeBool: 1, controlv1alpha1.TypeNumber: 2,
	controlv1alpha1.TypeString: 3, controlv1alpha1.TypeArray: 4, controlv1alpha1.TypeObject: 5,
}

// compareValueLists orders rows column by column: by type (Null, Bool,
// Number, String, Array, Object), then numbers by value (NaN first), others
// by their encoding.
func compareValueLists(a, b []controlv1alpha1.Value) int {
	for i := range min(len(a), len(b)) {
		if c := compareValues(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

func compareValues(a, b controlv1alpha1.Value) int {
	if c := valueTypeOrder[a.Type] - valueTypeOrder[b.Type]; c != 0 {
		return c
	}
	ta, tb := valueText(a), valueText(b)
	if a.Type == controlv1alpha1.TypeNumber {
		fa, errA := strconv.ParseFloat(ta, 64)
		fb, errB := strconv.ParseFloat(tb, 64)
		if errA == nil && errB == nil {
			switch {
			case math.IsNaN(fa) && !math.IsNaN(fb):
				return -1
			case !math.IsNaN(fa) && math.IsNaN(fb):
				return 1
			case fa < fb:
				return -1
			case fa > fb:
				return 1
			}
		}
	}
	return strings.Compare(ta, tb)
}
