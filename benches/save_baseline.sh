#!/bin/sh
# The git CLI baseline of `benches/save.rs` (see docs/PERFORMANCE.md, "Save overhead"):
# merges each task branch into an integration commit on git objects only
# (`git merge-tree --write-tree` + `git commit-tree`), then fast-forwards main and writes an
# annotated checkpoint tag. No work tree, no index, no audit trail.
#
# Run it in the repository:
#   sh save_baseline.sh MAIN TAG [BRANCH...]
# e.g. `sh benches/save_baseline.sh main checkpoint/bench-001`; without branches it merges
# every `session/*/task/*` branch. A conflicting merge stops it (exit 1) before any ref moves.
set -eu
main=$1
tag=$2
shift 2
if [ $# -eq 0 ]; then
    set -- $(git for-each-ref --format='%(refname:short)' 'refs/heads/session/*/task/*')
fi
ident="-c user.name=B -c user.email=b@example.com"
old=$(git rev-parse --verify "refs/heads/$main")
integ=$old
for branch in "$@"; do
    tree=$(git merge-tree --write-tree "$integ" "$branch")
    integ=$(git $ident commit-tree "$tree" -p "$integ" -p "$branch" -m "merge $branch")
done
git update-ref "refs/heads/$main" "$integ" "$old"
git $ident tag -a "$tag" -m "qa summary" "$integ"
