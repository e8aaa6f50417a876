#!/bin/sh
# Installs Debian packages wanted for a command they ship, not for the server they also
# ship (prometheus, for promtool): without recommends (prometheus-node-exporter), with no
# service started by the install, and none enabled at boot. Each package's unit has the
# package's name. Packages already installed are left as they are.
set -eu

missing=""
for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
[ -n "$missing" ] || exit 0
echo "installing (no service started):$missing"
# shellcheck disable=SC2086 # package names are single words
set -- $missing

# invoke-rc.d and deb-systemd-invoke ask policy-rc.d; 101 means "do not start". An
# existing policy is the admin's and is left alone (the stop below covers a lenient one).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 0755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null

if command -v systemctl >/dev/null; then
    for unit in "$@"; do
        systemctl disable --quiet "$unit" 2>/dev/null || true
        # Only a running systemd has anything to stop.
        if [ -d /run/systemd/system ]; then systemctl stop "$unit" 2>/dev/null || true; fi
    done
fi
