package report

import (
	"maps"
	"slices"
	"strings"
)

// Multi-WEC reported state: one status for a workload object placed in
// several WECs, written into the WDS object. The rule per kind (also in
// docs/reported-state.md):
//
//   - counts of what is there and working (replicas, ready, available,
//     updated, scheduled, succeeded...) take the MIN over the WECs: the
//     WDS object is as good as its worst placement;
//   - counts of what is wrong (unavailable, misscheduled, failed) take the
//     MAX;
//   - Job.active is the SUM (pods running anywhere);
//   - observedGeneration is the MIN (a WEC behind shows);
//   - a condition is True only when it is True in every WEC; otherwise it
//     is the first WEC's non-True condition, its message prefixed by the
//     WEC's name. Job's Failed condition is the reverse: True when True in
//     any WEC;
//   - Job.startTime is the earliest, completionTime the latest and only
//     when every WEC completed.
//
// A WEC that has returned no status yet counts as all zeros, so the
// aggregate never looks better than the truth.

// aggregateRule says how to combine a kind's status fields.
type aggregateRule struct {
	min, max, sum []string
	anyCondition  []string // condition types True when True in any WEC
	times         bool     // Job start/completion times
}

var aggregateRules = map[string]aggregateRule{
	"apps/Deployment": {
		min: []string{"replicas", "updatedReplicas", "readyReplicas", "availableReplicas"},
		max: []string{"unavailableReplicas"},
	},
	"apps/ReplicaSet": {
		min: []string{"replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"},
	},
	"apps/DaemonSet": {
		min: []string{"currentNumberScheduled", "desiredNumberScheduled", "numberAvailable", "numberReady", "updatedNumberScheduled"},
		max: []string{"numberMisscheduled", "numberUnavailable"},
	},
	"apps/StatefulSet": {
		min: []string{"replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"},
	},
	"batch/Job": {
		min:          []string{"succeeded", "ready"},
		max:          []string{"failed"},
		sum:          []string{"active"},
		anyCondition: []string{"Failed", "FailureTarget"},
		times:        true,
	},
}

// Aggregatable tells whether a multi-WEC reported state is defined for a
// kind.
func Aggregatable(group, kind string) bool {
	_, ok := aggregateRules[group+"/"+kind]
	return ok
}

// AggregateStatus combines the statuses returned by several WECs (WEC
// name → .status, nil when none came back yet) into one, by the kind's
// rule. It returns nil for a kind without a rule.
func AggregateStatus(group, kind string, statuses map[string]map[string]any) map[string]any {
	rule, ok := aggregateRules[group+"/"+kind]
	if !ok {
		return nil
	}
	wecs := slices.Sorted(maps.Keys(statuses))
	out := map[string]any{}
	combine := func(fields []string, pick func(a, b int64) int64, start func(first int64) int64) {
		for _, f := range fields {
			var acc int64
			for i, w := range wecs {
				v := intField(statuses[w], f)
				if i == 0 {
					acc = start(v)
					continue
				}
				acc = pick(acc, v)
			}
			if len(wecs) > 0 {
				out[f] = acc
			}
		}
	}
	identity := func(v int64) int64 { return v }
	combine(rule.min, func(a, b int64) int64 { return min(a, b) }, identity)
	combine(rule.max, func(a, b int64) int64 { return max(a, b) }, identity)
	combine(rule.sum, func(a, b int64) int64 { return a + b }, identity)
	combine([]string{"observedGeneration"}, func(a, b int64) int64 { return min(a, b) }, identity)
	if conds := aggregateConditions(wecs, statuses, rule.anyCondition); len(conds) > 0 {
		out["conditions"] = conds
	}
	if rule.times {
		var start, completion string
		complete := len(wecs) > 0
		for _, w := range wecs {
			s, _ := statuses[w]["startTime"].(string)
			if s != "" && (start == "" || s < start) { // RFC 3339 UTC sorts as text
				start = s
			}
			c, _ := statuses[w]["completionTime"].(string)
			if c == "" {
				complete = false
			} else if c > completion {
				completion = c
			}
		}
		if start != "" {
			out["startTime"] = start
		}
		if complete {
			out["completionTime"] = completion
		}
	}
	return out
}

func aggregateConditions(wecs []string, statuses map[string]map[string]any, anyTypes []string) []any {
	var types []string
	byWEC := map[string]map[string]map[string]any{} // WEC → type → condition
	for _, w := range wecs {
		byWEC[w] = map[string]map[string]any{}
		conds, _ := statuses[w]["conditions"].([]any)
		for _, c := range conds {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			t, _ := m["type"].(string)
			if t == "" {
				continue
			}
			byWEC[w][t] = m
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	slices.Sort(types)
	var out []any
	for _, t := range types {
		inverted := slices.Contains(anyTypes, t)
		var chosen map[string]any
		chosenWEC := ""
		for _, w := range wecs {
			c := byWEC[w][t]
			isTrue := c != nil && c["status"] == "True"
			if inverted == isTrue { // the condition that decides
				chosen, chosenWEC = c, w
				break
			}
		}
		if chosen == nil { // every WEC agrees: keep the first one's
			for _, w := range wecs {
				if c := byWEC[w][t]; c != nil {
					chosen = c
					break
				}
			}
			out = append(out, maps.Clone(chosen))
			continue
		}
		c := maps.Clone(chosen)
		if msg, _ := c["message"].(string); !strings.HasPrefix(msg, chosenWEC+": ") {
			c["message"] = chosenWEC + ": " + msg
		}
		out = append(out, c)
	}
	if missing := missingWECs(wecs, byWEC, types); len(types) > 0 && len(missing) > 0 {
		// A WEC without the condition at all is not True.
		for i, t := range types {
			if slices.Contains(anyTypes, t) {
				continue
			}
			c := out[i].(map[string]any)
			if c["status"] == "True" {
				c["status"] = "Unknown"
				c["reason"] = "NotReported"
				c["message"] = missing[0] + ": not reported"
			}
		}
	}
	return out
}

// missingWECs lists the WECs that reported none of the condition types.
func missingWECs(wecs []string, byWEC map[string]map[string]map[string]any, types []string) []string {
	var out []string
	for _, w := range wecs {
		if len(byWEC[w]) == 0 && len(types) > 0 {
			out = append(out, w)
		}
	}
	return out
}

func intField(status map[string]any, field string) int64 {
	switch v := status[field].(type) {
	case int64:
		return v
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case float64:
		return int64(v)
	}
	return 0
}
