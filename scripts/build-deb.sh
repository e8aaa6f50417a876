#!/bin/sh
# Builds lbd_<version>_<arch>.deb with debhelper from binaries already built (make deb):
#   scripts/build-deb.sh BIN_DIR OUT_DIR
# BIN_DIR holds the release lbd, lbctl and generate-manual; the version is VERSION's. Stages a source tree
# (packaging/debian, the binaries, man pages, completions, configuration, contrib/, docs)
# under OUT_DIR and runs dpkg-buildpackage there, so nothing is written next to the
# repository.
set -eu
bin_dir=$1 out_dir=$2
version=$(cat VERSION)
stage=$out_dir/lbd-$version

rm -rf "$out_dir"
mkdir -p "$stage/bin" "$stage/completions" "$stage/config" "$stage/docs"
cp -r packaging/debian "$stage/debian"
cp "$bin_dir/lbd" "$bin_dir/lbctl" "$stage/bin/"
cp -r contrib "$stage/contrib"
cp README.md "$stage/"
cp docs/*.md "$stage/docs/"
cp config/lbd.yaml "$stage/config/"
scripts/generate-manuals.sh "$bin_dir" "$stage/man"
scripts/system-files.sh completions "$bin_dir" "$stage/completions/lbctl" "$stage/completions/_lbctl" \
    "$stage/completions/lbctl.fish"
# bash-completion sources the script: no #! line (lintian).
sed -i '1{/^#!/d}' "$stage/completions/lbctl"
# The unit and its generator name the package's paths; debhelper installs the unit.
mkdir "$stage/generator"
scripts/system-files.sh units /usr/sbin /etc "$stage/debian/lbd.service" "$stage/generator/lbd-generator"

# The changelog carries the version; its date is the commit's, so a rebuild of one commit
# gives the same package.
commit=$(git rev-parse --short=12 HEAD)
{
    printf 'lbd (%s) unstable; urgency=medium\n\n' "$version"
    printf '  * Built from commit %s.\n\n' "$commit"
    printf ' -- lbd developers <lbd-dev@example.org>  %s\n' "$(git log -1 --format=%aD)"
} > "$stage/debian/changelog"

# -d: SwiftPM and the toolchain are no Debian packages, so the build dependencies are
# not checked; the package needs none of them at run time.
(cd "$stage" && SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) dpkg-buildpackage -b -d -us -uc --no-sign >/dev/null)
