#!/bin/bash
# rendezvousd in a namespace of its own, on loopback: honest peers
# (tests/tools/rdvpeer on core/rdv/rdvclient.c) register and are
# matched with the right endpoints, ISNs and roles; every error code a
# client can provoke; hostile clients (garbage, an oversized length, a
# slow drip, a thousand idle connections, a stolen peer id, messages out
# of order) while an honest pair still gets matched; per-address limits,
# the rate limit and a full server; 10,000 registered peers with the
# memory they cost; the config file; clean shutdown on SIGTERM and
# SIGINT; the server key (made once, kept, shown, pinned) and a relaying
# man in the middle (tests/tools/rdvmitm) that cannot register its victim
# here; a listener that says BUSY, and BUSY where it does not belong.
# After every case the server must still be running and answer.
#
# Each case runs in its own namespace (removed on every exit path, see
# lab.sh); clients pick source addresses 127.0.0.x so that per-address
# limits can be aimed. Ends with "netns: P passed, F failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

RDVD=${RDVD:-$BUILD/rendezvousd}
RDVPEER=${RDVPEER:-$BUILD/tests/tools/rdvpeer}
RDVMITM=${RDVMITM:-$BUILD/tests/tools/rdvmitm}
SRV=127.0.0.1:7450     # the default port, on purpose
MITM=127.0.0.1:7460    # a malicious server
EKEYREJECTED=129       # rdvclient's code for a server key that is not the pinned one
T_CASE_LIMIT=${T_CASE_LIMIT:-180}

rdv_init() {
	trap 't__abort 130' INT
	trap 't__abort 143' TERM
	if [ "$(id -u)" -ne 0 ]; then
		echo "netns: needs root"
		return 1
	fi
	local f
	for f in "$RDVD" "$RDVPEER" "$RDVMITM"; do
		if [ ! -x "$f" ]; then
			echo "netns: $f is missing (make test-build)"
			return 1
		fi
	done
}

# rdv_ns: this case's namespace, loopback only.
rdv_ns() {
	lab__ns_add rdv || return 1
	NS=$LAB_NS_LAST
}

listening() { ip netns exec "$NS" ss -Htln "( sport = :$1 )" | grep -q .; }

# srv_start [ARGS...]: rendezvousd -v in $NS on $SRV (unless ARGS say
# otherwise), log in srv.log; waits until it listens on PORT (default 7450).
srv_start() {
	local port=${SRV_PORT:-7450}
	lab_bg "$NS" "$LAB_DIR/srv.out" "$LAB_DIR/srv.log" ${SRV_WRAP:-} "$RDVD" -v --key-dir "$LAB_DIR/rdvd" "$@"
	SRV_PID=$LAB_LAST_PID
	t_log "$LAB_DIR/srv.log"
	if ! wait_for 5 listening "$port"; then
		t_fail "rendezvousd did not listen on port $port"
		return 1
	fi
}

srv_alive() {
	if ! kill -0 "$SRV_PID" 2>/dev/null; then
		t_fail "rendezvousd is not running any more"
		return 1
	fi
}


registered() { grep -q '^registered' "$LAB_DIR/$1.out" 2>/dev/null; }

wait_registered() {
	wait_for "${2:-10}" registered "$1" || { t_fail "$1 did not register"; return 1; }
}

# field NAME LINE-TYPE KEY: the value of KEY= on NAME's first LINE-TYPE line
field() {
	sed -n "s/^$2 .*\b$3=\([^ ]*\).*/\1/p" "$LAB_DIR/$1.out" | head -1
}

expect_field() { # NAME LINE-TYPE KEY WANT
	local got
	got=$(field "$1" "$2" "$3")
	[ "$got" = "$4" ] || t_fail "$1: $2 $3='$got', want '$4'"
}

# honest_pair TAG: A listens from 127.0.0.2:41000+n, B connects from
# 127.0.0.3; both must be matched with each other's endpoints and ISNs.
HP_N=0
honest_pair() {
	local a=ha$HP_N b=hb$HP_N rc pa=$((41000 + HP_N)) pb=$((42000 + HP_N))
	HP_N=$((HP_N + 1))
	[ -n "${ID_A:-}" ] || rdvpeer_keys A B || return 1
	peer_bg "$a" listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:$pa --isn 1001 --timeout 20
	wait_registered "$a" || return 1
	peer_run "$b" connect "$ID_A" --server $SRV --key "$LAB_DIR/B" --local 127.0.0.3:$pb \
		--isn 2002 --wait 5000 --timeout 20
	rc=$?
	[ $rc -eq 0 ] || t_fail "honest connect ($1) exited $rc"
	eval "lab_wait_pid \$PID_$a 20"
	rc=$?
	[ $rc -eq 0 ] || t_fail "honest listen ($1) exited $rc"
	expect_field "$a" match peer "$ID_B"
	expect_field "$a" match public 127.0.0.3:$pb
	expect_field "$a" match peer_isn 2002
	expect_field "$a" match isn 1001
	expect_field "$a" match role responder
	expect_field "$b" match peer "$ID_A"
	expect_field "$b" match public 127.0.0.2:$pa
	expect_field "$b" match peer_isn 1001
	expect_field "$b" match role initiator
}

# expect_error NAME CODE FATAL: NAME's output has that error line.
expect_error() {
	grep -q "^error code=$2 fatal=$3 " "$LAB_DIR/$1.out" ||
		t_fail "$1: want 'error code=$2 fatal=$3', got '$(head -c 300 "$LAB_DIR/$1.out" | tr '\n' '|')'"
}

# hostile NAME MODE [ARGS...]: one misbehaving client; must exit 0 (the
# server answered with the right code and closed).
hostile() {
	local name=$1 rc
	shift
	peer_run "$name" hostile "$@" --server $SRV
	rc=$?
	[ $rc -eq 0 ] || t_fail "hostile $1: exit $rc: $(cat "$LAB_DIR/$name.out")"
}

srv_stats() { # prints the last stats line after SIGUSR1
	local n
	n=$(grep -c '^rendezvousd: stats:' "$LAB_DIR/srv.log")
	kill -USR1 "$SRV_PID"
	wait_for 5 eval "[ \$(grep -c '^rendezvousd: stats:' '$LAB_DIR/srv.log') -gt $n ]"
	grep '^rendezvousd: stats:' "$LAB_DIR/srv.log" | tail -1
}

stat_of() { # STATS-LINE KEY
	echo "$1" | sed -n "s/.* $2=\([0-9]*\).*/\1/p"
}

# srv_state KEY=VALUE...: one stats line says all of them.
srv_state() {
	local st kv
	st=$(srv_stats)
	for kv in "$@"; do
		[ "$(stat_of "$st" "${kv%%=*}")" = "${kv#*=}" ] || return 1
	done
}

# --- cases -----------------------------------------------------------------------------

case_match() {
	rdv_ns && srv_start && rdvpeer_keys A B || return 1
	# B reports a private endpoint of its own choosing; A reports none
	peer_bg a listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40001 --isn 3000000001 \
		--private none --timeout 20
	wait_registered a || return 1
	expect_field a registered public 127.0.0.2:40001
	peer_run b connect "$ID_A" --server $SRV --key "$LAB_DIR/B" --local 127.0.0.3:40002 --isn 7 \
		--private 192.168.7.9:5555 --wait 5000 --timeout 20 || t_fail "connect exited $?"
	lab_wait_pid "$PID_a" 20 || t_fail "listen exited $?"
	expect_field a match peer "$ID_B"
	expect_field a match public 127.0.0.3:40002
	expect_field a match private 192.168.7.9:5555
	expect_field a match peer_isn 7
	expect_field a match isn 3000000001
	expect_field a match role responder
	expect_field b match peer "$ID_A"
	expect_field b match public 127.0.0.2:40001
	expect_field b match private none
	expect_field b match peer_isn 3000000001
	expect_field b match isn 7
	expect_field b match role initiator
	local sa sb
	sa=$(field a match start_ms) sb=$(field b match start_ms)
	[ "${sa:-x}" -ge 0 ] 2>/dev/null && [ "$sa" -le 1000 ] || t_fail "start_ms '$sa' not in [0, 1000]"
	[ "${sb:-x}" -ge 0 ] 2>/dev/null && [ "$sb" -le 1000 ] || t_fail "start_ms '$sb' not in [0, 1000]"
	srv_alive
}

case_mutual() {
	rdv_ns && srv_start && rdvpeer_keys A B || return 1
	# both register, then both ask for the other half a second later
	peer_bg a connect "$ID_B" --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40001 --isn 11 \
		--wait 5000 --delay 700 --timeout 20
	peer_bg b connect "$ID_A" --server $SRV --key "$LAB_DIR/B" --local 127.0.0.3:40002 --isn 22 \
		--wait 5000 --delay 700 --timeout 20
	lab_wait_pid "$PID_a" 25 || t_fail "a exited $?"
	lab_wait_pid "$PID_b" 25 || t_fail "b exited $?"
	expect_field a match peer "$ID_B"
	expect_field a match peer_isn 22
	expect_field a match public 127.0.0.3:40002
	expect_field b match peer "$ID_A"
	expect_field b match peer_isn 11
	expect_field b match public 127.0.0.2:40001
	local ra rb
	ra=$(field a match role) rb=$(field b match role)
	if [ -z "$ra" ] || [ "$ra" = "$rb" ] || ! echo "$ra $rb" | grep -qE '^(initiator responder|responder initiator)$'; then
		t_fail "roles '$ra' and '$rb': want one initiator and one responder"
	fi
	# deterministic: the peer with the lower key initiates
	command -v python3 >/dev/null 2>&1 || return 0
	local lower
	lower=$(printf '%s\n%s\n' "$(xxd_key "$ID_A")" "$(xxd_key "$ID_B")" | sort | head -1)
	if [ "$lower" = "$(xxd_key "$ID_A")" ]; then
		[ "$ra" = initiator ] || t_fail "A has the lower key but is $ra"
	else
		[ "$rb" = initiator ] || t_fail "B has the lower key but is $rb"
	fi
	srv_alive
}

# xxd_key ID: the key bytes of a peer id in hex (base32 decoded), so that
# sort compares them as the server's memcmp does
xxd_key() {
	echo "$1" | tr a-z A-Z | python3 -c 'import base64,sys; s=sys.stdin.read().strip(); print(base64.b32decode(s+"="*(-len(s)%8))[:32].hex())'
}

case_errors() {
	rdv_ns && srv_start && rdvpeer_keys A B C D || return 1
	# unknown peer: D never registers
	peer_run e1 connect "$ID_D" --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2 --wait 1000
	expect_error e1 7 0
	# ourselves (and the client library makes its own socket: no --local)
	peer_run e2 connect "$ID_A" --server $SRV --key "$LAB_DIR/A"
	expect_error e2 13 0
	# C is registered but neither listens nor asks for us
	peer_bg c register --server $SRV --key "$LAB_DIR/C" --local 127.0.0.4 --timeout 30
	wait_registered c || return 1
	peer_run e3 connect "$ID_C" --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2 --wait 0
	expect_error e3 8 0
	local t0 t1
	t0=$(date +%s%N)
	peer_run e4 connect "$ID_C" --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2 --wait 1500
	t1=$(date +%s%N)
	expect_error e4 8 0
	[ $(((t1 - t0) / 1000000)) -ge 1400 ] || t_fail "NOT_WAITING after $(((t1 - t0) / 1000000)) ms, want the 1.5 s wait"
	# D listens for A only: B is not authorised, A is matched
	peer_bg d listen --server $SRV --key "$LAB_DIR/D" --local 127.0.0.5:40005 --allow "$ID_A" --timeout 30
	wait_registered d || return 1
	peer_run e5 connect "$ID_D" --server $SRV --key "$LAB_DIR/B" --local 127.0.0.3 --wait 1000
	expect_error e5 5 0
	peer_run e6 connect "$ID_D" --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2 --wait 1000 ||
		t_fail "the allowed peer was not matched: $(cat "$LAB_DIR/e6.out")"
	expect_field e6 match public 127.0.0.5:40005
	lab_wait_pid "$PID_d" 10 || t_fail "listener d exited $?"
	# a mistyped peer id never reaches the server
	local typo
	typo=$(echo "$ID_A" | sed 's/^\(....\)./\10/')
	peer_run e7 connect "$typo" --server $SRV --key "$LAB_DIR/B"
	grep -q "invalid peer id '$typo'" "$LAB_DIR/e7.out" || t_fail "typo: $(cat "$LAB_DIR/e7.out")"
	srv_alive && honest_pair errors
}

case_replace() {
	rdv_ns && srv_start && rdvpeer_keys A B || return 1
	peer_bg a1 listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40001 --isn 1 --timeout 30
	wait_registered a1 || return 1
	peer_bg a2 listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.6:40006 --isn 2 --timeout 30
	wait_registered a2 || return 1
	lab_wait_pid "$PID_a1" 10
	expect_error a1 12 1
	peer_run b connect "$ID_A" --server $SRV --key "$LAB_DIR/B" --local 127.0.0.3 --wait 2000 ||
		t_fail "connect exited $?"
	expect_field b match public 127.0.0.6:40006
	expect_field b match peer_isn 2
	lab_wait_pid "$PID_a2" 10 || t_fail "a2 exited $?"
	srv_alive
}

# Registrations of one key at once, each asking only once the next has
# registered (several `p2ptcp connect` of one identity, as parallel ssh
# sessions through ProxyCommand): an older one that does not listen is
# unlisted, not REPLACED, and still matched: a1 with the listener B, a2
# with W, which asked for the key (waiting for a3, listed then) while a2
# asked for W. One that has not listened yet is unlisted the same way and
# told REPLACED at its LISTEN; an asker finds the newest.
case_replace_asking() {
	rdv_ns && srv_start && rdvpeer_keys A B W X || return 1
	peer_bg b listen --server $SRV --key "$LAB_DIR/B" --local 127.0.0.3:40003 --isn 3 --timeout 30
	wait_registered b || return 1
	peer_bg a1 connect "$ID_B" --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40001 --isn 11 \
		--wait 5000 --on-signal --timeout 30
	wait_registered a1 || return 1
	peer_bg a2 connect "$ID_W" --server $SRV --key "$LAB_DIR/A" --local 127.0.0.6:40006 --isn 12 \
		--wait 5000 --on-signal --timeout 30
	wait_registered a2 || return 1
	peer_bg a3 serve --server $SRV --key "$LAB_DIR/A" --local 127.0.0.5:40005 --isn 13 --start none \
		--timeout 30
	wait_registered a3 || return 1
	wait_for 5 srv_state registered=2 unlisted=2 || t_fail "a1 and a2 are not unlisted: $(srv_stats)"
	grep -q '^error' "$LAB_DIR/a1.out" "$LAB_DIR/a2.out" &&
		t_fail "an asking registration was ended: $(grep -h '^error' "$LAB_DIR/a1.out" "$LAB_DIR/a2.out")"
	peer_bg w connect "$ID_A" --server $SRV --key "$LAB_DIR/W" --local 127.0.0.4:40004 --isn 4 \
		--wait 10000 --timeout 30
	wait_for 5 srv_state waiting=1 || t_fail "W is not waiting: $(srv_stats)"
	rdvpeer_go_match a1 b "$ID_B" 127.0.0.3:40003 3 127.0.0.2:40001 11
	rdvpeer_go_match a2 w "$ID_W" 127.0.0.4:40004 4 127.0.0.6:40006 12
	# a4 listens: a3, registered and asking nothing, is unlisted; its
	# LISTEN then ends it
	peer_bg a4 listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.7:40007 --isn 14 --timeout 30
	wait_registered a4 || return 1
	wait_for 5 srv_state unlisted=1 listening=1 || t_fail "a3 is not unlisted: $(srv_stats)"
	grep -q '^error' "$LAB_DIR/a3.out" && t_fail "a3 was ended before its LISTEN: $(cat "$LAB_DIR/a3.out")"
	kill -USR2 "$PID_a3"
	lab_wait_pid "$PID_a3" 10 >/dev/null
	expect_error a3 12 1
	grep -q "registered again from 127.0.0.7:40007" "$LAB_DIR/a3.out" || t_fail "a3: $(cat "$LAB_DIR/a3.out")"
	peer_run x connect "$ID_A" --server $SRV --key "$LAB_DIR/X" --local 127.0.0.8 --wait 3000 --timeout 10 ||
		t_fail "x exited $?: $(cat "$LAB_DIR/x.out")"
	expect_field x match public 127.0.0.7:40007
	expect_field x match peer_isn 14
	lab_wait_pid "$PID_a4" 10 || t_fail "a4 exited $?"
	wait_for 5 srv_state registered=0 unlisted=0 || t_fail "registrations left: $(srv_stats)"
	srv_alive
}

case_hostile() {
	local st
	rdv_ns || return 1
	srv_start --handshake-timeout 5 --message-timeout 2 --max-per-addr 2000 --max-per-ipv4-24 0 \
		--rate 0 || return 1
	rdvpeer_keys A B || return 1
	# a thousand connections that never say a word
	peer_bg idle hostile idle 1000 --server $SRV --bind 127.0.0.50 --hold 40
	wait_for 20 grep -qs '^idle opened=1000$' "$LAB_DIR/idle.out" || t_fail "1000 idle connections not opened"
	# a slow drip, alongside
	peer_bg drip hostile drip --server $SRV --bind 127.0.0.52 --interval 400
	# A registers and waits; a thief tries A's id
	peer_bg a listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40001 --isn 1001 --timeout 40
	wait_registered a || return 1
	hostile stolen stolen "$ID_A" --bind 127.0.0.53
	for m in garbage oversized version order early-connect; do
		hostile "$m" "$m" --bind 127.0.0.51
	done
	# the honest pair is matched all the same, with A's real endpoint
	peer_run b connect "$ID_A" --server $SRV --key "$LAB_DIR/B" --local 127.0.0.3:40002 --isn 2002 \
		--wait 5000 --timeout 20 || t_fail "honest connect exited $?"
	lab_wait_pid "$PID_a" 20 || t_fail "honest listen exited $?"
	expect_field b match public 127.0.0.2:40001
	expect_field b match peer_isn 1001
	expect_field a match peer "$ID_B"
	# the drip is cut off by the message timeout (2 s), well before the
	# handshake timeout (5 s)
	lab_wait_pid "$PID_drip" 20 || t_fail "drip: $(cat "$LAB_DIR/drip.out")"
	local ms
	ms=$(field drip result ms)
	[ "${ms:-99999}" -ge 1900 ] && [ "$ms" -le 3500 ] 2>/dev/null ||
		t_fail "drip lasted ${ms:-?} ms, want about 2000"
	# every idle connection is closed with a TIMEOUT error
	lab_wait_pid "$PID_idle" 45 || t_fail "idle: $(tail -1 "$LAB_DIR/idle.out")"
	st=$(srv_stats)
	[ "$(stat_of "$st" bad_signatures)" = 1 ] || t_fail "stats: $st"
	srv_alive && honest_pair after-hostiles
}

case_limits_per_addr() {
	rdv_ns && srv_start --max-per-addr 8 --rate 0 || return 1
	peer_run l1 hostile limits 12 --server $SRV --bind 127.0.0.60
	grep -q '^limits accepted=8 rate_limited=4 full=0 other=0$' "$LAB_DIR/l1.out" ||
		t_fail "per-address limit: $(cat "$LAB_DIR/l1.out")"
	# another address is not affected
	honest_pair per-addr
	srv_alive
}

case_limits_rate() {
	rdv_ns && srv_start --max-per-addr 0 --rate 1 --burst 5 || return 1
	peer_run l1 hostile limits 9 --server $SRV --bind 127.0.0.61
	grep -q '^limits accepted=5 rate_limited=4 full=0 other=0$' "$LAB_DIR/l1.out" ||
		t_fail "rate limit: $(cat "$LAB_DIR/l1.out")"
	# the bucket refills at 1/s: some tokens again, not a full bucket
	sleep 2
	peer_run l2 hostile limits 9 --server $SRV --bind 127.0.0.61
	local acc lim
	acc=$(field l2 limits accepted) lim=$(field l2 limits rate_limited)
	[ "${acc:-0}" -ge 2 ] && [ "$acc" -le 5 ] && [ "${lim:-0}" -ge 4 ] ||
		t_fail "refill: $(cat "$LAB_DIR/l2.out")"
	honest_pair rate
	srv_alive
}

case_full() {
	rdv_ns && srv_start --max-clients 5 --max-per-ipv4-24 0 --rate 0 || return 1
	peer_run l1 hostile limits 8 --server $SRV --bind 127.0.0.62
	grep -q '^limits accepted=5 rate_limited=0 full=3 other=0$' "$LAB_DIR/l1.out" ||
		t_fail "server full: $(cat "$LAB_DIR/l1.out")"
	# once they are gone there is room again
	honest_pair after-full
	srv_alive
}

case_many() {
	local st rss0 rss1 reg per
	rdv_ns || return 1
	srv_start --max-clients 12000 --max-per-addr 0 --max-per-ipv4-24 0 --rate 0 --idle-timeout 120 ||
		return 1
	rdvpeer_keys A B || return 1
	rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$SRV_PID/status")
	peer_bg flood hostile flood 10000 --server $SRV --bind 127.0.0.70 --hold 100
	if ! wait_for 90 grep -qs '^flood registered=' "$LAB_DIR/flood.out"; then
		t_fail "10,000 registrations did not finish in 90 s"
		return 1
	fi
	grep -q '^flood registered=10000$' "$LAB_DIR/flood.out" || t_fail "$(cat "$LAB_DIR/flood.out")"
	rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$SRV_PID/status")
	st=$(srv_stats)
	reg=$(stat_of "$st" registered)
	[ "$reg" = 10000 ] || t_fail "registered=$reg, want 10000: $st"
	per=$(((rss1 - rss0) * 1024 / 10000))
	echo "    memory: $per bytes of RSS per registered peer, heap $(stat_of "$st" heap_per_client) bytes"
	[ "$per" -le 16384 ] || t_fail "$per bytes per peer"
	honest_pair many
	kill -TERM "$PID_flood"
	srv_alive
}

case_idle_timeout() {
	local st
	rdv_ns && srv_start --idle-timeout 2 || return 1
	rdvpeer_keys A B || return 1
	# A pings (at a third of the idle timeout) and stays; the flood peer
	# does not and is dropped
	peer_bg a listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40001 --isn 5 --timeout 30
	wait_registered a || return 1
	peer_bg silent hostile flood 1 --server $SRV --bind 127.0.0.80 --hold 30
	wait_for 5 grep -qs '^flood registered=1$' "$LAB_DIR/silent.out" || t_fail "silent peer did not register"
	sleep 4
	st=$(srv_stats)
	[ "$(stat_of "$st" registered)" = 1 ] || t_fail "want only A registered after 4 s: $st"
	[ "$(stat_of "$st" timeouts)" -ge 1 ] || t_fail "no timeout counted: $st"
	peer_run b connect "$ID_A" --server $SRV --key "$LAB_DIR/B" --local 127.0.0.3 --wait 1000 ||
		t_fail "A was dropped although it pinged: $(cat "$LAB_DIR/b.out")"
	lab_wait_pid "$PID_a" 10 || t_fail "a exited $?"
	srv_alive
}

case_config() {
	local rc
	rdv_ns || return 1
	cat >"$LAB_DIR/rdv.conf" <<EOF
# a test configuration
listen = 127.0.0.1:17450   # not the default port
max-clients = 100
max-per-addr=3
max-per-ipv6-48 = 10
max-per-ipv4-24 = 50%
rate = 0
idle-timeout = 30
log-level = info
EOF
	SRV_PORT=17450 srv_start --config "$LAB_DIR/rdv.conf" || return 1
	grep -q 'max-clients 100, max-per-addr 3, rate 0/s' "$LAB_DIR/srv.log" || t_fail "settings not applied"
	grep -q 'per IPv4 /24 50, per IPv6 /56 2, per IPv6 /48 10' "$LAB_DIR/srv.log" ||
		t_fail "network shares not applied: $(grep ready "$LAB_DIR/srv.log")"
	peer_run l1 hostile limits 5 --server 127.0.0.1:17450 --bind 127.0.0.90
	grep -q '^limits accepted=3 rate_limited=2 ' "$LAB_DIR/l1.out" || t_fail "max-per-addr from the file: $(cat "$LAB_DIR/l1.out")"
	SRV=127.0.0.1:17450 honest_pair config
	# the command line wins over the file
	kill -TERM "$SRV_PID"
	lab_wait_pid "$SRV_PID" 5
	SRV_PORT=17451 srv_start --config "$LAB_DIR/rdv.conf" --listen 127.0.0.1:17451 --max-per-addr 5 ||
		return 1
	listening 17450 && t_fail "still listening on the file's port"
	grep -q 'max-clients 100, max-per-addr 5,' "$LAB_DIR/srv.log" || t_fail "--max-per-addr did not override"
	kill -TERM "$SRV_PID"
	lab_wait_pid "$SRV_PID" 5

	# bad settings: exit 2 with the file and line, or the option, quoted
	printf 'listen = 127.0.0.1\nmax-clients = lots\n' >"$LAB_DIR/bad.conf"
	ip netns exec "$NS" "$RDVD" --key-dir "$LAB_DIR/rdvd" --config "$LAB_DIR/bad.conf" >"$LAB_DIR/bad.out" 2>&1
	rc=$?
	[ $rc -eq 2 ] || t_fail "bad config: exit $rc, want 2"
	grep -q "bad.conf:2: invalid value for max-clients: 'lots'" "$LAB_DIR/bad.out" ||
		t_fail "bad config: $(cat "$LAB_DIR/bad.out")"
	printf 'bogus = 1\n' >"$LAB_DIR/bad.conf"
	ip netns exec "$NS" "$RDVD" --key-dir "$LAB_DIR/rdvd" --config "$LAB_DIR/bad.conf" >"$LAB_DIR/bad.out" 2>&1
	grep -q "bad.conf:1: unknown setting 'bogus'" "$LAB_DIR/bad.out" || t_fail "$(cat "$LAB_DIR/bad.out")"
	ip netns exec "$NS" "$RDVD" --key-dir "$LAB_DIR/rdvd" --bogus >"$LAB_DIR/bad.out" 2>&1
	rc=$?
	[ $rc -eq 2 ] && grep -q "unknown option: '--bogus'" "$LAB_DIR/bad.out" || t_fail "--bogus: exit $rc"
	ip netns exec "$NS" "$RDVD" --key-dir "$LAB_DIR/rdvd" --listen 1.2.3:80 >"$LAB_DIR/bad.out" 2>&1
	grep -q "invalid address: '1.2.3:80'" "$LAB_DIR/bad.out" || t_fail "$(cat "$LAB_DIR/bad.out")"
	ip netns exec "$NS" "$RDVD" --key-dir "$LAB_DIR/rdvd" --idle-timeout 0.5 >"$LAB_DIR/bad.out" 2>&1
	grep -q "invalid value for --idle-timeout: '0.5'" "$LAB_DIR/bad.out" || t_fail "$(cat "$LAB_DIR/bad.out")"
	ip netns exec "$NS" "$RDVD" --key-dir "$LAB_DIR/rdvd" --max-per-ipv6-56 120% >"$LAB_DIR/bad.out" 2>&1
	grep -q "invalid value for --max-per-ipv6-56: '120%' (0 to 1000000, or a share of max-clients, 0% to 100%)" \
		"$LAB_DIR/bad.out" || t_fail "$(cat "$LAB_DIR/bad.out")"
	ip netns exec "$NS" "$RDVD" --key-dir "$LAB_DIR/rdvd" --max-per-ipv4-24 x% >"$LAB_DIR/bad.out" 2>&1
	grep -q "invalid value for --max-per-ipv4-24: 'x%'" "$LAB_DIR/bad.out" || t_fail "$(cat "$LAB_DIR/bad.out")"
	ip netns exec "$NS" "$RDVD" --key-dir "$LAB_DIR/rdvd" --help >"$LAB_DIR/help.out" 2>&1 || t_fail "--help exited $?"
	grep -q '^Usage: rendezvousd' "$LAB_DIR/help.out" || t_fail "--help: no usage"
	# a port that is taken: exit 1 with the address
	SRV_PORT=17452 srv_start --listen 127.0.0.1:17452 || return 1
	ip netns exec "$NS" "$RDVD" --key-dir "$LAB_DIR/rdvd" --listen 127.0.0.1:17452 >"$LAB_DIR/busy.out" 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q 'cannot listen on 127.0.0.1:17452' "$LAB_DIR/busy.out" ||
		t_fail "port in use: exit $rc: $(cat "$LAB_DIR/busy.out")"
}

case_shutdown() { # SIGNAL
	local sig=$1 rc
	rdv_ns || return 1
	# as if started from a shell: a background job of a script would
	# have SIGINT ignored
	SRV_WRAP="env --default-signal=INT" srv_start || return 1
	rdvpeer_keys A || return 1
	peer_bg a listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40001 --timeout 30
	wait_registered a || return 1
	kill "-$sig" "$SRV_PID"
	lab_wait_pid "$SRV_PID" 5
	rc=$?
	[ $rc -eq 0 ] || t_fail "rendezvousd exited $rc after SIG$sig, want 0 within 5 s"
	grep -q 'stopped' "$LAB_DIR/srv.log" || t_fail "no 'stopped' in the log"
	lab_wait_pid "$PID_a" 5
	expect_error a 14 1
	listening 7450 && t_fail "still listening"
	return 0
}

# --- filling the server ------------------------------------------------------------------

# binds_v6_56: the 256 addresses 2001:db8:0:1XX::1 of one /56 on lo (one
# per /64), listed in $LAB_DIR/v6.binds; binds_v4_24: 127.0.9.1 to .250,
# one IPv4 /24 (all of 127/8 is local already), in v4.binds.
binds_v6_56() {
	local i
	for i in $(seq 0 255); do printf '2001:db8:0:1%02x::1\n' "$i"; done >"$LAB_DIR/v6.binds"
	sed 's|.*|addr add &/128 dev lo nodad|' "$LAB_DIR/v6.binds" | ip -n "$NS" -b - ||
		{ t_fail "cannot add the /56's addresses"; return 1; }
}

binds_v4_24() {
	seq 1 250 | sed 's/^/127.0.9./' >"$LAB_DIR/v4.binds"
}

# binds_v6_48: one address in each of 16 /56s of the /48 2001:db8:1::/48,
# in v48.binds.
binds_v6_48() {
	local i
	for i in $(seq 0 15); do printf '2001:db8:1:%x00::1\n' "$i"; done >"$LAB_DIR/v48.binds"
	sed 's|.*|addr add &/128 dev lo nodad|' "$LAB_DIR/v48.binds" | ip -n "$NS" -b - ||
		{ t_fail "cannot add the /48's addresses"; return 1; }
}

# fill NAME N SERVER [ARGS...]: rdvpeer hostile fill N in the background,
# waiting (up to 90 s) for its result line.
fill() {
	local name=$1 n=$2 server=$3
	shift 3
	peer_bg "$name" hostile fill "$n" --server "$server" --hold 100 "$@"
	wait_for 90 grep -qs '^fill registered=' "$LAB_DIR/$name.out" ||
		{ t_fail "$name: no result in 90 s"; return 1; }
	echo "    $name: $(cat "$LAB_DIR/$name.out")"
}

# A fill with registrations that stay idle, from one IPv6 /56 (the
# network limits off): the oldest idle make room for honest peers.
case_fill_idle() {
	local st
	rdv_ns && lab_ipv6 "$NS" && binds_v6_56 || return 1
	srv_start --listen 127.0.0.1:7450 --listen '[::1]:7450' --max-clients 300 \
		--max-per-ipv6-56 0 --max-per-ipv6-48 0 || return 1
	fill f6 400 '[::1]:7450' --bind-file "$LAB_DIR/v6.binds" || return 1
	st=$(srv_stats)
	[ "$(stat_of "$st" clients)" -le 300 ] && [ "$(stat_of "$st" evicted)" -ge 100 ] ||
		t_fail "want at most 300 clients and 100 evicted: $st"
	honest_pair fill-idle
	st=$(srv_stats)
	[ "$(stat_of "$st" evicted)" -ge 102 ] || t_fail "the honest pair did not evict: $st"
	grep -q "closing the oldest idle connections to make room" "$LAB_DIR/srv.log" ||
		t_fail "no eviction logged"
	srv_alive
}

# Fills that LISTEN (nothing idle to evict), from one IPv6 /56, from 16
# /56s of one /48 and from one IPv4 /24, against the default shares of a
# 1000-client server: each network gets its share only, honest peers
# from elsewhere still meet.
case_fill_networks() {
	local st
	rdv_ns && lab_ipv6 "$NS" && binds_v6_56 && binds_v6_48 && binds_v4_24 || return 1
	srv_start --listen 127.0.0.1:7450 --listen '[::1]:7450' --max-clients 1000 || return 1
	grep -q 'per IPv4 /24 60, per IPv6 /56 20, per IPv6 /48 60' "$LAB_DIR/srv.log" ||
		t_fail "the default shares of 1000: $(grep ready "$LAB_DIR/srv.log")"
	fill f6 1000 '[::1]:7450' --bind-file "$LAB_DIR/v6.binds" --active || return 1
	grep -q '^fill registered=20 rate_limited=980 full=0 other=0$' "$LAB_DIR/f6.out" ||
		t_fail "the /56 got more than its share"
	fill f48 1000 '[::1]:7450' --bind-file "$LAB_DIR/v48.binds" --active || return 1
	grep -q '^fill registered=60 rate_limited=940 full=0 other=0$' "$LAB_DIR/f48.out" ||
		t_fail "the /48 got more than its share"
	fill f4 1000 $SRV --bind-file "$LAB_DIR/v4.binds" --active || return 1
	grep -q '^fill registered=60 rate_limited=940 full=0 other=0$' "$LAB_DIR/f4.out" ||
		t_fail "the /24 got more than its share"
	honest_pair fill-networks
	# an IPv6 peer from another /48 registers too
	ip -n "$NS" addr add 2001:db8:ffff::1/128 dev lo nodad
	peer_bg v6 register --server '[::1]:7450' --key "$LAB_DIR/A" --local '[2001:db8:ffff::1]' --timeout 2
	wait_registered v6 || t_fail "an IPv6 peer from another /48 was refused: $(cat "$LAB_DIR/v6.out")"
	# what one more from the /56 is told
	peer_run r6 register --server '[::1]:7450' --key "$LAB_DIR/B" --local '[2001:db8:0:1ff::1]' \
		--timeout 2
	expect_error r6 9 1
	grep -q "too many connections from your network (IPv6 /56, limit 20)" "$LAB_DIR/r6.out" ||
		t_fail "r6: $(cat "$LAB_DIR/r6.out")"
	st=$(srv_stats)
	[ "$(stat_of "$st" rejected_net)" = 2861 ] || t_fail "want 2861 refused by network: $st"
	srv_alive
}

# A peer that registers again inherits those waiting for it: it is not
# idle, and a full server evicts another connection, not it.
case_fill_replace() {
	rdv_ns && srv_start --max-clients 3 --max-per-ipv4-24 0 || return 1
	rdvpeer_keys A B X Y || return 1
	peer_bg a1 serve --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2 --start none --timeout 20
	wait_registered a1 || return 1
	# B waits for A (A is asked for), then A registers again and listens
	# 2 s later: the new registration inherits B; the first, unlisted,
	# ends at its LISTEN
	peer_bg b connect "$ID_A" --server $SRV --key "$LAB_DIR/B" --local 127.0.0.3 --wait 6000 --timeout 20
	wait_for 5 eval "[ \$(stat_of \"\$(srv_stats)\" waiting) = 1 ]" || t_fail "B is not waiting"
	peer_bg a2 listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.4:40004 --delay 2000 --timeout 20
	wait_registered a2 || return 1
	kill -USR2 "$PID_a1"
	lab_wait_pid "$PID_a1" 5 >/dev/null
	expect_error a1 12 1
	wait_for 5 eval "[ \$(stat_of \"\$(srv_stats)\" clients) = 2 ]" || t_fail "A's first registration lingers"
	# X fills the server, idle; Y comes: X, not A, makes room
	peer_bg x register --server $SRV --key "$LAB_DIR/X" --local 127.0.0.5 --timeout 20
	wait_registered x || return 1
	peer_bg y register --server $SRV --key "$LAB_DIR/Y" --local 127.0.0.6 --timeout 3
	wait_registered y || return 1
	lab_wait_pid "$PID_x" 5
	expect_error x 10 1
	lab_wait_pid "$PID_b" 10 || t_fail "B was not matched: $(cat "$LAB_DIR/b.out")"
	expect_field b match public 127.0.0.4:40004
	srv_alive
}

# --- the server key and a relaying man in the middle --------------------------------

srv_id() { "$RDVD" --id --key-dir "$LAB_DIR/rdvd"; }

case_server_key() {
	local id rc
	rdv_ns && srv_start || return 1
	rdvpeer_keys A || return 1
	id=$(srv_id)
	[ ${#id} -eq 55 ] || { t_fail "--id printed '$id'"; return 1; }
	grep -q "server key $id (new, in $LAB_DIR/rdvd/private.key)" "$LAB_DIR/srv.log" ||
		t_fail "the new key's id is not logged"
	[ "$(stat -c %a "$LAB_DIR/rdvd/private.key")" = 600 ] || t_fail "key file mode $(stat -c %a "$LAB_DIR/rdvd/private.key")"
	# clients see it, and a pin of it works
	peer_bg a register --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2 --pin "$id" --timeout 3
	wait_registered a || return 1
	expect_field a registered server "$id"
	# a restart keeps the key; --keygen never replaces it
	kill -TERM "$SRV_PID"
	lab_wait_pid "$SRV_PID" 5
	srv_start || return 1
	grep -q "server key $id (from $LAB_DIR/rdvd/private.key)" "$LAB_DIR/srv.log" ||
		t_fail "the restarted server has another key"
	"$RDVD" --keygen --key-dir "$LAB_DIR/rdvd" >"$LAB_DIR/kg.out" 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q "exists already" "$LAB_DIR/kg.out" || t_fail "--keygen over a key: exit $rc: $(cat "$LAB_DIR/kg.out")"
	[ "$(srv_id)" = "$id" ] || t_fail "--keygen changed the key"
	"$RDVD" --keygen --key-dir "$LAB_DIR/k2" >"$LAB_DIR/kg2.out" 2>&1 || t_fail "--keygen in a new dir: exit $?"
	[ "$(cat "$LAB_DIR/kg2.out")" = "$("$RDVD" --id --key-dir "$LAB_DIR/k2")" ] || t_fail "--keygen printed another id"
	# a key file others may read is refused: no start (exit 1, quoting it)
	chmod 644 "$LAB_DIR/k2/private.key"
	ip netns exec "$NS" "$RDVD" --key-dir "$LAB_DIR/k2" --listen 127.0.0.1:17453 >"$LAB_DIR/bad.out" 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q "$LAB_DIR/k2/private.key' has mode 0644" "$LAB_DIR/bad.out" ||
		t_fail "a readable key: exit $rc: $(cat "$LAB_DIR/bad.out")"
	srv_alive
}

# mitm_relay PRESENT: rdvmitm relay on $MITM with key M in front of the
# honest server $SRV, presenting its own key (own) or the server's
# (upstream) to the one client it takes. Sets PID_mitm.
mitm_relay() {
	: >"$LAB_DIR/mitm.out"
	lab_bg "$NS" "$LAB_DIR/mitm.out" "$LAB_DIR/mitm.err" "$RDVMITM" relay --listen $MITM \
		--upstream $SRV --key "$LAB_DIR/M" --present "$1" --hold 6
	PID_mitm=$LAB_LAST_PID
	t_log "$LAB_DIR/mitm.out"
	t_log "$LAB_DIR/mitm.err"
	wait_for 5 grep -qs '^listening' "$LAB_DIR/mitm.out" || { t_fail "rdvmitm did not start"; return 1; }
}

expect_relay() { # RESULT
	wait_for 10 grep -qs '^relay result=' "$LAB_DIR/mitm.out"
	grep -q "^relay result=$1\$" "$LAB_DIR/mitm.out" ||
		t_fail "relay: want result=$1, got '$(grep '^relay result' "$LAB_DIR/mitm.out")'"
	lab_wait_pid "$PID_mitm" 10 >/dev/null
}

# The victim V trusts the malicious server M; M tries to register V at
# the honest server with V's own signature.
case_relay() {
	local id st
	rdv_ns && srv_start && rdvpeer_keys V B M || return 1
	id=$(srv_id)
	# (1) M shows its own key, which V pinned: V signs M's key, and the
	# honest server refuses the relayed signature
	mitm_relay own || return 1
	peer_run v1 register --server $MITM --key "$LAB_DIR/V" --local 127.0.0.2 --pin "$ID_M" --timeout 5
	expect_error v1 6 1
	expect_relay "refused code=6"
	# (2) the same without a pin (version 1 let this through)
	mitm_relay own || return 1
	peer_run v2 register --server $MITM --key "$LAB_DIR/V" --local 127.0.0.2 --timeout 5
	expect_error v2 6 1
	expect_relay "refused code=6"
	# V is not registered here: asking for it finds nobody
	peer_run b1 connect "$ID_V" --server $SRV --key "$LAB_DIR/B" --local 127.0.0.3 --wait 0
	expect_error b1 7 0
	# (3) M shows the honest server's key and signature: V, which pinned
	# M, refuses before signing anything, quoting both ids
	mitm_relay upstream || return 1
	peer_run v3 register --server $MITM --key "$LAB_DIR/V" --local 127.0.0.2 --pin "$ID_M" --timeout 5
	expect_error v3 -$EKEYREJECTED 1
	grep -qF "has the key $id, not the pinned key $ID_M" "$LAB_DIR/v3.out" || t_fail "v3: $(cat "$LAB_DIR/v3.out")"
	expect_relay client-refused
	# (4) the control: pinned to the honest server's key, V registers
	# through the (now transparent) relay: the relay does relay
	mitm_relay upstream || return 1
	peer_bg v4 register --server $MITM --key "$LAB_DIR/V" --local 127.0.0.2 --pin "$id" --timeout 3
	wait_registered v4 || return 1
	expect_field v4 registered server "$id"
	expect_relay registered
	lab_wait_pid "$PID_v4" 10 || t_fail "v4 exited $?"
	# a wrong pin straight at the honest server: refused the same way
	peer_run v5 register --server $SRV --key "$LAB_DIR/V" --local 127.0.0.2 --pin "$ID_M" --timeout 5
	expect_error v5 -$EKEYREJECTED 1
	grep -qF "has the key $id, not the pinned key $ID_M" "$LAB_DIR/v5.out" || t_fail "v5: $(cat "$LAB_DIR/v5.out")"
	st=$(srv_stats)
	[ "$(stat_of "$st" bad_signatures)" = 2 ] || t_fail "want 2 bad signatures: $st"
	srv_alive && honest_pair relay
}

# A server that claims a key it does not hold: its signature fails.
case_impostor() {
	rdv_ns && rdvpeer_keys A M || return 1
	lab_bg "$NS" "$LAB_DIR/mitm.out" "$LAB_DIR/mitm.err" "$RDVMITM" server --listen $MITM \
		--key "$LAB_DIR/M" --bad-sig --hold 20
	t_log "$LAB_DIR/mitm.out"
	wait_for 5 grep -qs '^listening' "$LAB_DIR/mitm.out" || { t_fail "rdvmitm did not start"; return 1; }
	peer_run a register --server $MITM --key "$LAB_DIR/A" --local 127.0.0.2 --pin "$ID_M" --timeout 5
	expect_error a -71 1
	grep -qF "its signature does not verify under the key it claims, $ID_M" "$LAB_DIR/a.out" ||
		t_fail "$(cat "$LAB_DIR/a.out")"
}

# mitm_server ARGS...: rdvmitm server on $MITM with key M and ARGS (a
# stopped one first). Sets PID_mitm.
mitm_server() {
	if [ -n "${PID_mitm:-}" ]; then
		kill -TERM "$PID_mitm" 2>/dev/null
		lab_wait_pid "$PID_mitm" 5 >/dev/null
	fi
	: >"$LAB_DIR/mitm.out"
	lab_bg "$NS" "$LAB_DIR/mitm.out" "$LAB_DIR/mitm.err" "$RDVMITM" server --listen $MITM \
		--key "$LAB_DIR/M" --hold 60 "$@"
	PID_mitm=$LAB_LAST_PID
	t_log "$LAB_DIR/mitm.out"
	t_log "$LAB_DIR/mitm.err"
	wait_for 5 grep -qs '^listening' "$LAB_DIR/mitm.out" || { t_fail "rdvmitm did not start"; return 1; }
}

# expect_refusal NAME TEXT: NAME stopped with a fatal -EPROTO naming TEXT.
expect_refusal() {
	expect_error "$1" -71 1
	grep -qF -- "$2" "$LAB_DIR/$1.out" || t_fail "$1: no '$2' in: $(cat "$LAB_DIR/$1.out")"
}

# A server that sends values no honest server sends: each client stops
# with one line naming the field and the value.
case_hostile_server() {
	rdv_ns && rdvpeer_keys A B M || return 1
	# a start delay of 2^32 - 1 ms (49 days of waiting): both sides refuse
	mitm_server --start-ms 4294967295 || return 1
	peer_bg a listen --server $MITM --key "$LAB_DIR/A" --local 127.0.0.2:40001 --timeout 10
	wait_registered a || return 1
	peer_run b connect "$ID_A" --server $MITM --key "$LAB_DIR/B" --local 127.0.0.3:40002 --wait 1000 \
		--timeout 10
	expect_refusal b "sent a MATCH with a start delay of 4294967295 ms (at most 15000)"
	lab_wait_pid "$PID_a" 10
	expect_refusal a "start delay of 4294967295 ms"
	# the peer said to be at 0.0.0.0
	mitm_server --public 0.0.0.0:9 || return 1
	peer_bg a2 listen --server $MITM --key "$LAB_DIR/A" --local 127.0.0.2:40001 --timeout 10
	wait_registered a2 || return 1
	peer_run b2 connect "$ID_A" --server $MITM --key "$LAB_DIR/B" --local 127.0.0.3:40002 \
		--wait 1000 --timeout 10
	expect_refusal b2 "sent a MATCH with an impossible public endpoint of the peer: IPv4 0.0.0.0:9"
	lab_wait_pid "$PID_a2" 10 || t_fail "a2 (told the truth) exited $?"
	# an idle timeout of 0 ms, and us seen at a multicast address
	mitm_server --idle-ms 0 || return 1
	peer_run c register --server $MITM --key "$LAB_DIR/A" --local 127.0.0.2 --timeout 5
	expect_refusal c "sent an idle timeout of 0 ms (1000 to 86400000)"
	mitm_server --observed 224.0.0.1:5 || return 1
	peer_run d register --server $MITM --key "$LAB_DIR/A" --local 127.0.0.2 --timeout 5
	expect_refusal d "sent a CHALLENGE with an impossible observed endpoint: IPv4 224.0.0.1:5"
	# and the values that are right pass (the control)
	mitm_server || return 1
	peer_bg a3 listen --server $MITM --key "$LAB_DIR/A" --local 127.0.0.2:40001 --timeout 10
	wait_registered a3 || return 1
	peer_run b3 connect "$ID_A" --server $MITM --key "$LAB_DIR/B" --local 127.0.0.3:40002 \
		--wait 1000 --timeout 10 || t_fail "the honest answer: exit $?: $(cat "$LAB_DIR/b3.out")"
	expect_field b3 match start_ms 200
}

# A dual-stack server never matches an IPv6 peer with an IPv4 one: the
# asker is told so, and the listener stays registered for others.
case_family() {
	rdv_ns && lab_ipv6 "$NS" || return 1
	srv_start --listen 127.0.0.1:7450 --listen '[::1]:7450' || return 1
	rdvpeer_keys A B C || return 1
	peer_bg a listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40001 --timeout 20
	wait_registered a || return 1
	peer_run b connect "$ID_A" --server '[::1]:7450' --key "$LAB_DIR/B" --wait 1000 --timeout 10
	expect_error b 16 0
	grep -q "the peer is registered over IPv4, you over IPv6" "$LAB_DIR/b.out" || t_fail "b: $(cat "$LAB_DIR/b.out")"
	peer_run c connect "$ID_A" --server $SRV --key "$LAB_DIR/C" --local 127.0.0.3:40003 --wait 1000 ||
		t_fail "the IPv4 peer was not matched: $(cat "$LAB_DIR/c.out")"
	lab_wait_pid "$PID_a" 10 || t_fail "a exited $?"
	expect_field c match public 127.0.0.2:40001
	srv_alive
}

# A peer with both IP versions registers over both: the two registrations
# live side by side (neither is REPLACED), an asker of each version is
# matched with the registration of its own, and a newer registration
# replaces only the older one of its version.
case_both_versions() {
	rdv_ns && lab_ipv6 "$NS" || return 1
	srv_start --listen 127.0.0.1:7450 --listen '[::1]:7450' || return 1
	rdvpeer_keys A B C || return 1
	peer_bg a4 listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40001 --isn 4 --timeout 20
	peer_bg a6 listen --server '[::1]:7450' --key "$LAB_DIR/A" --local '[::1]:40001' --isn 6 \
		--timeout 20
	wait_registered a4 && wait_registered a6 || return 1
	peer_run b connect "$ID_A" --server '[::1]:7450' --key "$LAB_DIR/B" --wait 1000 --timeout 10 ||
		t_fail "the IPv6 asker was not matched: $(cat "$LAB_DIR/b.out")"
	expect_field b match public '[::1]:40001'
	expect_field b match peer_isn 6
	lab_wait_pid "$PID_a6" 10 || t_fail "a6 exited $?"
	peer_run c connect "$ID_A" --server $SRV --key "$LAB_DIR/C" --local 127.0.0.3:40003 --wait 1000 \
		--timeout 10 || t_fail "the IPv4 asker was not matched: $(cat "$LAB_DIR/c.out")"
	expect_field c match public 127.0.0.2:40001
	expect_field c match peer_isn 4
	lab_wait_pid "$PID_a4" 10 || t_fail "a4 exited $?"
	grep -q '^error' "$LAB_DIR/a4.out" "$LAB_DIR/a6.out" &&
		t_fail "a registration heard an error: $(grep -h '^error' "$LAB_DIR/a4.out" "$LAB_DIR/a6.out")"
	# both again, listening; a second IPv4 registration replaces the first
	# IPv4 one only
	peer_bg r4 listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40005 --timeout 10
	peer_bg r6 listen --server '[::1]:7450' --key "$LAB_DIR/A" --timeout 10
	wait_registered r4 && wait_registered r6 || return 1
	peer_bg n4 register --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40006 --timeout 10
	wait_registered n4 || return 1
	wait_for 5 grep -q '^error code=12 fatal=1' "$LAB_DIR/r4.out" ||
		t_fail "the older IPv4 registration was not replaced: $(cat "$LAB_DIR/r4.out")"
	grep -q '^error' "$LAB_DIR/r6.out" && t_fail "the IPv6 registration was replaced: $(cat "$LAB_DIR/r6.out")"
	srv_alive
}

# --- a listener that is busy -----------------------------------------------------------

# expect_calls NAME: every busy/listen call of serve NAME returned 0, and
# it heard no error (the answer to a LISTEN that BUSY cancelled is not
# the caller's to hear).
expect_calls() {
	grep -E '^(busy|listen) ' "$LAB_DIR/$1.out" | grep -v ' rv=0$' | grep -q . &&
		t_fail "$1: a call failed: $(grep -E '^(busy|listen) ' "$LAB_DIR/$1.out" | tr '\n' '|')"
	grep -q '^error' "$LAB_DIR/$1.out" && t_fail "$1 heard: $(grep '^error' "$LAB_DIR/$1.out" | head -3)"
	return 0
}

# A listener that serves as many peers as it will says BUSY: a peer that
# waits for it and one that asks afresh are told so at once (their waits
# are 30 s: lab_wait_pid gives them 5), its next LISTEN makes it matchable
# again; a BUSY that replaces a pending LISTEN, and LISTEN, BUSY, LISTEN
# in one go, leave the server in the state the last word says.
case_busy() {
	local st
	rdv_ns && srv_start && rdvpeer_keys L W N M P Q || return 1
	peer_bg l serve --server $SRV --key "$LAB_DIR/L" --local 127.0.0.2:40001 --isn 100 \
		--start none --timeout 120
	wait_registered l || return 1
	# W waits for L, which neither listens nor asks yet
	peer_bg w connect "$ID_L" --server $SRV --key "$LAB_DIR/W" --local 127.0.0.3 --wait 30000 \
		--timeout 40
	wait_for 5 srv_state waiting=1 || t_fail "W is not waiting"
	kill -USR1 "$PID_l"
	lab_wait_pid "$PID_w" 5
	expect_error w 17 0
	grep -q "7450: peer busy (it serves as many peers as it will)$" "$LAB_DIR/w.out" ||
		t_fail "w: $(cat "$LAB_DIR/w.out")"
	wait_for 5 srv_state busy=1 waiting=0 listening=0 || t_fail "L is not busy: $(srv_stats)"
	grep -q "$ID_L at 127.0.0.2:40001 is busy: takes no peers until it listens again (1 waiting told)" \
		"$LAB_DIR/srv.log" || t_fail "no log line for BUSY"
	# a new asker is told at once too
	peer_bg n connect "$ID_L" --server $SRV --key "$LAB_DIR/N" --local 127.0.0.4 --wait 30000 \
		--timeout 40
	lab_wait_pid "$PID_n" 5
	expect_error n 17 0
	# L's next LISTEN: matchable again
	kill -USR2 "$PID_l"
	wait_for 5 srv_state busy=0 listening=1 || t_fail "L does not listen again: $(srv_stats)"
	grep -q "$ID_L at 127.0.0.2:40001 takes peers again" "$LAB_DIR/srv.log" ||
		t_fail "no log line for the LISTEN after BUSY"
	peer_run m connect "$ID_L" --server $SRV --key "$LAB_DIR/M" --local 127.0.0.5:40005 --isn 555 \
		--wait 5000 --timeout 20 || t_fail "M was not matched: $(cat "$LAB_DIR/m.out")"
	expect_field m match peer_isn 100
	wait_for 5 grep -qs '^match ' "$LAB_DIR/l.out" || t_fail "L heard no match"
	expect_field l match peer "$ID_M"
	expect_field l match peer_isn 555
	# BUSY replaces a pending LISTEN (ISN 101): the server cancels it
	kill -USR2 "$PID_l"
	wait_for 5 srv_state listening=1 || t_fail "L's LISTEN 101 is not pending"
	kill -USR1 "$PID_l"
	wait_for 5 srv_state busy=1 listening=0 || t_fail "BUSY did not replace the LISTEN: $(srv_stats)"
	peer_run p connect "$ID_L" --server $SRV --key "$LAB_DIR/P" --local 127.0.0.6 --wait 30000 \
		--timeout 5
	expect_error p 17 0
	# LISTEN 102, BUSY, LISTEN 103 at once: the last word is a LISTEN
	kill -HUP "$PID_l"
	wait_for 5 srv_state busy=0 listening=1 || t_fail "after listen, busy, listen: $(srv_stats)"
	peer_run q connect "$ID_L" --server $SRV --key "$LAB_DIR/Q" --local 127.0.0.7:40007 \
		--wait 5000 --timeout 20 || t_fail "Q was not matched: $(cat "$LAB_DIR/q.out")"
	expect_field q match peer_isn 103
	wait_for 5 eval "[ \$(grep -c '^match ' '$LAB_DIR/l.out') = 2 ]" || t_fail "L heard no second match"
	st=$(srv_stats)
	[ "$(stat_of "$st" busy_answers)" = 3 ] || t_fail "want 3 askers told BUSY: $st"
	kill -0 "$PID_l" 2>/dev/null || t_fail "L stopped: $(cat "$LAB_DIR/l.out")"
	expect_calls l
	srv_alive
}

# BUSY where it does not belong (before registration, twice, from a peer
# whose own CONNECT is pending) is a fatal error that says what was wrong;
# a busy listener beside them stays busy, and an honest pair still meets.
case_busy_hostile() {
	rdv_ns && srv_start && rdvpeer_keys L X || return 1
	peer_bg l serve --server $SRV --key "$LAB_DIR/L" --local 127.0.0.2:40001 --start busy \
		--timeout 60
	wait_registered l || return 1
	wait_for 5 srv_state busy=1 || t_fail "L is not busy: $(srv_stats)"
	hostile eb early-busy --bind 127.0.0.51
	grep -q 'text=BUSY before registration$' "$LAB_DIR/eb.out" || t_fail "eb: $(cat "$LAB_DIR/eb.out")"
	hostile bt busy-twice --bind 127.0.0.52
	grep -q 'text=BUSY twice: busy already (a LISTEN ends it)$' "$LAB_DIR/bt.out" ||
		t_fail "bt: $(cat "$LAB_DIR/bt.out")"
	hostile ba busy-asking --bind 127.0.0.53
	grep -q 'text=BUSY while a CONNECT is pending: only a listener can be busy$' "$LAB_DIR/ba.out" ||
		t_fail "ba: $(cat "$LAB_DIR/ba.out")"
	# L is still busy, and still registered
	srv_state busy=1 || t_fail "L is no longer busy: $(srv_stats)"
	peer_run x connect "$ID_L" --server $SRV --key "$LAB_DIR/X" --local 127.0.0.3 --wait 30000 \
		--timeout 5
	expect_error x 17 0
	kill -0 "$PID_l" 2>/dev/null || t_fail "L stopped: $(cat "$LAB_DIR/l.out")"
	expect_calls l
	srv_alive && honest_pair busy-hostile
}

rdv_init || exit 1
# 0-RTT (docs/protocol.md, "Registration in one flight"): peers that pin
# the server's key register in their first message and are matched; the
# same HELLO0 again (replayed from the same port after a reset), one with
# a clock off by more than the window either way, or one naming another
# server key is challenged and goes on the 1-RTT way; a forged one is
# refused; a wrong pin fails as before; a server with --0rtt-window 0
# challenges every HELLO0 and the pair still meets.
case_zrtt() {
	local id st
	rdv_ns && srv_start && rdvpeer_keys A B C || return 1
	id=$(srv_id)
	peer_bg a listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40001 --isn 5 --pin "$id" \
		--zrtt --timeout 20
	wait_registered a || return 1
	expect_field a registered zrtt 1
	peer_run b connect "$ID_A" --server $SRV --key "$LAB_DIR/B" --local 127.0.0.3:40002 --isn 6 \
		--pin "$id" --zrtt --wait 5000 --timeout 20 || t_fail "connect exited $?"
	lab_wait_pid "$PID_a" 20 || t_fail "listen exited $?"
	expect_field b registered zrtt 1
	expect_field b match peer "$ID_A"
	expect_field b match public 127.0.0.2:40001
	expect_field b match peer_isn 5
	expect_field a match peer "$ID_B"
	expect_field a match peer_isn 6
	grep -q "registered $ID_B at 127.0.0.3:40002 (private 127.0.0.3:40002), 0-RTT" "$LAB_DIR/srv.log" ||
		t_fail "the server did not log B's 0-RTT registration"
	hostile replay zrtt-replay --pin "$id" --bind 127.0.0.4
	grep -q "127.0.0.4:[0-9]*: a 0-RTT HELLO replayed: challenged" "$LAB_DIR/srv.log" ||
		t_fail "the server did not log the replay"
	peer_run old hostile zrtt-skew --pin "$id" --skew -30000 --server $SRV ||
		t_fail "a HELLO0 30 s late: $(cat "$LAB_DIR/old.out")"
	peer_run new hostile zrtt-skew --pin "$id" --skew 30000 --server $SRV ||
		t_fail "a HELLO0 30 s early: $(cat "$LAB_DIR/new.out")"
	hostile otherkey zrtt-otherkey --pin "$id"
	hostile forged zrtt-forged --pin "$id"
	st=$(srv_stats)
	[ "$(stat_of "$st" zrtt_taken)" = 3 ] && [ "$(stat_of "$st" zrtt_replayed)" = 1 ] &&
		[ "$(stat_of "$st" zrtt_challenged)" = 4 ] && [ "$(stat_of "$st" bad_signatures)" = 1 ] ||
		t_fail "stats: $st"
	# a copy of a HELLO0 raced ahead of the genuine one: ended REPLACED
	# when the genuine one (challenged) registers, though it asks
	# nothing; the genuine one is unlisted by a registration of its own
	hostile race zrtt-race --pin "$id" --bind 127.0.0.6
	# a wrong pin: refused with both ids, as without 0-RTT
	peer_run c register --server $SRV --key "$LAB_DIR/C" --local 127.0.0.5 --pin "$ID_A" --zrtt \
		--timeout 5
	expect_error c -$EKEYREJECTED 1
	grep -q "has the key $id, not the pinned key $ID_A" "$LAB_DIR/c.out" || t_fail "c: $(cat "$LAB_DIR/c.out")"
	# a server that takes no HELLO0: the 1-RTT way, the pair still meets
	kill -TERM "$SRV_PID"
	lab_wait_pid "$SRV_PID" 5
	srv_start --0rtt-window 0 || return 1
	peer_bg a2 listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40011 --isn 7 --pin "$id" \
		--zrtt --timeout 20
	wait_registered a2 || return 1
	peer_run b2 connect "$ID_A" --server $SRV --key "$LAB_DIR/B" --local 127.0.0.3:40012 --isn 8 \
		--pin "$id" --zrtt --wait 5000 --timeout 20 || t_fail "connect (no 0-RTT) exited $?"
	lab_wait_pid "$PID_a2" 20 || t_fail "listen (no 0-RTT) exited $?"
	expect_field a2 registered zrtt 0
	expect_field b2 registered zrtt 0
	expect_field b2 match peer_isn 7
	expect_field a2 match peer_isn 8
	srv_alive
}

# Open 0-RTT: peers that pin no key register in one flight too, the HELLO0
# bound to the server's address as they reached it; the WELCOME names the
# server's key, which they then know. A replay, one signed for the server
# at another port (as behind a NAT in front of the server) and a forged
# one are challenged (an open HELLO0 that does not verify may be honest),
# and the 1-RTT way registers.
case_zrtt_open() {
	local id st
	rdv_ns && srv_start && rdvpeer_keys A B || return 1
	id=$(srv_id)
	peer_bg a listen --server $SRV --key "$LAB_DIR/A" --local 127.0.0.2:40001 --isn 5 --zrtt --timeout 20
	wait_registered a || return 1
	expect_field a registered zrtt 1
	expect_field a registered server "$id"
	peer_run b connect "$ID_A" --server $SRV --key "$LAB_DIR/B" --local 127.0.0.3:40002 --isn 6 \
		--zrtt --wait 5000 --timeout 20 || t_fail "connect exited $?"
	lab_wait_pid "$PID_a" 20 || t_fail "listen exited $?"
	expect_field b registered zrtt 1
	expect_field b registered server "$id"
	expect_field b match peer "$ID_A"
	expect_field b match peer_isn 5
	expect_field a match peer_isn 6
	grep -q "registered $ID_B at 127.0.0.3:40002 (private 127.0.0.3:40002), 0-RTT" "$LAB_DIR/srv.log" ||
		t_fail "the server did not log B's 0-RTT registration"
	hostile replay zrtt-replay --bind 127.0.0.4
	hostile elsewhere zrtt-elsewhere
	hostile forged zrtt-forged
	st=$(srv_stats)
	[ "$(stat_of "$st" zrtt_taken)" = 3 ] && [ "$(stat_of "$st" zrtt_replayed)" = 1 ] &&
		[ "$(stat_of "$st" zrtt_challenged)" = 3 ] && [ "$(stat_of "$st" bad_signatures)" = 0 ] ||
		t_fail "stats: $st"
	srv_alive
}

t_run "rendezvous: listen/connect: endpoints, private endpoints, ISNs, roles" case_match
t_run "rendezvous: both ask for each other: one initiator (the lower key)" case_mutual
t_run "rendezvous: errors: unknown, self, not waiting, not authorised, mistyped id" case_errors
t_run "rendezvous: a second registration of a peer id replaces the first" case_replace
t_run "rendezvous: registrations of one peer id at once: the older ones unlisted, still ask; a LISTEN ends one" case_replace_asking
t_run "rendezvous: hostile clients (garbage, oversized, drip, 1000 idle, stolen id) while a pair matches" case_hostile
t_run "rendezvous: per-address connection limit" case_limits_per_addr
t_run "rendezvous: per-address rate limit and refill" case_limits_rate
t_run "rendezvous: server full" case_full
t_run "rendezvous: 10,000 registered peers" case_many
t_run "rendezvous: idle timeout drops a silent peer, keeps a pinging one" case_idle_timeout
t_run "rendezvous: config file, command line over it, bad settings, busy port" case_config
t_run "rendezvous: clean shutdown on SIGTERM" case_shutdown TERM
t_run "rendezvous: clean shutdown on SIGINT" case_shutdown INT
t_run "rendezvous: the server key: made once, logged, kept, pinned, never replaced" case_server_key
t_run "rendezvous: a relaying man in the middle cannot register its victim here" case_relay
t_run "rendezvous: a server that claims a key it does not hold is refused" case_impostor
t_run "rendezvous: hostile server values (start delay, endpoints, idle timeout) are refused" case_hostile_server
t_run "rendezvous: IPv4 and IPv6 peers are never matched" case_family
t_run "rendezvous: a peer registered over both IP versions, each matched in its own" case_both_versions
t_run "rendezvous: filled with idle registrations from one /56, the oldest make room" case_fill_idle
t_run "rendezvous: fills from one IPv6 /56, one /48 and one IPv4 /24 get their share only" case_fill_networks
t_run "rendezvous: a full server evicts the idle, not a registration others wait for" case_fill_replace
t_run "rendezvous: a busy listener: askers told at once, its next LISTEN matchable, BUSY replaces a LISTEN" case_busy
t_run "rendezvous: BUSY before registration, twice, while asking: fatal, others undisturbed" case_busy_hostile
t_run "rendezvous: 0-RTT: registered in one flight, a replay, a clock off, another key challenged" case_zrtt
t_run "rendezvous: open 0-RTT (no pin): one flight, bound to the server's address; replay, elsewhere, forged challenged" case_zrtt_open
t_summary
