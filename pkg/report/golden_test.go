package report_test

import "flag"

// update rewrites the golden files of the package's tests instead of
// comparing with them: go test ./pkg/report -update.
var update = flag.Bool("update", false, "rewrite the golden files")
