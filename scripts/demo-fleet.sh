#!/usr/bin/env bash
# demo-fleet.sh — `make demo-fleet`: two lbd nodes behind an ECMP router, by BGP through BIRD.
#
#     client ── router (BIRD, ECMP) ── lb  (lbd + BIRD)     b1 b2: HTTP servers naming themselves
#                  ├────────────────── lb2 (lbd + BIRD)
#                  ├── b1
#                  └── b2
#
# Both nodes serve the same VIP with the same backends and announce it; the router hashes
# flows over them. 1,000 long-lived connections, each sending a request every second:
#   1. lb2 stopped gracefully (SIGTERM: routes tagged GRACEFUL_SHUTDOWN, then withdrawn)
#      under a stream of new connections, then started again;
#   2. lb2 lost abruptly (the router's link to it down).
# Each prints `fleet <event> connections=N broken=B reroute_ms=MS`: connections broken (a
# reset, a timeout, or an answer from another backend than the connection's first) and the
# longest wait for an answer across the event. Everything is torn down at the end.
#
# usage: LBD_BIN_DIR=DIR scripts/demo-fleet.sh   DIR holds lbd and lbctl (default .build/release)
# Needs root, BIRD 2 (bird2) and bpf/build/decap.bpf.o (make bpf).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
bin=${LBD_BIN_DIR:-$root/.build/release}
topology_script=$here/lbd-topology
name=fleet-$$
connections=${FLEET_CONNECTIONS:-1000}

[ "$(id -u)" = 0 ] || { echo "demo-fleet: needs root (namespaces, XDP)" >&2; exit 1; }
for program in lbd lbctl; do
    [ -x "$bin/$program" ] || { echo "demo-fleet: no $bin/$program: make demo-fleet builds it" >&2; exit 1; }
done

pids=()
teardown() {
    local status=$?
    trap '' INT TERM HUP PIPE
    set +e
    printf '\n== teardown: stopping lbd and the clients; removing %s\n' "$name" 2>/dev/null
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    exec 3>&- 4<&- 5>&- 2>/dev/null
    "$topology_script" down "$name"
    exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

env_value() { "$topology_script" env "$name" | sed -n "s/^$1=//p"; }
heading() { echo; echo "== $*"; }
now_ms() { date +%s%3N; }

start_lbd() {  # NODE (1, 2): lbd in the node's namespace, its pid appended to pids
    local node=$1 prefix dir
    prefix=$([ "$node" = 1 ] && echo LB || echo "LB$node")
    dir=$(env_value TOPOLOGY_DIR)/lb$node
    mkdir -p "$dir"
    cat >"$dir/lbd.yaml" <<YAML
interface: $(env_value "${prefix}_IF")
xdp_mode: $(env_value XDP_MODE)
encap_source_v4: $(env_value ENCAP_SOURCE4)
api_socket: $dir/lbd.sock
metrics_listen: 127.0.0.1:9750
state_dir: $dir/state
bpf_pin_dir: $(env_value "$([ "$node" = 1 ] && echo LBD_PIN_DIR || echo "${prefix}_PIN_DIR")")
limits: { max_vips: 8, max_backends: 16, ring_size: 1009, connection_table: 65536 }
announce: { bird_socket: $(env_value "${prefix}_BIRD_SOCKET"), routes_file: $(env_value "${prefix}_BIRD_ROUTES"),
            announce_delay: 1s, drain_time: 2s }
services:
  - vip: $(env_value VIP4):80/tcp
    backends: [ { address: $(env_value B1_IP4) }, { address: $(env_value B2_IP4) } ]
YAML
    nsenter --net="/run/netns/$(env_value "${prefix}_NS")" "$bin/lbd" --config "$dir/lbd.yaml" >>"$dir/lbd.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do "$bin/lbctl" --socket "$dir/lbd.sock" status >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "demo-fleet: lbd on node $node did not start: $(tail -n 5 "$dir/lbd.log")" >&2
    exit 1
}

# `ip netns list` (under `exec`) complains about namespaces other runs are deleting: not ours.
nexthops() { "$topology_script" exec "$name" router ip -4 route show "$(env_value VIP4)" proto bird 2>/dev/null | grep -c "via" || true; }
wait_nexthops() {  # COUNT: until the router's route to the VIP has COUNT next hops
    for _ in $(seq 400); do [ "$(nexthops)" = "$1" ] && return 0; sleep 0.05; done
    echo "demo-fleet: the router's route has $(nexthops) next hops, not $1" >&2
    exit 1
}

held() { echo "${1:-}" >&3; read -r line <&4; echo "$line"; }  # ask the hold client
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
wait_answers() {  # N: until the hold client has N answers in all
    local state
    for _ in $(seq 600); do
        state=$(held); [ "$(field "$state" answers)" -ge "$1" ] && return 0; sleep 0.2
    done
    echo "demo-fleet: the connections stopped answering: $state" >&2
    exit 1
}

heading "topology $name: client, router, lb and lb2 (each lbd + BIRD), b1, b2"
"$topology_script" up "$name" --backends 2 --bird 2
start_lbd 1
start_lbd 2
wait_nexthops 2
"$topology_script" exec "$name" router ip -4 route show "$(env_value VIP4)" proto bird

heading "$connections long-lived connections to $(env_value VIP4):80, a request each per second"
url="http://$(env_value VIP4):80/"
# The clients read commands on a fifo and answer on another (hold) or a file (stream).
scratch=$(env_value TOPOLOGY_DIR)
mkfifo "$scratch/hold.in" "$scratch/hold.out" "$scratch/stream.in"
"$topology_script" client "$name" hold "$connections" "$url" <"$scratch/hold.in" >"$scratch/hold.out" &
pids+=($!)
exec 3>"$scratch/hold.in" 4<"$scratch/hold.out"
wait_answers $((connections * 2))
held

heading "graceful stop of lb2 under a stream of new connections"
"$topology_script" client "$name" stream "$url" <"$scratch/stream.in" >"$scratch/stream.out" &
stream_pid=$!
pids+=("$stream_pid")
exec 5>"$scratch/stream.in"
held reset-gap >/dev/null
answers=$(field "$(held)" answers)
started=$(now_ms)
kill -TERM "${pids[1]}"
wait_nexthops 1
rerouted=$(( $(now_ms) - started ))
wait "${pids[1]}" || true
wait_answers $((answers + connections * 3))
exec 5>&-  # end of input: the stream prints its totals and exits
wait "$stream_pid" || true
stream=$(tail -n 1 "$scratch/stream.out")
state=$(held)
echo "new connections: $stream"
echo "fleet graceful_stop connections=$connections broken=$(field "$state" broken) reroute_ms=$rerouted" \
     "new_connections=$(python3 -c "import json,sys; print(sum(json.loads(sys.argv[1])['answers'].values()))" "$stream")" \
     "failed=$(python3 -c "import json,sys; print(sum(json.loads(sys.argv[1])['errors'].values()))" "$stream")"

heading "lb2 back; then lost abruptly (the router's link to it down)"
start_lbd 2
wait_nexthops 2
held reset-gap >/dev/null
answers=$(field "$(held)" answers)
"$topology_script" link-down "$name" lb2
wait_nexthops 1
wait_answers $((answers + connections * 3))
state=$(held)
echo "fleet node_loss connections=$(field "$state" connections) broken=$(field "$state" broken)" \
     "reroute_ms=$(field "$state" max_gap_ms)"
