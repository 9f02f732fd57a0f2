// Package source follows the Git repository that declares the spaces, the
// WECs, the workloads and the control objects. A Fetcher resolves a branch,
// a tag or a pinned commit with go-git, fetches only what it lacks (shallow
// where the server allows), and checks the commit's tree out into a
// directory of its own: a Revision. Fetching an unchanged ref does no work
// and reports the Revision as unchanged, so that nothing downstream runs.
//
// Triggers say when to fetch: an interval, a cron schedule (robfig/cron),
// and a push webhook (GitHub, GitLab, or a generic HMAC-SHA256 signature)
// that only ever triggers a fetch: a webhook's body is never read as
// content.
//
// The package reads Git; it never writes it (pkg/report does).
package source
