#!/bin/sh
# The files lbd installs besides its binaries, written for where they go; shared by
# `make install` and scripts/build-deb.sh.
#   scripts/system-files.sh completions BIN_DIR BASH_FILE ZSH_FILE FISH_FILE
#     lbctl's completion scripts (BIN_DIR holds lbctl);
#   scripts/system-files.sh units LBD_DIR SYSCONFDIR UNIT_FILE GENERATOR_FILE
#     the unit and its generator, naming lbd in LBD_DIR and its configuration in
#     SYSCONFDIR/lbd (systemd/ names /usr/local/bin and /etc).
set -eu

case $1 in
completions)
    bin_dir=$2
    "$bin_dir/lbctl" --generate-completion-script bash > "$3"
    "$bin_dir/lbctl" --generate-completion-script zsh > "$4"
    "$bin_dir/lbctl" --generate-completion-script fish > "$5"
    ;;
units)
    paths="s|/usr/local/bin/|$2/|g; s|/etc/lbd/|$3/lbd/|g"
    sed "$paths" systemd/lbd.service > "$4"
    chmod 0644 "$4"
    sed "$paths" systemd/lbd-generator > "$5"
    chmod 0755 "$5"
    ;;
*)
    echo "usage: $0 completions BIN_DIR BASH ZSH FISH | units LBD_DIR SYSCONFDIR UNIT GENERATOR" >&2
    exit 2
    ;;
esac
