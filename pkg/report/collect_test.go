package report_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/report"
)

// Helpers to write specs and expected values briefly.

func collectExpr(s string) *controlv1alpha1.Expression { return new(controlv1alpha1.Expression(s)) }

func collectNamed(name, def string) controlv1alpha1.NamedExpression {
	return controlv1alpha1.NamedExpression{Name: name, Def: controlv1alpha1.Expression(def)}
}

func collectAgg(name string, kind controlv1alpha1.AggregatorType, subject string) controlv1alpha1.NamedAggregator {
	na := controlv1alpha1.NamedAggregator{Name: name, Type: kind}
	if subject != "" {
		na.Subject = collectExpr(subject)
	}
	return na
}

func collectNum(s string) controlv1alpha1.Value {
	return controlv1alpha1.Value{Type: controlv1alpha1.TypeNumber, Float: new(s)}
}

func collectStr(s string) controlv1alpha1.Value {
	return controlv1alpha1.Value{Type: controlv1alpha1.TypeString, String: new(s)}
}

func collectBool(b bool) controlv1alpha1.Value {
	return controlv1alpha1.Value{Type: controlv1alpha1.TypeBool, Bool: new(b)}
}

var collectNull = controlv1alpha1.Value{Type: controlv1alpha1.TypeNull}

func collectRows(rows ...[]controlv1alpha1.Value) []controlv1alpha1.StatusCombinationRow {
	var out []controlv1alpha1.StatusCombinationRow
	for _, r := range rows {
		out = append(out, controlv1alpha1.StatusCombinationRow{Columns: r})
	}
	return out
}

func collectCols(vs ...controlv1alpha1.Value) []controlv1alpha1.Value { return vs }

// collectWECs makes one report per status, for WECs wec1, wec2, ...
func collectWECs(statuses ...map[string]any) []report.WECReport {
	var out []report.WECReport
	for i, st := range statuses {
		out = append(out, report.WECReport{
			WEC:                fmt.Sprintf("wec%d", i+1),
			Status:             st,
			LastReturnedUpdate: time.Date(2025, 3, 1, 12, 0, i, 0, time.UTC),
		})
	}
	return out
}

// collectReplicas is a status with availableReplicas set to v, or without
// it when v is nil.
func collectReplicas(v any) map[string]any {
	if v == nil {
		return map[string]any{"phase": "Running"}
	}
	return map[string]any{"availableReplicas": v, "phase": "Running"}
}

var collectDeployment = map[string]any{
	"apiVersion": "apps/v1",
	"kind":       "Deployment",
	"metadata":   map[string]any{"name": "nginx", "namespace": "web"},
	"spec":       map[string]any{"replicas": int64(3)},
	"status":     map[string]any{"replicas": int64(99)},
}

func mustCompileCollector(t *testing.T, spec controlv1alpha1.StatusCollectorSpec) *report.Collector {
	t.Helper()
	sc := &controlv1alpha1.StatusCollector{Spec: spec}
	sc.Name = "sc"
	sc.Generation = 4
	c, err := report.CompileCollector(sc)
	require.NoError(t, err)
	require.NotNil(t, c)
	assert.Equal(t, "sc", c.Name)
	assert.Equal(t, int64(4), c.Generation)
	return c
}

func TestCompileCollectorErrors(t *testing.T) {
	tests := map[string]struct {
		spec controlv1alpha1.StatusCollectorSpec
		want []string // a prefix of each error, in order
	}{
		"bad CEL syntax": {
			spec: controlv1alpha1.StatusCollectorSpec{
				GroupBy:        []controlv1alpha1.NamedExpression{collectNamed("a", "1"), collectNamed("b", "returned.status.(")},
				CombinedFields: []controlv1alpha1.NamedAggregator{collectAgg("n", controlv1alpha1.AggregatorTypeCount, "")},
			},
			want: []string{"spec.groupBy[1].def: 1:"},
		},
		"undeclared variable": {
			spec: controlv1alpha1.StatusCollectorSpec{Select: []controlv1alpha1.NamedExpression{collectNamed("x", "status.phase")}},
			want: []string{"spec.select[0].def: 1:1: undeclared reference to 'status'"},
		},
		"empty expression": {
			spec: controlv1alpha1.StatusCollectorSpec{Select: []controlv1alpha1.NamedExpression{collectNamed("x", "")}},
			want: []string{"spec.select[0].def: "},
		},
		"select and combinedFields": {
			spec: controlv1alpha1.StatusCollectorSpec{
				Select:         []controlv1alpha1.NamedExpression{collectNamed("wec", "inventory.name")},
				CombinedFields: []controlv1alpha1.NamedAggregator{collectAgg("n", controlv1alpha1.AggregatorTypeCount, "")},
			},
			want: []string{"spec.select: select and combinedFields are mutually exclusive"},
		},
		"select and groupBy": {
			spec: controlv1alpha1.StatusCollectorSpec{
				Select:  []controlv1alpha1.NamedExpression{collectNamed("wec", "inventory.name")},
				GroupBy: []controlv1alpha1.NamedExpression{collectNamed("phase", "returned.status.phase")},
			},
			want: []string{"spec.select: select and groupBy are mutually exclusive"},
		},
		"COUNT with a subject": {
			spec: controlv1alpha1.StatusCollectorSpec{CombinedFields: []controlv1alpha1.NamedAggregator{
				collectAgg("n", controlv1alpha1.AggregatorTypeCount, "returned.status.replicas"),
			}},
			want: []string{"spec.combinedFields[0].subject: COUNT takes no subject"},
		},
		"SUM without a subject": {
			spec: controlv1alpha1.StatusCollectorSpec{CombinedFields: []controlv1alpha1.NamedAggregator{
				collectAgg("n", controlv1alpha1.AggregatorTypeCount, ""),
				collectAgg("s", controlv1alpha1.AggregatorTypeSum, ""),
			}},
			want: []string{"spec.combinedFields[1].subject: SUM needs a subject"},
		},
		"MIN, MAX and AVG without a subject": {
			spec: controlv1alpha1.StatusCollectorSpec{CombinedFields: []controlv1alpha1.NamedAggregator{
				collectAgg("a", controlv1alpha1.AggregatorTypeMin, ""),
				collectAgg("b", controlv1alpha1.AggregatorTypeMax, ""),
				collectAgg("c", controlv1alpha1.AggregatorTypeAvg, ""),
			}},
			want: []string{
				"spec.combinedFields[0].subject: MIN needs a subject",
				"spec.combinedFields[1].subject: MAX needs a subject",
				"spec.combinedFields[2].subject: AVG needs a subject",
			},
		},
		"unknown aggregate": {
			spec: controlv1alpha1.StatusCollectorSpec{CombinedFields: []controlv1alpha1.NamedAggregator{
				collectAgg("n", "MEDIAN", "returned.status.replicas"),
			}},
			want: []string{`spec.combinedFields[0].type: unknown aggregate "MEDIAN"`},
		},
		"subject of a bool type": {
			spec: controlv1alpha1.StatusCollectorSpec{CombinedFields: []controlv1alpha1.NamedAggregator{
				collectAgg("s", controlv1alpha1.AggregatorTypeSum, "returned.status.replicas > 1"),
			}},
			want: []string{"spec.combinedFields[0].subject: must evaluate to a number"},
		},
		"duplicate names across groupBy and combinedFields": {
			spec: controlv1alpha1.StatusCollectorSpec{
				GroupBy:        []controlv1alpha1.NamedExpression{collectNamed("n", "returned.status.phase")},
				CombinedFields: []controlv1alpha1.NamedAggregator{collectAgg("n", controlv1alpha1.AggregatorTypeCount, "")},
			},
			want: []string{`spec.combinedFields[0].name: duplicate column name "n" (also spec.groupBy[0].name)`},
		},
		"duplicate names in select": {
			spec: controlv1alpha1.StatusCollectorSpec{Select: []controlv1alpha1.NamedExpression{
				collectNamed("wec", "inventory.name"), collectNamed("wec", "inventory.name"),
			}},
			want: []string{`spec.select[1].name: duplicate column name "wec" (also spec.select[0].name)`},
		},
		"empty name": {
			spec: controlv1alpha1.StatusCollectorSpec{GroupBy: []controlv1alpha1.NamedExpression{collectNamed("", "1")}},
			want: []string{"spec.groupBy[0].name: must not be empty"},
		},
		"negative limit": {
			spec: controlv1alpha1.StatusCollectorSpec{Limit: -1, Select: []controlv1alpha1.NamedExpression{collectNamed("wec", "inventory.name")}},
			want: []string{"spec.limit: must not be negative, got -1"},
		},
		"filter of a non-bool type": {
			spec: controlv1alpha1.StatusCollectorSpec{Filter: collectExpr("1 + 1"), Select: []controlv1alpha1.NamedExpression{collectNamed("wec", "inventory.name")}},
			want: []string{"spec.filter: must evaluate to a bool or null, not int"},
		},
		"bad filter": {
			spec: controlv1alpha1.StatusCollectorSpec{Filter: collectExpr("returned.status.phase =="), Select: []controlv1alpha1.NamedExpression{collectNamed("wec", "inventory.name")}},
			want: []string{"spec.filter: 1:"},
		},
		"every problem is listed": {
			spec: controlv1alpha1.StatusCollectorSpec{
				Limit:          -5,
				Filter:         collectExpr("nope"),
				Select:         []controlv1alpha1.NamedExpression{collectNamed("x", "1"), collectNamed("x", "2 +")},
				CombinedFields: []controlv1alpha1.NamedAggregator{collectAgg("c", controlv1alpha1.AggregatorTypeCount, "1")},
			},
			want: []string{
				"spec.limit: ",
				"spec.select: select and combinedFields",
				"spec.filter: 1:1: undeclared reference to 'nope'",
				"spec.combinedFields[0].subject: COUNT takes no subject",
				"spec.select[1].def: 1:",
				`spec.select[1].name: duplicate column name "x"`,
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sc := &controlv1alpha1.StatusCollector{Spec: tc.spec}
			sc.Name = "sc"
			c, err := report.CompileCollector(sc)
			require.Error(t, err)
			assert.Nil(t, c)
			got := report.CollectorErrors(err)
			require.Len(t, got, len(tc.want), "errors: %q", got)
			for i, prefix := range tc.want {
				assert.True(t, strings.HasPrefix(got[i], prefix), "error %d is %q, want prefix %q", i, got[i], prefix)
				assert.NotContains(t, got[i], "\n")
			}
		})
	}
}

func TestCompileCollectorValid(t *testing.T) {
	specs := map[string]controlv1alpha1.StatusCollectorSpec{
		"empty":    {},
		"count":    {CombinedFields: []controlv1alpha1.NamedAggregator{collectAgg("n", controlv1alpha1.AggregatorTypeCount, "")}},
		"group by": {GroupBy: []controlv1alpha1.NamedExpression{collectNamed("phase", "returned.status.phase")}},
		"select with filter": {
			Filter: collectExpr("has(returned.status.phase)"),
			Select: []controlv1alpha1.NamedExpression{collectNamed("wec", "inventory.name"), collectNamed("t", "propagation.lastReturnedUpdateTimestamp")},
		},
		"optional filter": {
			Filter: collectExpr("returned.?status.?ready"),
			Select: []controlv1alpha1.NamedExpression{collectNamed("wec", "inventory.name")},
		},
		"same name in select and nowhere else": {
			Select: []controlv1alpha1.NamedExpression{collectNamed("a", "1"), collectNamed("b", "obj.spec")},
		},
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			mustCompileCollector(t, spec)
		})
	}
}

func TestCollectorErrors(t *testing.T) {
	joined := errors.Join(errors.New("spec.a: x"), errors.New("spec.b: y"))
	tests := map[string]struct {
		err  error
		want []string
	}{
		"nil":        {err: nil, want: nil},
		"single":     {err: errors.New("spec.limit: bad"), want: []string{"spec.limit: bad"}},
		"joined":     {err: joined, want: []string{"spec.a: x", "spec.b: y"}},
		"wrapped":    {err: fmt.Errorf("sc1: %w", joined), want: []string{"sc1: spec.a: x", "spec.b: y"}},
		"nested":     {err: errors.Join(joined, errors.New("spec.c: z")), want: []string{"spec.a: x", "spec.b: y", "spec.c: z"}},
		"blank line": {err: errors.New("a\n\nb"), want: []string{"a", "b"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, report.CollectorErrors(tc.err))
		})
	}
}

func TestEvaluateAggregates(t *testing.T) {
	nan := collectNum("NaN")
	tests := map[string]struct {
		kind       controlv1alpha1.AggregatorType
		subject    string
		wecs       []report.WECReport
		want       controlv1alpha1.Value
		wantAggErr []controlv1alpha1.ErrorInColumn
		wantRowErr []controlv1alpha1.RowEvaluationError
	}{
		"COUNT counts the WECs": {
			kind: controlv1alpha1.AggregatorTypeCount,
			wecs: collectWECs(collectReplicas(1), collectReplicas(nil), nil),
			want: collectNum("3"),
		},
		"COUNT of nothing": {kind: controlv1alpha1.AggregatorTypeCount, want: collectNum("0")},
		"SUM": {
			kind: controlv1alpha1.AggregatorTypeSum, subject: "returned.status.availableReplicas",
			wecs: collectWECs(collectReplicas(int64(1)), collectReplicas(int64(2)), collectReplicas(3.5)),
			want: collectNum("6.5"),
		},
		"SUM of nothing": {kind: controlv1alpha1.AggregatorTypeSum, subject: "returned.status.availableReplicas", want: collectNum("0")},
		"AVG": {
			kind: controlv1alpha1.AggregatorTypeAvg, subject: "returned.status.availableReplicas",
			wecs: collectWECs(collectReplicas(int64(1)), collectReplicas(int64(2))),
			want: collectNum("1.5"),
		},
		"AVG of nothing is NaN": {kind: controlv1alpha1.AggregatorTypeAvg, subject: "returned.status.availableReplicas", want: nan},
		"AVG of nulls only is NaN": {
			kind: controlv1alpha1.AggregatorTypeAvg, subject: "returned.status.?availableReplicas.orValue(null)",
			wecs: collectWECs(collectReplicas(nil), collectReplicas(nil)),
			want: nan,
		},
		"AVG skips null subjects": {
			kind: controlv1alpha1.AggregatorTypeAvg, subject: "returned.status.?availableReplicas.orValue(null)",
			wecs: collectWECs(collectReplicas(int64(2)), collectReplicas(nil), collectReplicas(int64(4))),
			want: collectNum("3"),
		},
		"MIN": {
			kind: controlv1alpha1.AggregatorTypeMin, subject: "returned.status.availableReplicas",
			wecs: collectWECs(collectReplicas(int64(5)), collectReplicas(int64(-2)), collectReplicas(int64(7))),
			want: collectNum("-2"),
		},
		"MIN skips null subjects": {
			kind: controlv1alpha1.AggregatorTypeMin, subject: "returned.status.?availableReplicas.orValue(null)",
			wecs: collectWECs(collectReplicas(nil), collectReplicas(int64(4)), collectReplicas(int64(6))),
			want: collectNum("4"),
		},
		"MIN of nothing is Null": {kind: controlv1alpha1.AggregatorTypeMin, subject: "returned.status.availableReplicas", want: collectNull},
		"MAX": {
			kind: controlv1alpha1.AggregatorTypeMax, subject: "returned.status.availableReplicas",
			wecs: collectWECs(collectReplicas(int64(5)), collectReplicas(int64(-2)), collectReplicas(int64(7))),
			want: collectNum("7"),
		},
		"MAX of nulls only is Null": {
			kind: controlv1alpha1.AggregatorTypeMax, subject: "null",
			wecs: collectWECs(collectReplicas(int64(5))),
			want: collectNull,
		},
		"strings parse as numbers": {
			kind: controlv1alpha1.AggregatorTypeSum, subject: "returned.status.availableReplicas",
			wecs: collectWECs(collectReplicas("2"), collectReplicas(int64(3)), collectReplicas(" 1.5 "), collectReplicas("1e3")),
			want: collectNum("1006.5"),
		},
		"a string that is no number counts as 0": {
			kind: controlv1alpha1.AggregatorTypeAvg, subject: "returned.status.availableReplicas",
			wecs:       collectWECs(collectReplicas("4"), collectReplicas("four"), collectReplicas("")),
			want:       collectNum("1.3333333333333333"),
			wantAggErr: []controlv1alpha1.ErrorInColumn{{ColumnName: "agg", Error: `WEC "wec2": cannot parse "four" as a number; counted as 0`}, {ColumnName: "agg", Error: `WEC "wec3": cannot parse "" as a number; counted as 0`}},
		},
		"a bool counts as 0": {
			kind: controlv1alpha1.AggregatorTypeMax, subject: "returned.status.availableReplicas",
			wecs:       collectWECs(collectReplicas(int64(-4)), collectReplicas(true)),
			want:       collectNum("0"),
			wantAggErr: []controlv1alpha1.ErrorInColumn{{ColumnName: "agg", Error: `WEC "wec2": bool is not a number; counted as 0`}},
		},
		"a failing subject is a row error and skipped": {
			kind: controlv1alpha1.AggregatorTypeSum, subject: "returned.status.availableReplicas",
			wecs:       collectWECs(collectReplicas(int64(2)), collectReplicas(nil)),
			want:       collectNum("2"),
			wantRowErr: []controlv1alpha1.RowEvaluationError{{WEC: controlv1alpha1.Destination{ClusterId: "wec2"}, ColumnName: "agg", Error: "no such key: availableReplicas"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := mustCompileCollector(t, controlv1alpha1.StatusCollectorSpec{
				CombinedFields: []controlv1alpha1.NamedAggregator{collectAgg("agg", tc.kind, tc.subject)},
			})
			got := c.Evaluate(collectDeployment, tc.wecs)
			assert.Equal(t, "sc", got.Name)
			assert.Equal(t, []string{"agg"}, got.ColumnNames)
			assert.Equal(t, collectRows(collectCols(tc.want)), got.Rows)
			assert.Equal(t, tc.wantAggErr, got.AggregationErrors)
			assert.Equal(t, tc.wantRowErr, got.RowErrors)
		})
	}
}

func TestEvaluateRowErrorOfNullStatus(t *testing.T) {
	c := mustCompileCollector(t, controlv1alpha1.StatusCollectorSpec{
		Select: []controlv1alpha1.NamedExpression{collectNamed("phase", "returned.status.phase"), collectNamed("none", "returned.status == null")},
	})
	got := c.Evaluate(collectDeployment, collectWECs(nil))
	assert.Equal(t, collectRows(collectCols(collectNull, collectBool(true))), got.Rows)
	require.Len(t, got.RowErrors, 1)
	assert.Equal(t, "wec1", got.RowErrors[0].WEC.ClusterId)
	assert.Equal(t, "phase", got.RowErrors[0].ColumnName)
	assert.True(t, strings.HasPrefix(got.RowErrors[0].Error, "no status returned yet: "), got.RowErrors[0].Error)
}

// TestEvaluatePendingWECsAreRows: as in KubeStellar, every destination is
// a row, one that returned nothing yet with a null status; COUNT counts
// it, SUM skips its null subject.
func TestEvaluatePendingWECsAreRows(t *testing.T) {
	c := mustCompileCollector(t, controlv1alpha1.StatusCollectorSpec{
		CombinedFields: []controlv1alpha1.NamedAggregator{
			collectAgg("wecs", controlv1alpha1.AggregatorTypeCount, ""),
			collectAgg("reported", controlv1alpha1.AggregatorTypeSum, "returned.status == null ? 0 : 1"),
		},
	})
	got := c.Evaluate(collectDeployment, collectWECs(map[string]any{"availableReplicas": int64(2)}, nil, nil))
	assert.Equal(t, collectRows(collectCols(collectNum("3"), collectNum("1"))), got.Rows)
	assert.Empty(t, got.RowErrors)
}

func TestEvaluateFilter(t *testing.T) {
	wecs := []report.WECReport{
		{WEC: "a", Status: map[string]any{"keep": true}},
		{WEC: "b", Status: map[string]any{"keep": false}},
		{WEC: "c", Status: map[string]any{"keep": nil}},
		{WEC: "d", Status: map[string]any{}},
		{WEC: "e", Status: map[string]any{"keep": "yes"}},
		{WEC: "f", Status: map[string]any{"keep": true}},
	}
	c := mustCompileCollector(t, controlv1alpha1.StatusCollectorSpec{
		Filter: collectExpr("returned.status.keep"),
		Select: []controlv1alpha1.NamedExpression{collectNamed("wec", "inventory.name")},
	})
	got := c.Evaluate(collectDeployment, wecs)
	assert.Equal(t, collectRows(collectCols(collectStr("a")), collectCols(collectStr("f"))), got.Rows)
	assert.Equal(t, []controlv1alpha1.RowEvaluationError{
		{WEC: controlv1alpha1.Destination{ClusterId: "d"}, ColumnName: "", Error: "filter: no such key: keep"},
		{WEC: controlv1alpha1.Destination{ClusterId: "e"}, ColumnName: "", Error: "filter: must evaluate to a bool or null, got string"},
	}, got.RowErrors)

	t.Run("filter drops WECs before aggregation", func(t *testing.T) {
		c := mustCompileCollector(t, controlv1alpha1.StatusCollectorSpec{
			Filter:         collectExpr("returned.status.?keep.orValue(null)"),
			CombinedFields: []controlv1alpha1.NamedAggregator{collectAgg("n", controlv1alpha1.AggregatorTypeCount, "")},
		})
		got := c.Evaluate(collectDeployment, wecs[:4])
		assert.Equal(t, collectRows(collectCols(collectNum("1"))), got.Rows)
		assert.Empty(t, got.RowErrors)
	})
}

func TestEvaluateGroupBy(t *testing.T) {
	wecs := []report.WECReport{
		{WEC: "w1", Status: map[string]any{"phase": "Running", "ready": int64(3), "zone": "eu"}},
		{WEC: "w2", Status: map[string]any{"phase": "Pending", "ready": int64(0), "zone": "us"}},
		{WEC: "w3", Status: map[string]any{"phase": "Running", "ready": 2.0, "zone": "us"}},
		{WEC: "w4", Status: map[string]any{"phase": "Running", "ready": int64(1), "zone": "eu"}},
		{WEC: "w5", Status: map[string]any{"ready": int64(4), "zone": "eu"}},
	}
	tests := map[string]struct {
		spec        controlv1alpha1.StatusCollectorSpec
		wantColumns []string
		wantRows    []controlv1alpha1.StatusCombinationRow
		wantRowErrs []controlv1alpha1.RowEvaluationError
	}{
		"several groups, in value order, a failed groupBy is the Null group": {
			spec: controlv1alpha1.StatusCollectorSpec{
				GroupBy: []controlv1alpha1.NamedExpression{collectNamed("phase", "returned.status.phase")},
				CombinedFields: []controlv1alpha1.NamedAggregator{
					collectAgg("count", controlv1alpha1.AggregatorTypeCount, ""),
					collectAgg("ready", controlv1alpha1.AggregatorTypeSum, "returned.status.ready"),
				},
			},
			wantColumns: []string{"phase", "count", "ready"},
			wantRows: collectRows(
				collectCols(collectNull, collectNum("1"), collectNum("4")),
				collectCols(collectStr("Pending"), collectNum("1"), collectNum("0")),
				collectCols(collectStr("Running"), collectNum("3"), collectNum("6")),
			),
			wantRowErrs: []controlv1alpha1.RowEvaluationError{{WEC: controlv1alpha1.Destination{ClusterId: "w5"}, ColumnName: "phase", Error: "no such key: phase"}},
		},
		"two groupBy columns": {
			spec: controlv1alpha1.StatusCollectorSpec{
				Filter:         collectExpr("has(returned.status.phase)"),
				GroupBy:        []controlv1alpha1.NamedExpression{collectNamed("zone", "returned.status.zone"), collectNamed("running", "returned.status.phase == 'Running'")},
				CombinedFields: []controlv1alpha1.NamedAggregator{collectAgg("max", controlv1alpha1.AggregatorTypeMax, "returned.status.ready")},
			},
			wantColumns: []string{"zone", "running", "max"},
			wantRows: collectRows(
				collectCols(collectStr("eu"), collectBool(true), collectNum("3")),
				collectCols(collectStr("us"), collectBool(false), collectNum("0")),
				collectCols(collectStr("us"), collectBool(true), collectNum("2")),
			),
		},
		"numbers of int and double type group together, in numeric order": {
			spec: controlv1alpha1.StatusCollectorSpec{
				GroupBy: []controlv1alpha1.NamedExpression{collectNamed("ready",
					"returned.status.ready >= 3 ? dyn(10) : (returned.status.ready == 0 ? dyn(10.0) : dyn(9.0))")},
				CombinedFields: []controlv1alpha1.NamedAggregator{collectAgg("n", controlv1alpha1.AggregatorTypeCount, "")},
			},
			wantColumns: []string{"ready", "n"},
			wantRows: collectRows(
				collectCols(collectNum("9"), collectNum("2")),
				collectCols(collectNum("10"), collectNum("3")),
			),
		},
		"groupBy only": {
			spec: controlv1alpha1.StatusCollectorSpec{
				GroupBy: []controlv1alpha1.NamedExpression{collectNamed("zone", "returned.status.zone")},
			},
			wantColumns: []string{"zone"},
			wantRows:    collectRows(collectCols(collectStr("eu")), collectCols(collectStr("us"))),
		},
		"groupBy with no WEC left has no rows": {
			spec: controlv1alpha1.StatusCollectorSpec{
				Filter:         collectExpr("false"),
				GroupBy:        []controlv1alpha1.NamedExpression{collectNamed("zone", "returned.status.zone")},
				CombinedFields: []controlv1alpha1.NamedAggregator{collectAgg("n", controlv1alpha1.AggregatorTypeCount, "")},
			},
			wantColumns: []string{"zone", "n"},
		},
		"objects as group values": {
			spec: controlv1alpha1.StatusCollectorSpec{
				GroupBy:        []controlv1alpha1.NamedExpression{collectNamed("o", "{'zone': returned.status.zone}")},
				CombinedFields: []controlv1alpha1.NamedAggregator{collectAgg("n", controlv1alpha1.AggregatorTypeCount, "")},
			},
			wantColumns: []string{"o", "n"},
			wantRows: collectRows(
				collectCols(collectObject(`{"zone":"eu"}`), collectNum("3")),
				collectCols(collectObject(`{"zone":"us"}`), collectNum("2")),
			),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := mustCompileCollector(t, tc.spec)
			got := c.Evaluate(collectDeployment, wecs)
			assert.Equal(t, tc.wantColumns, got.ColumnNames)
			assert.Equal(t, tc.wantRows, got.Rows)
			assert.Equal(t, tc.wantRowErrs, got.RowErrors)
			assert.Empty(t, got.AggregationErrors)
		})
	}
}

func collectObject(raw string) controlv1alpha1.Value {
	v := controlv1alpha1.Value{Type: controlv1alpha1.TypeObject}
	v.Object = new(collectJSON(raw))
	return v
}

func collectJSON(raw string) apiextensionsv1.JSON { return apiextensionsv1.JSON{Raw: []byte(raw)} }

func collectArray(raw string) controlv1alpha1.Value {
	v := controlv1alpha1.Value{Type: controlv1alpha1.TypeArray}
	v.Array = new(collectJSON(raw))
	return v
}

func TestEvaluateSelect(t *testing.T) {
	when := time.Date(2025, 3, 1, 12, 0, 0, 500, time.UTC)
	wecs := []report.WECReport{
		{WEC: "zeta", Status: map[string]any{"phase": "Running", "ready": int64(3), "conditions": []any{map[string]any{"type": "Available"}}}, LastReturnedUpdate: when},
		{WEC: "alpha", Status: map[string]any{"phase": "Failed", "ready": 1.25}},
	}
	c := mustCompileCollector(t, controlv1alpha1.StatusCollectorSpec{
		Select: []controlv1alpha1.NamedExpression{
			collectNamed("wec", "inventory.name"),
			collectNamed("phase", "returned.status.phase"),
			collectNamed("ready", "returned.status.ready"),
			collectNamed("ok", "returned.status.ready == obj.spec.replicas"),
			collectNamed("conditions", "returned.status.conditions"),
			collectNamed("objHasStatus", "has(obj.status)"),
			collectNamed("status", "returned.status.filter(k, k == 'phase')"),
			collectNamed("time", "propagation.lastReturnedUpdateTimestamp"),
			collectNamed("nan", "0.0 / 0.0"),
			collectNamed("big", "1e21 + 0.0"),
			collectNamed("opt", "obj.?spec.?paused"),
			collectNamed("fails", "1 / 0"),
		},
	})
	got := c.Evaluate(collectDeployment, wecs)
	assert.Equal(t, []string{"wec", "phase", "ready", "ok", "conditions", "objHasStatus", "status", "time", "nan", "big", "opt", "fails"}, got.ColumnNames)
	assert.Equal(t, collectRows(
		collectCols(collectStr("alpha"), collectStr("Failed"), collectNum("1.25"), collectBool(false),
			collectNull, collectBool(false), collectArray(`["phase"]`), collectStr("0001-01-01T00:00:00Z"),
			collectNum("NaN"), collectNum("1e+21"), collectNull, collectNull),
		collectCols(collectStr("zeta"), collectStr("Running"), collectNum("3"), collectBool(true),
			collectArray(`[{"type":"Available"}]`), collectBool(false), collectArray(`["phase"]`), collectStr("2025-03-01T12:00:00.0000005Z"),
			collectNum("NaN"), collectNum("1e+21"), collectNull, collectNull),
	), got.Rows)
	assert.Equal(t, []controlv1alpha1.RowEvaluationError{
		{WEC: controlv1alpha1.Destination{ClusterId: "alpha"}, ColumnName: "conditions", Error: "no such key: conditions"},
		{WEC: controlv1alpha1.Destination{ClusterId: "alpha"}, ColumnName: "fails", Error: "division by zero"},
		{WEC: controlv1alpha1.Destination{ClusterId: "zeta"}, ColumnName: "fails", Error: "division by zero"},
	}, got.RowErrors)
	assert.Empty(t, got.AggregationErrors)
}

func TestEvaluateUnencodableValue(t *testing.T) {
	c := mustCompileCollector(t, controlv1alpha1.StatusCollectorSpec{
		Select: []controlv1alpha1.NamedExpression{collectNamed("m", "{'x': 0.0 / 0.0}"), collectNamed("t", "type(1)")},
	})
	got := c.Evaluate(collectDeployment, collectWECs(collectReplicas(nil)))
	assert.Equal(t, collectRows(collectCols(collectNull, collectNull)), got.Rows)
	require.Len(t, got.RowErrors, 2)
	assert.Equal(t, "m", got.RowErrors[0].ColumnName)
	assert.Contains(t, got.RowErrors[0].Error, "NaN")
	assert.Equal(t, "t", got.RowErrors[1].ColumnName)
}

func TestEvaluateLimit(t *testing.T) {
	var wecs []report.WECReport
	for i := range 30 {
		wecs = append(wecs, report.WECReport{WEC: fmt.Sprintf("wec%02d", i), Status: map[string]any{"n": int64(i)}})
	}
	tests := map[string]struct {
		spec     controlv1alpha1.StatusCollectorSpec
		wantRows int
		wantLast controlv1alpha1.Value
	}{
		"select, default 20": {
			spec:     controlv1alpha1.StatusCollectorSpec{Select: []controlv1alpha1.NamedExpression{collectNamed("wec", "inventory.name")}},
			wantRows: 20, wantLast: collectStr("wec19"),
		},
		"select, explicit 3": {
			spec:     controlv1alpha1.StatusCollectorSpec{Limit: 3, Select: []controlv1alpha1.NamedExpression{collectNamed("wec", "inventory.name")}},
			wantRows: 3, wantLast: collectStr("wec02"),
		},
		"select, limit above the rows": {
			spec:     controlv1alpha1.StatusCollectorSpec{Limit: 100, Select: []controlv1alpha1.NamedExpression{collectNamed("wec", "inventory.name")}},
			wantRows: 30, wantLast: collectStr("wec29"),
		},
		"groups, default 20": {
			spec:     controlv1alpha1.StatusCollectorSpec{GroupBy: []controlv1alpha1.NamedExpression{collectNamed("n", "returned.status.n")}},
			wantRows: 20, wantLast: collectNum("19"),
		},
		"groups, explicit 5": {
			spec: controlv1alpha1.StatusCollectorSpec{
				Limit:          5,
				GroupBy:        []controlv1alpha1.NamedExpression{collectNamed("n", "returned.status.n % 10")},
				CombinedFields: []controlv1alpha1.NamedAggregator{collectAgg("c", controlv1alpha1.AggregatorTypeCount, "")},
			},
			wantRows: 5, wantLast: collectNum("4"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := mustCompileCollector(t, tc.spec).Evaluate(collectDeployment, wecs)
			require.Len(t, got.Rows, tc.wantRows)
			assert.Equal(t, tc.wantLast, got.Rows[tc.wantRows-1].Columns[0])
		})
	}
}

func TestEvaluateNoColumns(t *testing.T) {
	c := mustCompileCollector(t, controlv1alpha1.StatusCollectorSpec{Filter: collectExpr("returned.status.nonsense == 1 || true")})
	got := c.Evaluate(collectDeployment, collectWECs(collectReplicas(1), collectReplicas(2)))
	assert.Equal(t, controlv1alpha1.NamedStatusCombination{Name: "sc", ColumnNames: []string{}}, got)
}

func TestEvaluateRunawayExpressionIsStopped(t *testing.T) {
	list := "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
	runaway := "true"
	for _, v := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"} {
		runaway = fmt.Sprintf("%s.all(%s, %s)", list, v, runaway) // 10^9 iterations
	}
	c := mustCompileCollector(t, controlv1alpha1.StatusCollectorSpec{
		Filter: collectExpr(runaway),
		Select: []controlv1alpha1.NamedExpression{collectNamed("wec", "inventory.name"), collectNamed("runaway", runaway)},
	})
	start := time.Now()
	got := c.Evaluate(collectDeployment, collectWECs(collectReplicas(1)))
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Empty(t, got.Rows)
	require.Len(t, got.RowErrors, 1)
	assert.Equal(t, "", got.RowErrors[0].ColumnName)
	assert.Contains(t, got.RowErrors[0].Error, "cost limit exceeded")

	c = mustCompileCollector(t, controlv1alpha1.StatusCollectorSpec{
		Select: []controlv1alpha1.NamedExpression{collectNamed("runaway", runaway)},
	})
	got = c.Evaluate(collectDeployment, collectWECs(collectReplicas(1)))
	assert.Equal(t, collectRows(collectCols(collectNull)), got.Rows)
	require.Len(t, got.RowErrors, 1)
	assert.Equal(t, "runaway", got.RowErrors[0].ColumnName)
	assert.Contains(t, got.RowErrors[0].Error, "cost limit exceeded")
}

func TestEvaluateDoesNotModifyInputs(t *testing.T) {
	wecs := collectWECs(collectReplicas(int64(1)), collectReplicas(int64(2)))
	wecs[0], wecs[1] = wecs[1], wecs[0]
	c := mustCompileCollector(t, controlv1alpha1.StatusCollectorSpec{Select: []controlv1alpha1.NamedExpression{collectNamed("wec", "inventory.name")}})
	got := c.Evaluate(collectDeployment, wecs)
	assert.Equal(t, collectRows(collectCols(collectStr("wec1")), collectCols(collectStr("wec2"))), got.Rows)
	assert.Equal(t, "wec2", wecs[0].WEC)
	assert.Contains(t, collectDeployment, "status")
}

// TestEvaluateReturnedIntegers: a returned status is decoded as the API
// machinery decodes objects, whole numbers as CEL ints, so that
// arithmetic with integer literals works as in KubeStellar.
func TestEvaluateReturnedIntegers(t *testing.T) {
	c := mustCompileCollector(t, controlv1alpha1.StatusCollectorSpec{
		Select: []controlv1alpha1.NamedExpression{collectNamed("next", "returned.status.replicas + 1"), collectNamed("double", "returned.status.ratio * 2.0")},
	})
	got := c.Evaluate(collectDeployment, []report.WECReport{{WEC: "wec1", Status: report.DecodeReturned([]byte(`{"replicas": 2, "ratio": 0.25}`))}})
	assert.Empty(t, got.RowErrors)
	assert.Equal(t, collectRows(collectCols(collectNum("3"), collectNum("0.5"))), got.Rows)
	assert.Nil(t, report.DecodeReturned([]byte(`[1]`)), "not an object")
}
