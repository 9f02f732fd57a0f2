// Package controller is the source controller: it follows a repository
// (pkg/source), renders each new revision (pkg/render), installs
// gitstellar's CRDs into every space the revision declares (pkg/crds) and
// applies the objects into them (pkg/apply), ITSes first, then WDSes; and
// it runs a bind controller (pkg/bind) for every WDS, with its ITS.
//
// A revision that does not render applies nothing: the last good revision
// stays in force, and the errors are reported in the SyncResult, the log and
// as Events on the Space objects. A revision that rendered is applied even
// when one space is unreachable; that space's result says so and the next
// sync tries again.
package controller
