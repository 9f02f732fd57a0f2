// Package source follows the Git repository that declares the spaces, the
// WECs, the workloads and the control objects: it fetches a branch, a tag or
// a pinned commit with go-git, on an interval, a cron schedule or a push
// webhook, and yields revisions (a commit and its checked-out tree). It
// reads Git; it never writes it (pkg/report does).
//
// Not implemented yet: the package only reserves its place in the data flow
// source → render → apply → bind → propagate → report.
package source
