#!/usr/bin/env bash
# bench-e2e.sh — `make bench-e2e`: lbd against HAProxy (mode tcp), nginx (stream module)
# and no load balancer at all, on scripts/lbd-topology's network, in one run.
#
#   (a) conn_per_s      new connections per second: wrk, one short HTTP request per
#                       connection (`Connection: close`)
#   (b) req_per_s       requests per second on keep-alive connections: wrk
#   (c) download_gbit_s a bulk download from a backend: iperf3 -R
#   (d) lb-only pps     the balancer alone on small frames from a live-frames generator,
#                       against a trivial XDP encapsulator (Benchmarks/lb-only-bench)
#
# Modes of (a)-(c), each the median of RUNS runs of SECONDS seconds; the runs go in
# rounds, and within a round every metric is measured for every mode back to back, so a
# change in the load of the machine (it may be shared) falls on all of them alike:
#   lbd-native, lbd-generic  lbd's XDP balancer on the lb's eth0 (DSR: the backends
#                            answer the client directly)
#   haproxy, nginx           a TCP proxy in the lb's namespace on the VIP: both
#                            directions through it, to the backends' own addresses
#   direct                   the client straight to backend b1's own address
#
# Two topologies of the same plan, up together: lbd-native runs on one built with
# --xdp-mode native (the router's port facing the lb then carries a pass-through XDP
# program, which native XDP_TX into a veth needs); everything else on one built with
# --xdp-mode generic,
# where no XDP program sits on the proxies' path. Backends b1 and b2 serve HTTP with
# nginx (port 8080, a 3-byte body) and b1 runs iperf3 -s (port 5201); the HTTP VIP
# balances over both, the iperf3 VIP has b1 only (iperf3's two connections must meet
# one server).
#
# usage: LBD_BIN_DIR=DIR bench-e2e.sh      (DIR holds release lbd, lbctl, lb-only-bench)
# Environment: BENCH_E2E_RUNS (3), BENCH_E2E_SECONDS (5), BENCH_E2E_CONNECTIONS (64),
# BENCH_E2E_THREADS (2), BENCH_E2E_REPEAT (frames per LB-only run, 5000000),
# BENCH_E2E_MODES (all: "lb-only direct haproxy nginx lbd-generic lbd-native").
# Needs root, wrk, iperf3, haproxy, nginx with libnginx-mod-stream, curl, python3.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
topology_script=$here/lbd-topology
BIN=${LBD_BIN_DIR:?LBD_BIN_DIR: the directory of the release lbd, lbctl and lb-only-bench}
RUNS=${BENCH_E2E_RUNS:-3}
SECONDS_PER_RUN=${BENCH_E2E_SECONDS:-5}
CONNECTIONS=${BENCH_E2E_CONNECTIONS:-64}
THREADS=${BENCH_E2E_THREADS:-2}
REPEAT=${BENCH_E2E_REPEAT:-5000000}
MODES=${BENCH_E2E_MODES:-lb-only direct haproxy nginx lbd-generic lbd-native}
STOCK_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
HTTP_PORT=8080 IPERF_PORT=5201

die() { echo "bench-e2e: $*" >&2; exit 1; }
note() { echo "# $*"; }

[ "$(id -u)" = 0 ] || die "needs root (namespaces, XDP)"
for tool in wrk iperf3 haproxy nginx curl python3 taskset; do
    command -v "$tool" >/dev/null || die "$tool missing (make bench-e2e installs it)"
done
[ -f "$STOCK_MODULE" ] || die "$STOCK_MODULE missing: apt-get install libnginx-mod-stream"

run_id=be2e-$$
native_topology=$run_id-n generic_topology=$run_id-g generator_ns=$run_id-gen
work=$(mktemp -d /tmp/bench-e2e.XXXXXX)
started=()   # pids of what this script started (lbd, proxies, servers)
topologies=()

cleanup() {
    local status=$? pid name
    trap - EXIT INT TERM
    for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
    for name in "${topologies[@]}"; do "$topology_script" down "$name" || true; done
    ip netns del "$generator_ns" 2>/dev/null || true
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------
# Figures

declare -A result   # "mode metric" -> median
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }

record() {  # MODE METRIC: prints the median of the runs, and the runs
    local values=${runs["$1 $2"]:-} m
    [ -n "$values" ] || return 0
    m=$(echo "$values" | median)
    result["$1 $2"]=$m
    # shellcheck disable=SC2086 # one word per run
    echo "bench-e2e $1 $2=$m runs=$(echo $values | tr ' ' ',')"
}

ratio() {  # A B METRIC: of the medians, and round by round (the same minutes of the machine)
    local a=${result["$1 $3"]:-} b=${result["$2 $3"]:-} rounds
    [ -n "$a" ] && [ -n "$b" ] || return 0
    rounds=$(paste -d' ' <(echo ${runs["$1 $3"]} | tr ' ' '\n') <(echo ${runs["$2 $3"]} | tr ' ' '\n') |
        awk '{printf "%s%.2f", (NR > 1 ? "," : ""), ($2 > 0 ? $1 / $2 : 0)}')
    echo "ratio $1/$2 $3=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}') rounds=$rounds"
}

# One wrk run; prints requests per second. Socket errors and non-2xx answers are shown on
# stderr (the figure counts answered requests only).
wrk_run() {  # TOPOLOGY URL [wrk options...]
    local name=$1 url=$2 out; shift 2
    out=$("$topology_script" exec "$name" client wrk -t "$THREADS" -c "$CONNECTIONS" -d "${SECONDS_PER_RUN}s" "$@" "$url")
    if grep -qE 'Socket errors|Non-2xx' <<<"$out"; then
        echo "bench-e2e: wrk $* $url reported errors:" >&2; echo "$out" >&2
    fi
    awk '/^Requests\/sec:/ {print int($2 + 0.5)}' <<<"$out"
}

iperf_run() {  # TOPOLOGY HOST: Gbit/s received by the client
    "$topology_script" exec "$1" client iperf3 -c "$2" -p "$IPERF_PORT" -R -t "$SECONDS_PER_RUN" -J |
        python3 -c 'import json, sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}

declare -A runs     # "mode metric" -> the figures of the rounds so far
measure() {  # MODE METRIC TOPOLOGY HOST: one run
    local mode=$1 metric=$2 name=$3 url="http://$4:$HTTP_PORT/" figure
    case $metric in
        conn_per_s) check_answer "$name" "$url"; figure=$(wrk_run "$name" "$url" -H 'Connection: close') ;;
        req_per_s) check_answer "$name" "$url"; figure=$(wrk_run "$name" "$url") ;;
        download_gbit_s) figure=$(iperf_run "$name" "$4") ;;
    esac
    runs["$mode $metric"]+=" $figure"
}

check_answer() {  # TOPOLOGY URL: a backend's name comes back
    local answer
    answer=$("$topology_script" exec "$1" client curl -sS -m 3 "$2") || die "no answer from $2"
    [[ $answer =~ ^b[0-9]+$ ]] || die "unexpected answer from $2: $answer"
}

# ---------------------------------------------------------------------------------------
# The topology and its servers

value() { sed -n "s/^$2=//p" "/run/lbd-topology/$1/env"; }  # TOPOLOGY KEY

in_ns() { local name=$1 role=$2; shift 2; nsenter --net="/run/netns/$name-$role" "$@"; }

tune() {  # TOPOLOGY ROLE: many short connections without running out of ports
    in_ns "$1" "$2" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1 \
        net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192
}

bring_up() {  # TOPOLOGY MODE
    local name=$1 i
    topologies+=("$name")
    "$topology_script" up "$name" --backends 2 --xdp-mode "$2" >/dev/null
    for role in client lb b1 b2; do tune "$name" "$role"; done
    for i in 1 2; do start_backend_http "$name" "b$i"; done
    start_iperf_server "$name" b1
}

start_backend_http() {  # TOPOLOGY bI: nginx answering "bI\n" on every address
    local name=$1 backend=$2 dir=$work/$1-$2-nginx
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 16384;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen $HTTP_PORT backlog=8192;
        location / { default_type text/plain; return 200 "$backend\n"; }
    }
}
EOF
    in_ns "$name" "$backend" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    wait_for_file "$dir/nginx.pid"
    started+=("$(cat "$dir/nginx.pid")")
}

start_iperf_server() {  # TOPOLOGY bI
    local pidfile=$work/$1-$2-iperf3.pid
    in_ns "$1" "$2" iperf3 -s -p "$IPERF_PORT" -D -I "$pidfile" --logfile "$work/$1-$2-iperf3.log"
    wait_for_file "$pidfile"
    started+=("$(tr -d '\0' <"$pidfile")")
}

wait_for_file() {
    local tries
    for tries in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done
    die "$1 did not appear"
}

stop_pid() {  # PID: TERM, and wait until it is gone
    local tries
    kill "$1" 2>/dev/null || return 0
    for tries in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
    kill -KILL "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------
# The load balancers

vip_on_lb() {  # TOPOLOGY add|del: the VIP as a local address of the lb (for the proxies)
    ip -n "$1-lb" addr "$2" "$(value "$1" VIP4)/32" dev lo
}

proxy_pid=""
start_haproxy() {  # TOPOLOGY
    local name=$1 dir=$work/haproxy vip; vip=$(value "$1" VIP4)
    mkdir -p "$dir"
    cat >"$dir/haproxy.cfg" <<EOF
global
    maxconn 8000
    log stderr format raw local0 err
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend http
    bind $vip:$HTTP_PORT backlog 8192
    default_backend http
backend http
    balance roundrobin
    server b1 $(value "$name" B1_IP4):$HTTP_PORT
    server b2 $(value "$name" B2_IP4):$HTTP_PORT
frontend iperf
    bind $vip:$IPERF_PORT
    default_backend iperf
backend iperf
    server b1 $(value "$name" B1_IP4):$IPERF_PORT
EOF
    vip_on_lb "$name" add
    rm -f "$dir/haproxy.pid"
    in_ns "$name" lb haproxy -f "$dir/haproxy.cfg" -D -p "$dir/haproxy.pid" || die "haproxy did not start"
    wait_for_file "$dir/haproxy.pid"
    proxy_pid=$(head -1 "$dir/haproxy.pid"); started+=("$proxy_pid")
    once haproxy "haproxy $(haproxy -v | awk 'NR == 1 {print $3}'): mode tcp, threads: default ($(nproc)), roundrobin over b1 b2"
}

start_nginx() {  # TOPOLOGY
    local name=$1 dir=$work/nginx-stream vip; vip=$(value "$1" VIP4)
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<EOF
load_module $STOCK_MODULE;
worker_processes auto;
worker_rlimit_nofile 16384;
pid $dir/nginx.pid;
error_log $dir/error.log error;
events { worker_connections 8192; }
stream {
    upstream http { server $(value "$name" B1_IP4):$HTTP_PORT; server $(value "$name" B2_IP4):$HTTP_PORT; }
    upstream iperf { server $(value "$name" B1_IP4):$IPERF_PORT; }
    server { listen $vip:$HTTP_PORT backlog=8192; proxy_pass http; }
    server { listen $vip:$IPERF_PORT; proxy_pass iperf; }
}
EOF
    vip_on_lb "$name" add
    rm -f "$dir/nginx.pid"
    in_ns "$name" lb nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" || die "nginx did not start: $(cat "$dir/error.log")"
    wait_for_file "$dir/nginx.pid"
    proxy_pid=$(cat "$dir/nginx.pid"); started+=("$proxy_pid")
    once nginx "nginx $(nginx -v 2>&1 | sed 's|.*/||'): stream module, worker_processes auto ($(nproc)), round robin over b1 b2"
}

vip_listeners() { in_ns "$1" lb ss -Hltnp "( sport = :$HTTP_PORT or sport = :$IPERF_PORT )"; }

stop_proxy() {  # TOPOLOGY: and wait until its workers have closed every listener
    local tries
    stop_pid "$proxy_pid"
    for tries in $(seq 200); do
        [ -z "$(vip_listeners "$1")" ] && break
        sleep 0.05
    done
    [ -z "$(vip_listeners "$1")" ] || die "the proxy's listeners are still open: $(vip_listeners "$1")"
    vip_on_lb "$1" del
}

lbd_pid="" lbd_packets=0
declare -A lbd_sent
start_lbd() {  # TOPOLOGY MODE
    local name=$1 mode=$2 dir=$work/lbd-$2 vip tries
    vip=$(value "$name" VIP4)
    mkdir -p "$dir"
    cat >"$dir/lbd.yaml" <<EOF
interface: $(value "$name" LB_IF)
xdp_mode: $mode
gateway_mac: auto
encap_source_v4: $(value "$name" ENCAP_SOURCE4)
encap_source_v6: $(value "$name" ENCAP_SOURCE6)
mtu: 1500
api_socket: $dir/lbd.sock
state_dir: $dir/state
bpf_pin_dir: $(value "$name" LBD_PIN_DIR)
limits: { max_vips: 16, max_backends: 16, ring_size: 65537, connection_table: 1000000 }
services:
  - vip: "$vip:$HTTP_PORT/tcp"
    backends: [ { address: "$(value "$name" B1_IP4)" }, { address: "$(value "$name" B2_IP4)" } ]
  - vip: "$vip:$IPERF_PORT/tcp"
    backends: [ { address: "$(value "$name" B1_IP4)" } ]
EOF
    # nsenter itself, not a function: $! is then lbd's pid (nsenter execs it).
    nsenter --net="/run/netns/$name-lb" "$BIN/lbd" --config "$dir/lbd.yaml" --log-level warning >>"$dir/lbd.log" 2>&1 &
    lbd_pid=$!; started+=("$lbd_pid")
    for tries in $(seq 600); do
        "$BIN/lbctl" --socket "$dir/lbd.sock" status >/dev/null 2>&1 && break
        kill -0 "$lbd_pid" 2>/dev/null || die "lbd exited: $(cat "$dir/lbd.log")"
        sleep 0.05
    done
    "$BIN/lbctl" --socket "$dir/lbd.sock" status >/dev/null || die "lbd did not serve its API: $(cat "$dir/lbd.log")"
    local datapath; datapath=$("$BIN/lbctl" --socket "$dir/lbd.sock" status | sed -n 's/^datapath: //p')
    [[ $datapath == "$mode XDP on "* ]] || die "lbd-$mode: lbctl status says the datapath is: $datapath"
    once "lbd-$mode" "lbd ($datapath): $vip:$HTTP_PORT over b1 b2, $vip:$IPERF_PORT to b1, DSR"
    lbd_packets=$(balanced_packets "$dir")
}

# lbd leaves its program attached when it stops (a restart adopts it); here it must go, so
# the proxies get the lb to themselves. The next start adopts the pins and attaches again.
stop_lbd() {  # TOPOLOGY MODE
    local name=$1 mode=$2 dir=$work/lbd-$2 sent
    sent=$(($(balanced_packets "$dir") - lbd_packets))
    [ "$sent" -gt 0 ] || die "lbd-$mode forwarded nothing: the traffic did not go through the balancer"
    lbd_sent[$mode]=$((${lbd_sent[$mode]:-0} + sent))
    stop_pid "$lbd_pid"
    ip -n "$name-lb" link set dev "$(value "$name" LB_IF)" "$([ "$mode" = native ] && echo xdpdrv || echo xdpgeneric)" off
}

declare -A said
once() {  # KEY TEXT: a note, the first time only
    [ -n "${said[$1]:-}" ] && return 0
    said[$1]=1
    note "$2"
}

balanced_packets() {  # LBD_DIR: packets the balancer sent to a backend, over every VIP (lbctl status)
    "$BIN/lbctl" --socket "$1/lbd.sock" status --json |
        python3 -c 'import json, sys; print(sum(s["packets"] for s in json.load(sys.stdin)["services"]))'
}

# ---------------------------------------------------------------------------------------
# LB-only: live frames into a veth in a namespace of their own, on the last CPU

run_lb_only() {
    local cpu=$(($(nproc) - 1)) out
    ip netns add "$generator_ns"
    ip netns exec "$generator_ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$generator_ns" link add gen0 type veth peer name gen1
    ip -n "$generator_ns" link set gen0 up
    ip -n "$generator_ns" link set gen1 up
    note "lb-only: live frames (BPF_F_TEST_XDP_LIVE_FRAMES) out of veth gen0 into gen1 (bench_sink), CPU $cpu"
    out=$(nsenter --net="/run/netns/$generator_ns" taskset -c "$cpu" "$BIN/lb-only-bench" \
        --interface gen0 --peer gen1 --repeat "$REPEAT" --runs "$RUNS")
    echo "$out"
    ip netns del "$generator_ns"
}

# ---------------------------------------------------------------------------------------

echo "bench-e2e machine nproc=$(nproc) kernel=$(uname -r) date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "cpu=\"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)\""
echo "bench-e2e tools wrk=\"$(wrk --version 2>&1 | awk 'NR == 1 {print $2}')\" iperf3=$(iperf3 --version | awk 'NR == 1 {print $2}')" \
    "haproxy=$(haproxy -v | awk 'NR == 1 {print $3}') nginx=$(nginx -v 2>&1 | sed 's|.*/||')"
echo "bench-e2e load $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min: other work on the machine shares its CPUs)"
echo "bench-e2e settings runs=$RUNS seconds=$SECONDS_PER_RUN wrk_threads=$THREADS wrk_connections=$CONNECTIONS lb_only_repeat=$REPEAT"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # what the machine allows (the proxies need 2 per connection)

wants() { [[ " $MODES " == *" $1 "* ]]; }
if wants lbd-native || wants lbd-generic; then need=(lbd lbctl); else need=(); fi
wants lb-only && need+=(lb-only-bench)
for binary in "${need[@]}"; do [ -x "$BIN/$binary" ] || die "$BIN/$binary missing"; done

wants lb-only && run_lb_only

e2e_modes=()
for mode in direct haproxy nginx lbd-generic lbd-native; do wants "$mode" && e2e_modes+=("$mode"); done
if [ ${#e2e_modes[@]} -gt 0 ]; then
    # Both topologies up at once, so that the rounds interleave the modes: every round
    # measures every mode, and a change in the machine's load meets all of them.
    if wants direct || wants haproxy || wants nginx || wants lbd-generic; then bring_up "$generic_topology" generic; fi
    if wants lbd-native; then bring_up "$native_topology" native; fi
    vip=$(value "${topologies[0]}" VIP4)
    for round in $(seq "$RUNS"); do
        for metric in conn_per_s req_per_s download_gbit_s; do
            for mode in "${e2e_modes[@]}"; do
                case $mode in
                    direct)
                        once direct "direct: client to b1's own address, no balancer"
                        measure direct "$metric" "$generic_topology" "$(value "$generic_topology" B1_IP4)" ;;
                    haproxy | nginx)
                        "start_$mode" "$generic_topology"
                        measure "$mode" "$metric" "$generic_topology" "$vip"
                        stop_proxy "$generic_topology" ;;
                    lbd-generic | lbd-native)
                        if [ "$mode" = lbd-native ]; then name=$native_topology; else name=$generic_topology; fi
                        start_lbd "$name" "${mode#lbd-}"
                        measure "$mode" "$metric" "$name" "$vip"
                        stop_lbd "$name" "${mode#lbd-}" ;;
                esac
            done
        done
        note "round $round of $RUNS done"
    done
    for mode in lbd-generic lbd-native; do
        if wants "$mode"; then note "$mode: the balancer sent ${lbd_sent[${mode#lbd-}]} packets to the backends over the rounds"; fi
    done
    for mode in "${e2e_modes[@]}"; do
        for metric in conn_per_s req_per_s download_gbit_s; do record "$mode" "$metric"; done
    done
fi

echo "bench-e2e load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
for metric in conn_per_s req_per_s download_gbit_s; do
    for lbd in lbd-native lbd-generic; do
        for proxy in haproxy nginx; do ratio "$lbd" "$proxy" "$metric"; done
    done
done
