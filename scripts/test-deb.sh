#!/bin/sh
# The package's test (root): installs lbd_<version>_<arch>.deb with dpkg -i, runs the
# installed lbd and lbctl, upgrades it, removes and purges it, and checks what each step
# left and which systemd calls the maintainer scripts made:
#   scripts/test-deb.sh PACKAGE.deb
# Everything happens in a private mount namespace over copy-on-write copies of /etc, /usr
# and /var (and an empty /run): the machine's files, its dpkg database, a
# `make install` and the tests running beside it never see the package, and nothing is
# left behind, whatever the outcome.
set -eu
if [ "${1:-}" != --inside ]; then
    deb=$(realpath "$1")
    scratch=$(mktemp -d /tmp/lbd-test-deb.XXXXXX)
    trap 'rmdir "$scratch"' EXIT
    unshare --mount --propagation private sh -eu "$0" --inside "$deb" "$scratch"
    echo "test-deb: ok"
    exit 0
fi

# Inside the namespace: $2 the package, $3 a directory for the copies' upper layers.
deb=$2 scratch=$3
mount -t tmpfs lbd-test-deb "$scratch"
for dir in etc usr var; do
    mkdir "$scratch/$dir" "$scratch/$dir.work"
    mount -t overlay overlay -o "lowerdir=/$dir,upperdir=$scratch/$dir,workdir=$scratch/$dir.work" "/$dir"
done
# The copy starts without any lbd of a `make install` or an earlier package.
rm -rf /etc/lbd /var/lib/lbd /usr/local/bin/lbd /usr/local/bin/lbctl /etc/systemd/system/lbd.service \
    /etc/systemd/system-generators/lbd-generator
if dpkg -s lbd >/dev/null 2>&1; then dpkg --purge lbd >/dev/null; fi
if getent group lbd >/dev/null; then groupdel lbd; fi

# A systemd as the maintainer scripts see it (/run/systemd/system), whose systemctl and
# deb-systemd-invoke only record how they were called.
mount -t tmpfs lbd-test-run /run
mkdir -p /run/systemd/system
calls=$scratch/systemd-calls
for tool in systemctl deb-systemd-invoke; do
    printf '#!/bin/sh\necho "%s $*" >> %s\n' "$tool" "$calls" > "/usr/bin/$tool"
    chmod 0755 "/usr/bin/$tool"
done

fail() { echo "test-deb: $*" >&2; exit 1; }
expect() { # expect WHAT EXPECTED ACTUAL
    [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}
version=$(dpkg-deb --field "$deb" Version)
commit=$(git rev-parse --short=12 HEAD)

# Runtime dependencies only: the libraries the binaries link (libbpf1 brings libelf1 and
# zlib1g), no -dev package, compiler or toolchain.
depends=$(dpkg-deb --field "$deb" Depends)
echo "$depends" | grep -Eq '(^|, )(clang|gcc|g\+\+|cpp|swift|binutils|make)[^,]*|-dev( |,|$)' &&
    fail "Depends names build tools: $depends"
for lib in libbpf1 libc6; do
    echo "$depends" | grep -q "\b$lib\b" || fail "Depends lacks $lib: $depends"
done

# Install: the group, the files, the conffile; systemd reloaded, lbd neither enabled nor started.
: > "$calls"
dpkg -i "$deb" > "$scratch/install.log" 2>&1 || { cat "$scratch/install.log" >&2; fail "dpkg -i failed"; }
getent group lbd >/dev/null || fail "no group lbd after install"
for file in /usr/sbin/lbd /usr/bin/lbctl /lib/systemd/system/lbd.service /etc/lbd/lbd.yaml \
        /usr/share/bash-completion/completions/lbctl /usr/share/zsh/vendor-completions/_lbctl \
        /usr/share/fish/vendor_completions.d/lbctl.fish /usr/share/lbd/contrib/grafana/lbd.json \
        /usr/share/lbd/contrib/prometheus/alerts.yml /usr/share/doc/lbd/README.md.gz \
        /usr/share/doc/lbd/copyright /usr/share/man/man8/lbd.8.gz /usr/share/man/man1/lbctl.1.gz; do
    [ -e "$file" ] || fail "$file not installed"
done
# Every page of docs/ ships beside the README (compressed or not, as dh_compress decides).
for doc in docs/*.md; do
    ls "/usr/share/doc/lbd/$(basename "$doc")"* >/dev/null 2>&1 || fail "$doc not installed"
done
expect "conffiles" "/etc/lbd/lbd.yaml" "$(dpkg-query --control-show lbd conffiles)"
expect "the unit's ExecStart" "ExecStart=/usr/sbin/lbd --config /etc/lbd/lbd.yaml" \
    "$(grep '^ExecStart=' /lib/systemd/system/lbd.service)"
expect "systemd calls on install" "systemctl --system daemon-reload" "$(cat "$calls")"

# The installed binaries.
expect "lbd --version" "lbd $version (commit $commit)" "$(/usr/sbin/lbd --version)"
expect "lbctl --version" "lbctl $version (commit $commit)" "$(/usr/bin/lbctl --version)"
expect "lbd check" "/etc/lbd/lbd.yaml: ok" "$(/usr/sbin/lbd check --config /etc/lbd/lbd.yaml)"
# The generator runs the installed lbd: its drop-in names the configured paths.
/lib/systemd/system-generators/lbd-generator "$scratch/generated"
grep -q '^ReadWritePaths=' "$scratch/generated/lbd.service.d/50-lbd-paths.conf" ||
    fail "lbd-generator wrote no ReadWritePaths"

# Upgrade (the same version again): lbd restarted only if it runs.
: > "$calls"
dpkg -i "$deb" > "$scratch/upgrade.log" 2>&1 || { cat "$scratch/upgrade.log" >&2; fail "upgrade failed"; }
expect "systemd calls on upgrade" "systemctl --system daemon-reload
deb-systemd-invoke try-restart lbd.service" "$(cat "$calls")"

# Remove keeps the state and the configuration; purge removes both.
mkdir -p /var/lib/lbd
echo 'services: []' > /var/lib/lbd/state.yaml
: > "$calls"
dpkg -r lbd > "$scratch/remove.log" 2>&1 || { cat "$scratch/remove.log" >&2; fail "dpkg -r failed"; }
expect "systemd calls on remove" "deb-systemd-invoke stop lbd.service
systemctl --system daemon-reload" "$(cat "$calls")"
[ ! -e /usr/sbin/lbd ] || fail "/usr/sbin/lbd left after remove"
[ -e /var/lib/lbd/state.yaml ] || fail "remove deleted the state"
[ -e /etc/lbd/lbd.yaml ] || fail "remove deleted the configuration"
dpkg -P lbd > "$scratch/purge.log" 2>&1 || { cat "$scratch/purge.log" >&2; fail "dpkg -P failed"; }
[ ! -e /var/lib/lbd ] || fail "/var/lib/lbd left after purge"
[ ! -e /etc/lbd/lbd.yaml ] || fail "/etc/lbd/lbd.yaml left after purge"
dpkg -s lbd >/dev/null 2>&1 && fail "lbd still known to dpkg after purge"
exit 0
