package bench

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// cpuGroups are the processes whose CPU time the benchmark accounts, by
// group: gitstellar run, etcd, the ITS and WDS apiservers, the WEC
// apiservers together.
func (b *bench) cpuGroups(ctx context.Context, runPID int) map[string][]int {
	groups := map[string][]int{"gitstellar run": {runPID}}
	for _, p := range b.env.Status(ctx) {
		if p.PID == 0 {
			continue
		}
		name := p.Name
		if strings.HasPrefix(name, "cluster") {
			name = "WEC apiservers"
		}
		groups[name] = append(groups[name], p.PID)
	}
	return groups
}

// cpuSeconds reads the CPU time (user + system) of each group's processes
// so far, in seconds (Linux).
func cpuSeconds(groups map[string][]int) map[string]float64 {
	out := map[string]float64{}
	for name, pids := range groups {
		for _, pid := range pids {
			out[name] += processCPU(pid)
		}
	}
	return out
}

// processCPU is utime + stime of a process, in seconds; 0 when unknown.
func processCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / clockTicks
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100

// cpuBetween is the CPU seconds each group used between two readings.
func cpuBetween(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for name, v := range after {
		out[name] = v - before[name]
	}
	return out
}

// cpuLine words a CPU account, largest first, with each group's share.
func cpuLine(cpu map[string]float64) string {
	names := make([]string, 0, len(cpu))
	total := 0.0
	for name, v := range cpu {
		names = append(names, name)
		total += v
	}
	sort.Slice(names, func(i, j int) bool { return cpu[names[i]] > cpu[names[j]] })
	var parts []string
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.1fs (%.0f%%)", name, cpu[name], 100*cpu[name]/max(total, 1e-9)))
	}
	return fmt.Sprintf("%.1f CPU-s: %s", total, strings.Join(parts, ", "))
}
