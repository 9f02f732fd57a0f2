// Package metrics holds gitstellar's Prometheus metrics and serves them,
// with health and readiness, over HTTP (`gitstellar run --metrics-addr`).
// Every metric is listed in docs/operations.md.
package metrics
