// Package validate checks a rendered revision offline, as the spaces and
// gitstellar's controllers would check it: gitstellar's and KubeStellar's
// control objects against their CRDs' schemas and CEL rules (pkg/crds),
// CustomTransforms' paths as the transport parses them (pkg/propagate),
// and StatusCollectors' CEL expressions as the status controller compiles
// them (pkg/report).
//
// `validate`, `plan` and `run` render with it (render.Options.Validator),
// so a revision that a space or a controller would refuse fails to render,
// with file:line, and applies nothing.
//
// Data flow: source → render (checked here) → apply to spaces → bind →
// propagate → report.
package validate
