#!/bin/sh
# Plans a pull request: what merging it does to every WEC and BindingPolicy.
#
#   plan.sh BASE OUTPUT [PATH]
#
# BASE is the revision the pull request merges into (e.g. origin/main),
# OUTPUT the Markdown file to post as a comment, PATH the sub-directory of
# the repository holding the layout (if not the root). FAIL_ON
# (default "deletions") says what fails the check: "warnings", "deletions"
# or both ("warnings,deletions"); "" fails on nothing.
#
# Exit code: 0, or 1 when FAIL_ON matched (OUTPUT is written either way),
# or 2 when the plan itself failed.
set -eu
base=$1
out=$2
path=${3:-}
fail_on=${FAIL_ON-deletions}
status=0
gitstellar plan --repo . ${path:+--path "$path"} --base "$base" --head HEAD \
  --format markdown ${fail_on:+--fail-on "$fail_on"} > "$out" || status=$?
if [ "$status" -gt 1 ]; then
  echo "gitstellar plan failed (exit $status)" >&2
  exit "$status"
fi
echo "plan of $base..HEAD written to $out (exit $status)"
exit "$status"
