#!/usr/bin/env bash
# demo.sh — `make demo`: the real lbd and lbctl on a scripts/lbd-topology network.
#
#     client ── router ── lb (lbd, XDP)     b1 b2 b3: an HTTP server naming itself
#                  ├───── b1
#                  ├───── b2                a v4 VIP and a v6 VIP, weights 100/200/300,
#                  └───── b3                HTTP health checks every 500 ms
#
# Requests spread by weight; b2's server killed, taken out by the health checker and
# brought back; b3 drained and undrained; `lbctl status`; a few metrics. Everything —
# lbd, namespaces, pins, files — is torn down at the end, on failure and on Ctrl-C.
#
# usage: LBD_BIN_DIR=DIR scripts/demo.sh    DIR holds release lbd and lbctl (make demo
#                                           builds them; default .build/release).
# Needs root and bpf/build/decap.bpf.o (make bpf).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
bin=${LBD_BIN_DIR:-$root/.build/release}
topology_script=$here/lbd-topology
name=demo-$$
requests=60
started=$(date +%s.%N)

[ "$(id -u)" = 0 ] || { echo "demo: needs root (namespaces, XDP)" >&2; exit 1; }
for program in lbd lbctl; do
    [ -x "$bin/$program" ] || { echo "demo: no $bin/$program: make demo builds it" >&2; exit 1; }
done

lbd_pid=""
teardown() {
    local status=$?
    trap '' INT TERM HUP PIPE  # a second Ctrl-C must not stop the teardown half-way,
    set +e                     # nor an echo to a closed pipe (make demo | head)
    case $status in
        0 | 129 | 130 | 141 | 143) ;;  # done, or a signal
        *) if [ -f "${log:-}" ]; then echo "demo: failed (exit $status); lbd's log:" >&2; tail -n 20 "$log" >&2; fi ;;
    esac
    printf '\n== teardown: stopping lbd; removing the namespaces, pins and files of %s\n' "$name" 2>/dev/null
    if [ -n "$lbd_pid" ] && kill -TERM "$lbd_pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$lbd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$lbd_pid" 2>/dev/null || true
        wait "$lbd_pid" 2>/dev/null || true
    fi
    "$topology_script" down "$name"
    exit "$status"
}
trap teardown EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

topology() { "$topology_script" "$1" "$name" "${@:2}"; }
lbctl() { "$bin/lbctl" --socket "$socket" "$@"; }
elapsed() { echo "$(date +%s.%N) $1" | awk '{printf "%.1f", $1 - $2}'; }

heading() { echo; echo "== $*"; }

# ---------------------------------------------------------------------------------------
heading "lbd demo: the real lbd and lbctl, in network namespaces"
topology up --backends 3
# The topology's address plan: namespaces, addresses, VIP prefixes, lbd's paths.
while IFS='=' read -r key value; do printf -v "$key" '%s' "$value"; done < <(topology env)
socket=$TOPOLOGY_DIR/lbd.sock
config=$TOPOLOGY_DIR/lbd.yaml
log=$TOPOLOGY_DIR/lbd.log
service4="$VIP4:$HTTP_PORT/tcp" service6="[$VIP6]:$HTTP_PORT/tcp"
url4="http://$VIP4:$HTTP_PORT/" url6="http://[$VIP6]:$HTTP_PORT/"
echo "topology $name: client, router, lb, and backends b1 b2 b3 ($B1_IP4 … $B3_IP4, $B1_IP6 …)"

health='{ type: http, path: /, interval: 500ms, timeout: 250ms, rise: 2, fall: 2 }'
cat >"$config" <<EOF
interface: $LB_IF
xdp_mode: $XDP_MODE
gateway_mac: auto
encap_source_v4: $ENCAP_SOURCE4
encap_source_v6: $ENCAP_SOURCE6
metrics_listen: 127.0.0.1:9750
api_socket: $socket
state_dir: $TOPOLOGY_DIR/state
bpf_pin_dir: $LBD_PIN_DIR
limits: { max_vips: 8, max_backends: 16, ring_size: 65537, connection_table: 65536 }
services:
  - vip: "$service4"
    health_check: $health
    backends:
      - { address: $B1_IP4, weight: 100 }
      - { address: $B2_IP4, weight: 200 }
      - { address: $B3_IP4, weight: 300 }
  - vip: "$service6"
    health_check: $health
    backends:
      - { address: "$B1_IP6", weight: 100 }
      - { address: "$B2_IP6", weight: 200 }
      - { address: "$B3_IP6", weight: 300 }
EOF
echo "lbd's configuration ($config):"
sed 's/^/  /' "$config"

# lbd in the lb namespace (nsenter, so bpffs stays usable); its output to a log file.
topology exec lb "$bin/lbd" --config "$config" </dev/null >"$log" 2>&1 &
lbd_pid=$!
deadline=$((SECONDS + 30))
# (Not the function lbctl: redirecting a function's output redirects the shell's, and
# the teardown of a Ctrl-C arriving meanwhile would print nowhere.)
until "$bin/lbctl" --socket "$socket" status >/dev/null 2>&1; do
    kill -0 "$lbd_pid" 2>/dev/null || { echo "demo: lbd exited" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "demo: lbd's API did not answer in 30 s" >&2; exit 1; }
    sleep 0.05
done
echo "lbd (pid $lbd_pid) serves its API; $(lbctl status | head -n 1)"

# "HEALTH SHARE" of ADDRESS in `lbctl status`: its health (up, down) and its share of the
# VIP's live ring, the one the datapath uses.
health_of() { lbctl status | awk -v address="$1" '$1 == address { print $3, $6 }'; }

# up: up and in the ring; down: down and out of it; drained: out of the ring.
in_state() {  # up|down|drained "HEALTH SHARE"
    case $1 in
        up) [[ $2 == up* && $2 != *" 0.0%" ]] ;;
        down) [ "$2" = "down 0.0%" ] ;;
        drained) [[ $2 == *" 0.0%" ]] ;;
    esac
}

# Waits until every ADDRESS is in_state up|down|drained; prints the seconds it took.
wait_health() {  # up|down|drained ADDRESS...
    local want=$1 since; since=$(date +%s.%N); shift
    local deadline=$((SECONDS + 20)) address
    for address in "$@"; do
        until in_state "$want" "$(health_of "$address")"; do
            [ $SECONDS -lt $deadline ] || { echo "demo: $address not $want after 20 s: $(health_of "$address")" >&2; exit 1; }
            sleep 0.05
        done
    done
    elapsed "$since"
}

# $requests requests to each VIP, each on a new connection: the backend that answered
# each one, counted. The client ignores SIGINT and runs in the background: a Ctrl-C
# interrupts the `wait` (the teardown then ends the client), never Python's startup
# with a traceback.
spread() {
    (trap '' INT; topology client http "$requests" "$url4" "$url6") >"$TOPOLOGY_DIR/tallies" &
    wait $!
    # client.py's tallies, one a line: {"answers": {"b1": 10, …}, "errors": {"refused": 2}}
    awk -v vips="$VIP4 $VIP6" '
        function count(text, key) {
            return match(text, "\"" key "\": [0-9]+") ? substr(text, RSTART + length(key) + 4, RLENGTH - length(key) - 4) + 0 : 0
        }
        BEGIN { split(vips, vip, " ") }
        {
            match($0, /"answers": [{][^}]*[}]/); answers = substr($0, RSTART, RLENGTH)
            match($0, /"errors": [{][^}]*[}]/); errors = substr($0, RSTART + 11, RLENGTH - 12)
            total = 0
            for (i = 1; i <= 3; i++) { n[i] = count(answers, "b" i); total += n[i] }
            line = sprintf("  %-14s", vip[NR])
            for (i = 1; i <= 3; i++) line = line sprintf(" b%d %2d (%2d%%)  ", i, n[i], total ? int(100 * n[i] / total) : 0)
            sub(/ +$/, "", line)
            gsub(/["]/, "", errors); gsub(/:/, "", errors)
            print line (errors == "" ? "" : "   errors: " errors)
        }' "$TOPOLOGY_DIR/tallies"
}

# Backends start down until their checks pass (start_state: down, rise: 2).
seconds=$(wait_health up "$B1_IP4" "$B2_IP4" "$B3_IP4" "$B1_IP6" "$B2_IP6" "$B3_IP6")
echo "all six backends passed their health checks after ${seconds} s"

# ---------------------------------------------------------------------------------------
heading "1. $requests requests per VIP from the client, each a new connection (expect 17% 33% 50%)"
spread

# ---------------------------------------------------------------------------------------
heading "2. b2's server killed: the health checker takes it out, then brings it back"
topology server-stop b2
echo "b2's HTTP server stopped"
seconds=$(wait_health down "$B2_IP4" "$B2_IP6")
echo "lbctl status shows b2 down (v4 and v6 checks) after ${seconds} s (interval 500 ms, fall 2)"
spread
topology server-start b2
echo "b2's HTTP server started again"
seconds=$(wait_health up "$B2_IP4" "$B2_IP6")
echo "lbctl status shows b2 up after ${seconds} s (rise 2)"
spread

# ---------------------------------------------------------------------------------------
heading "3. b3 drained with lbctl: no new flows for it; then undrained"
lbctl backend drain "$service4" "$B3_IP4" | sed 's/^/  lbctl: /'
lbctl backend drain "$service6" "$B3_IP6" | sed 's/^/  lbctl: /'
seconds=$(wait_health drained "$B3_IP4" "$B3_IP6")
spread
lbctl backend undrain "$service4" "$B3_IP4" | sed 's/^/  lbctl: /'
lbctl backend undrain "$service6" "$B3_IP6" | sed 's/^/  lbctl: /'
seconds=$(wait_health up "$B3_IP4" "$B3_IP6")

# ---------------------------------------------------------------------------------------
heading "4. lbctl status"
lbctl status

# ---------------------------------------------------------------------------------------
heading "5. a few metrics: curl -s 127.0.0.1:9750/metrics in the lb namespace"
# Transitions with a reason that never happened (0) left out.
topology exec lb curl -sf 127.0.0.1:9750/metrics |
    grep -E '^lbd_(xdp_actions_total|backend_packets_total|backend_up|health_transitions_total|vip_backends_up)[{ ]' |
    awk '!/^lbd_health_transitions_total/ || $NF != 0' | sort | sed 's/^/  /'

echo
echo "done in $(elapsed "$started") s"
