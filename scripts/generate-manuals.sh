#!/bin/sh
# Writes OUT_DIR/man8/lbd.8 and OUT_DIR/man1/lbctl.1 from their ArgumentParser definitions with ArgumentParser's
# generate-manual tool (built beside them by make):
#   scripts/generate-manuals.sh BIN_DIR OUT_DIR
# The tool is run directly rather than through its package plugin, which would build
# every product of the package and give lbd the section of a user command. The date is
# the commit's, so the pages of one commit are the same on every build.
set -eu
bin_dir=$1 out_dir=$2
date=$(git log -1 --format=%cs 2>/dev/null || date +%F)
mkdir -p "$out_dir/man8" "$out_dir/man1"
"$bin_dir/generate-manual" "$bin_dir/lbd" --section 8 --date "$date" --output-directory "$out_dir/man8"
"$bin_dir/generate-manual" "$bin_dir/lbctl" --section 1 --date "$date" --output-directory "$out_dir/man1"
# A discussion's blank lines (between paragraphs) come out as empty input lines, which
# groff reads as blank lines but warns about: say so with the request instead.
sed -i 's/^$/.sp/' "$out_dir/man8/lbd.8" "$out_dir/man1/lbctl.1"
