#!/bin/bash
# rendezvousd instances sharing one Redis (--redis): redis-server from
# Debian and two (or more) instances in a namespace of their own, on
# loopback; honest peers (tests/tools/rdvpeer) registered at one instance
# reach peers at the other, with every rule of the single server kept
# across instances: endpoints, ISNs, roles and start delays, both asking
# for each other, allow lists, NOT_WAITING after the asker's wait, BUSY,
# FAMILY (IPv4 and IPv6 peers never matched),
# REPLACED (the same key registering at the other instance, its waiters
# following it), the rate limit for requests that go to another
# instance, the stats line. Redis restarted mid-test (local matches go on
# meanwhile, cross-instance ones work again once it is back, each change
# logged once); an instance started before Redis; one instance killed
# with SIGKILL (its registrations expire at the other); what is stored in
# Redis (keys of hex only). And two real p2ptcp peers through the two-NAT
# lab, one at each of two rendezvous servers on the "internet", 16 MiB
# each way.
#
# Each case runs in namespaces of its own (removed on every exit path, see
# lab.sh); redis-server and every instance are ended by pid. Ends with
# "netns: P passed, F failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

RDVD=${RDVD:-$BUILD/rendezvousd}
RDVPEER=${RDVPEER:-$BUILD/tests/tools/rdvpeer}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}
RPORT=6390
RADDR=127.0.0.1
T_CASE_LIMIT=${T_CASE_LIMIT:-180}
N=$((16 * MiB))

redis_init() {
	t_init || return 1
	local f
	for f in "$RDVD" "$RDVPEER"; do
		[ -x "$f" ] || { echo "netns: $f is missing (make test-build)"; return 1; }
	done
	for f in "$REDIS_SERVER" "$REDIS_CLI"; do
		command -v "$f" >/dev/null || { echo "netns: $f is missing (tests/setup-deps.sh)"; return 1; }
	done
}

# rd_ns: this case's namespace, loopback only; sets NS.
rd_ns() {
	lab__ns_add rdv || return 1
	NS=$LAB_NS_LAST
}

# redis_start: redis-server in $NS (or REDIS_NS) on $RADDR:$RPORT, no
# persistence; sets REDIS_PID.
redis_start() {
	local ns=${REDIS_NS:-$NS}
	lab_bg "$ns" "$LAB_DIR/redis.out" "$LAB_DIR/redis.log" "$REDIS_SERVER" --port $RPORT --bind $RADDR \
		--save "" --appendonly no --daemonize no --protected-mode no
	REDIS_PID=$LAB_LAST_PID
	t_log "$LAB_DIR/redis.out"
	wait_for 5 listening "$ns" $RPORT || { t_fail "redis-server did not start"; return 1; }
}

redis_stop() {
	kill -TERM "$REDIS_PID" 2>/dev/null
	lab_wait_pid "$REDIS_PID" 5 >/dev/null
	wait_for 5 eval "! listening '${REDIS_NS:-$NS}' $RPORT"
}

rcli() { ip netns exec "${REDIS_NS:-$NS}" "$REDIS_CLI" -h $RADDR -p $RPORT "$@"; }

# inst_start I [ARGS...]: rendezvousd -v number I on 127.0.0.1:(7449+I)
# with --redis; log in sI.log; sets SRV_I (its address) and PID_sI. Waits
# until it listens and, unless REDIS_DOWN is set, has connected to Redis.
inst_start() {
	local i=$1 port=$((7449 + $1))
	shift
	lab_bg "$NS" "$LAB_DIR/s$i.out" "$LAB_DIR/s$i.log" "$RDVD" -v --key-dir "$LAB_DIR/rdvd$i" \
		--listen 127.0.0.1:$port --redis $RADDR:$RPORT "$@"
	eval "PID_s$i=\$LAB_LAST_PID SRV_$i=127.0.0.1:$port"
	t_log "$LAB_DIR/s$i.log"
	wait_for 5 listening "$NS" $port || { t_fail "instance $i did not listen"; return 1; }
	[ -n "${REDIS_DOWN:-}" ] && return 0
	wait_for 5 grep -qs "connected to Redis at $RADDR:$RPORT" "$LAB_DIR/s$i.log" ||
		{ t_fail "instance $i did not connect to Redis"; return 1; }
}

# two_inst [ARGS...]: Redis and instances 1 and 2 with ARGS.
two_inst() {
	rd_ns && redis_start && inst_start 1 "$@" && inst_start 2 "$@"
}

inst_alive() {
	local i
	for i in "$@"; do
		eval "kill -0 \$PID_s$i" 2>/dev/null || t_fail "instance $i is not running any more"
	done
}

# rdvpeer_keys, peer_bg, peer_run: lab.sh; a foreground rdvpeer here gets 60 s.
PEER_RUN_LIMIT=60

wait_registered() {
	wait_for "${2:-10}" grep -qs '^registered' "$LAB_DIR/$1.out" || { t_fail "$1 did not register"; return 1; }
}

# field NAME LINE-TYPE KEY: KEY= on NAME's first LINE-TYPE line.
field() { sed -n "s/^$2 .*\b$3=\([^ ]*\).*/\1/p" "$LAB_DIR/$1.out" | head -1; }

expect_field() { # NAME LINE-TYPE KEY WANT
	local got
	got=$(field "$1" "$2" "$3")
	[ "$got" = "$4" ] || t_fail "$1: $2 $3='$got', want '$4'"
}

expect_error() { # NAME CODE FATAL
	grep -q "^error code=$2 fatal=$3 " "$LAB_DIR/$1.out" ||
		t_fail "$1: want 'error code=$2 fatal=$3', got '$(head -c 300 "$LAB_DIR/$1.out" | tr '\n' '|')'"
}

# stats I: instance I's stats line after SIGUSR1.
stats() {
	local n pid
	eval "pid=\$PID_s$1"
	n=$(grep -c '^rendezvousd: stats:' "$LAB_DIR/s$1.log")
	kill -USR1 "$pid"
	wait_for 5 eval "[ \$(grep -c '^rendezvousd: stats:' '$LAB_DIR/s$1.log') -gt $n ]"
	grep '^rendezvousd: stats:' "$LAB_DIR/s$1.log" | tail -1
}

stat_of() { echo "$1" | sed -n "s/.* $2=\([0-9a-z]*\).*/\1/p"; }

# state I KEY=VALUE...: one stats line of instance I says all of them.
state() {
	local st kv i=$1
	shift
	st=$(stats "$i")
	for kv in "$@"; do
		[ "$(stat_of "$st" "${kv%%=*}")" = "${kv#*=}" ] || return 1
	done
}

# in_redis ID: the registration of peer ID is in Redis.
in_redis() { [ "$(rcli EXISTS "p2ptcp:rdv:peer:$(hex_key "$1")")" = 1 ]; }

# hex_key ID: the key bytes of a peer id in hex, as the registry names it.
hex_key() {
	local s=${1##*-}
	s=${s^^}
	while [ $((${#s} % 8)) -ne 0 ]; do s="$s="; done
	echo "$s" | base32 -d 2>/dev/null | head -c 32 | od -An -v -tx1 | tr -d ' \n'
}

# cross_pair TAG L-INST C-INST: A listens at instance L-INST from
# 127.0.0.2, B connects at C-INST from 127.0.0.3: both matched with each
# other's endpoints and ISNs, B the initiator.
CP_N=0
cross_pair() {
	local a=pa$CP_N b=pb$CP_N pa=$((41000 + CP_N)) pb=$((42000 + CP_N)) srvl srvc
	CP_N=$((CP_N + 1))
	eval "srvl=\$SRV_$2 srvc=\$SRV_$3"
	[ -n "${ID_A:-}" ] || rdvpeer_keys A B || return 1
	peer_bg "$a" listen --server "$srvl" --key "$LAB_DIR/A" --local 127.0.0.2:$pa --isn 1001 --timeout 20
	wait_registered "$a" || return 1
	peer_run "$b" connect "$ID_A" --server "$srvc" --key "$LAB_DIR/B" --local 127.0.0.3:$pb \
		--isn 2002 --wait 5000 --timeout 20 || t_fail "connect ($1) exited $?: $(cat "$LAB_DIR/$b.out")"
	eval "lab_wait_pid \$PID_$a 20" || t_fail "listen ($1) exited $?"
	expect_field "$a" match peer "$ID_B"
	expect_field "$a" match public 127.0.0.3:$pb
	expect_field "$a" match peer_isn 2002
	expect_field "$a" match isn 1001
	expect_field "$a" match role responder
	expect_field "$b" match peer "$ID_A"
	expect_field "$b" match public 127.0.0.2:$pa
	expect_field "$b" match private 127.0.0.2:$pa
	expect_field "$b" match peer_isn 1001
	expect_field "$b" match isn 2002
	expect_field "$b" match role initiator
}

# --- cases -----------------------------------------------------------------------------

# A peer at instance 1 reaches one at instance 2 and the other way round;
# each instance counts what it did; Redis holds hex keys and our
# endpoint text only, and nothing once the peers are gone.
case_cross() {
	local st k sa sb
	two_inst && rdvpeer_keys A B || return 1
	cross_pair 1to2 1 2
	sa=$(field pa0 match start_ms) sb=$(field pb0 match start_ms)
	[ "${sa:-x}" -ge 0 ] 2>/dev/null && [ "$sa" -le 1000 ] || t_fail "start_ms '$sa' not in [0, 1000]"
	[ "${sb:-x}" -ge 0 ] 2>/dev/null && [ "$sb" -le 1000 ] || t_fail "start_ms '$sb' not in [0, 1000]"
	cross_pair 2to1 2 1
	st=$(stats 1)
	[ "$(stat_of "$st" matches)" = 1 ] && [ "$(stat_of "$st" remote_matches)" = 1 ] &&
		[ "$(stat_of "$st" remote_requests)" = 1 ] && [ "$(stat_of "$st" remote_asked)" = 1 ] &&
		[ "$(stat_of "$st" redis)" = up ] || t_fail "instance 1: $st"
	st=$(stats 2)
	[ "$(stat_of "$st" matches)" = 1 ] && [ "$(stat_of "$st" remote_matches)" = 1 ] || t_fail "instance 2: $st"
	# what is stored while a peer is registered
	peer_bg r register --server "$SRV_1" --key "$LAB_DIR/A" --local 127.0.0.2:43000 --private none \
		--timeout 20
	wait_registered r || return 1
	wait_for 5 in_redis "$ID_A" || t_fail "A's registration is not in Redis"
	k=$(rcli --scan --pattern '*')
	[ "$k" = "p2ptcp:rdv:peer:$(hex_key "$ID_A")" ] || t_fail "keys in Redis: '$k'"
	rcli HGETALL "p2ptcp:rdv:peer:$(hex_key "$ID_A")" | tr '\n' ' ' >"$LAB_DIR/hash"
	grep -qE '^inst [0-9a-f]{16} public 127\.0\.0\.2:43000 private none $' "$LAB_DIR/hash" ||
		t_fail "A's registration: '$(cat "$LAB_DIR/hash")'"
	kill -TERM "$PID_r"
	lab_wait_pid "$PID_r" 5
	wait_for 5 eval '! in_redis "$ID_A"' || t_fail "A's registration outlived its connection"
	inst_alive 1 2
}

# Both ask for each other, each at its own instance, at about the same
# moment (both instances see it): one match each, the lower key initiates.
case_mutual() {
	local ra rb lower st1 st2
	two_inst && rdvpeer_keys A B || return 1
	peer_bg a connect "$ID_B" --server "$SRV_1" --key "$LAB_DIR/A" --local 127.0.0.2:40001 --isn 11 \
		--wait 5000 --delay 700 --timeout 20
	peer_bg b connect "$ID_A" --server "$SRV_2" --key "$LAB_DIR/B" --local 127.0.0.3:40002 --isn 22 \
		--wait 5000 --delay 700 --timeout 20
	lab_wait_pid "$PID_a" 25 || t_fail "a exited $?"
	lab_wait_pid "$PID_b" 25 || t_fail "b exited $?"
	expect_field a match peer "$ID_B"
	expect_field a match peer_isn 22
	expect_field a match public 127.0.0.3:40002
	expect_field b match peer "$ID_A"
	expect_field b match peer_isn 11
	expect_field b match public 127.0.0.2:40001
	ra=$(field a match role) rb=$(field b match role)
	lower=$(printf '%s\n%s\n' "$(hex_key "$ID_A")" "$(hex_key "$ID_B")" | sort | head -1)
	if [ "$lower" = "$(hex_key "$ID_A")" ]; then
		[ "$ra" = initiator ] && [ "$rb" = responder ] || t_fail "A has the lower key: roles '$ra' '$rb'"
	else
		[ "$rb" = initiator ] && [ "$ra" = responder ] || t_fail "B has the lower key: roles '$ra' '$rb'"
	fi
	# one match in all, made at one instance
	st1=$(stats 1) st2=$(stats 2)
	[ $(($(stat_of "$st1" matches) + $(stat_of "$st2" matches))) = 1 ] || t_fail "matches: $st1 / $st2"
	[ "$(stat_of "$st1" ghosts)" = 0 ] && [ "$(stat_of "$st2" ghosts)" = 0 ] || t_fail "ghosts left: $st1 / $st2"
	# and in turn: A registers, B asks for it and waits at A's
	# instance, then A asks for B (there: matched at once)
	peer_bg a2 connect "$ID_B" --server "$SRV_1" --key "$LAB_DIR/A" --local 127.0.0.2:40003 --isn 33 \
		--wait 5000 --delay 2000 --timeout 20
	wait_registered a2 || return 1
	peer_bg b2 connect "$ID_A" --server "$SRV_2" --key "$LAB_DIR/B" --local 127.0.0.3:40004 --isn 44 \
		--wait 10000 --timeout 20
	wait_for 5 state 1 ghosts=1 || t_fail "B does not wait at instance 1"
	lab_wait_pid "$PID_a2" 10 || t_fail "a2 exited $?"
	lab_wait_pid "$PID_b2" 10 || t_fail "b2 exited $?"
	expect_field a2 match peer_isn 44
	expect_field b2 match peer_isn 33
	[ "$(field a2 match role)" != "$(field b2 match role)" ] || t_fail "both $(field a2 match role)"
	inst_alive 1 2
}

# Unknown, self, not waiting (at once, and after the asker's wait, not
# the grace), not authorised by the listener's allow list, its FAMILY of
# rules, all decided at the peer's instance.
case_rules() {
	local t0 t1 ms
	two_inst && rdvpeer_keys A B C D E || return 1
	peer_run e1 connect "$ID_E" --server "$SRV_2" --key "$LAB_DIR/A" --local 127.0.0.2 --wait 1000
	expect_error e1 7 0
	peer_run e2 connect "$ID_A" --server "$SRV_2" --key "$LAB_DIR/A" --local 127.0.0.2
	expect_error e2 13 0
	# C at instance 1 neither listens nor asks
	peer_bg c register --server "$SRV_1" --key "$LAB_DIR/C" --local 127.0.0.4 --timeout 40
	wait_registered c || return 1
	peer_run e3 connect "$ID_C" --server "$SRV_2" --key "$LAB_DIR/A" --local 127.0.0.2 --wait 0
	expect_error e3 8 0
	t0=$(date +%s%N)
	peer_run e4 connect "$ID_C" --server "$SRV_2" --key "$LAB_DIR/A" --local 127.0.0.2 --wait 1500
	t1=$(date +%s%N)
	expect_error e4 8 0
	grep -q "the peer did not ask for us in time" "$LAB_DIR/e4.out" || t_fail "e4: $(cat "$LAB_DIR/e4.out")"
	ms=$(((t1 - t0) / 1000000))
	[ "$ms" -ge 1400 ] && [ "$ms" -lt 3000 ] || t_fail "NOT_WAITING after $ms ms, want the 1.5 s wait"
	# D at instance 1 listens for A only
	peer_bg d listen --server "$SRV_1" --key "$LAB_DIR/D" --local 127.0.0.5:40005 --allow "$ID_A" --timeout 30
	wait_registered d || return 1
	peer_run e5 connect "$ID_D" --server "$SRV_2" --key "$LAB_DIR/B" --local 127.0.0.3 --wait 1000
	expect_error e5 5 0
	peer_run e6 connect "$ID_D" --server "$SRV_2" --key "$LAB_DIR/A" --local 127.0.0.2 --wait 1000 ||
		t_fail "the allowed peer was not matched: $(cat "$LAB_DIR/e6.out")"
	expect_field e6 match public 127.0.0.5:40005
	lab_wait_pid "$PID_d" 10 || t_fail "listener d exited $?"
	# C goes away while A waits for it from the other instance
	peer_bg e7 connect "$ID_C" --server "$SRV_2" --key "$LAB_DIR/A" --local 127.0.0.2 --wait 20000 --timeout 30
	wait_for 5 state 1 ghosts=1 || t_fail "A does not wait at instance 1"
	kill -TERM "$PID_c"
	lab_wait_pid "$PID_e7" 5 >/dev/null
	expect_error e7 8 0
	grep -q "the peer went away" "$LAB_DIR/e7.out" || t_fail "e7: $(cat "$LAB_DIR/e7.out")"
	# an asker that goes away is forgotten at the peer's instance
	peer_bg c2 register --server "$SRV_1" --key "$LAB_DIR/C" --local 127.0.0.4 --timeout 40
	wait_registered c2 || return 1
	peer_bg e8 connect "$ID_C" --server "$SRV_2" --key "$LAB_DIR/A" --local 127.0.0.2 --wait 20000 --timeout 30
	wait_for 5 state 1 ghosts=1 || t_fail "A does not wait at instance 1 (again)"
	kill -TERM "$PID_e8"
	wait_for 5 state 1 ghosts=0 || t_fail "the ghost of a vanished asker stays: $(stats 1)"
	inst_alive 1 2
}

# A busy listener at instance 1: its waiter at instance 2 and a new asker
# there are told BUSY at once; its next LISTEN is matchable again.
case_busy() {
	local st
	two_inst && rdvpeer_keys L W N M || return 1
	peer_bg l serve --server "$SRV_1" --key "$LAB_DIR/L" --local 127.0.0.2:40001 --isn 100 \
		--start none --timeout 60
	wait_registered l || return 1
	peer_bg w connect "$ID_L" --server "$SRV_2" --key "$LAB_DIR/W" --local 127.0.0.3 --wait 30000 \
		--timeout 40
	wait_for 5 state 1 ghosts=1 || t_fail "W is not waiting at instance 1"
	kill -USR1 "$PID_l"
	lab_wait_pid "$PID_w" 5
	expect_error w 17 0
	wait_for 5 state 1 busy=1 ghosts=0 || t_fail "L is not busy: $(stats 1)"
	peer_bg n connect "$ID_L" --server "$SRV_2" --key "$LAB_DIR/N" --local 127.0.0.4 --wait 30000 \
		--timeout 40
	lab_wait_pid "$PID_n" 5
	expect_error n 17 0
	kill -USR2 "$PID_l"
	wait_for 5 state 1 busy=0 listening=1 || t_fail "L does not listen again: $(stats 1)"
	peer_run m connect "$ID_L" --server "$SRV_2" --key "$LAB_DIR/M" --local 127.0.0.5:40005 --isn 555 \
		--wait 5000 --timeout 20 || t_fail "M was not matched: $(cat "$LAB_DIR/m.out")"
	expect_field m match peer_isn 100
	wait_for 5 grep -qs '^match ' "$LAB_DIR/l.out" || t_fail "L heard no match"
	expect_field l match peer_isn 555
	st=$(stats 1)
	[ "$(stat_of "$st" busy_answers)" = 2 ] || t_fail "want 2 askers told BUSY: $st"
	inst_alive 1 2
}

# A registered at instance 1, waited for there by W; A registers again at
# instance 2: the first, not listening, is unlisted (and gets REPLACED at
# its LISTEN), W now waits for (and meets) the new A at instance 2;
# askers at either instance find the new one.
case_replace() {
	two_inst && rdvpeer_keys A W B || return 1
	peer_bg a1 serve --server "$SRV_1" --key "$LAB_DIR/A" --local 127.0.0.2:40001 --start none \
		--timeout 40
	wait_registered a1 || return 1
	peer_bg w connect "$ID_A" --server "$SRV_1" --key "$LAB_DIR/W" --local 127.0.0.3:40003 --isn 33 \
		--wait 20000 --timeout 30
	wait_for 5 state 1 waiting=1 || t_fail "W is not waiting"
	peer_bg a2 serve --server "$SRV_2" --key "$LAB_DIR/A" --local 127.0.0.6:40006 --isn 60 --start none \
		--timeout 40
	wait_registered a2 || return 1
	wait_for 5 state 2 ghosts=1 || t_fail "W does not wait at instance 2: $(stats 2)"
	wait_for 5 state 1 registered=1 unlisted=1 || t_fail "a1 is not unlisted: $(stats 1)"
	kill -USR2 "$PID_a1"
	lab_wait_pid "$PID_a1" 10
	expect_error a1 12 1
	grep -q "registered again from 127.0.0.6:40006 (at another instance)" "$LAB_DIR/a1.out" ||
		t_fail "a1: $(cat "$LAB_DIR/a1.out")"
	kill -USR2 "$PID_a2"
	lab_wait_pid "$PID_w" 10 || t_fail "w exited $?: $(cat "$LAB_DIR/w.out")"
	expect_field w match public 127.0.0.6:40006
	expect_field w match peer_isn 60
	kill -USR2 "$PID_a2"
	peer_run b connect "$ID_A" --server "$SRV_1" --key "$LAB_DIR/B" --local 127.0.0.4:40004 --wait 3000 \
		--timeout 10 || t_fail "b exited $?: $(cat "$LAB_DIR/b.out")"
	expect_field b match public 127.0.0.6:40006
	expect_field b match peer_isn 61
	inst_alive 1 2
}

# Registrations of one key at once, asking only once the next has
# registered (parallel `p2ptcp connect` of one identity): a1 unlisted at
# instance 1 by a2 there, a2 by a3 at instance 2 (REPLACED from there);
# each still asks for a listener at instance 2 and gets its MATCH back
# through instance 1. Redis names instance 2 (a3) throughout.
case_replace_asking() {
	two_inst && rdvpeer_keys A L M || return 1
	peer_bg l listen --server "$SRV_2" --key "$LAB_DIR/L" --local 127.0.0.3:40003 --isn 3 --timeout 30
	peer_bg m listen --server "$SRV_2" --key "$LAB_DIR/M" --local 127.0.0.4:40004 --isn 4 --timeout 30
	wait_registered l && wait_registered m || return 1
	peer_bg a1 connect "$ID_L" --server "$SRV_1" --key "$LAB_DIR/A" --local 127.0.0.2:40001 --isn 11 \
		--wait 5000 --on-signal --timeout 30
	wait_registered a1 || return 1
	peer_bg a2 connect "$ID_M" --server "$SRV_1" --key "$LAB_DIR/A" --local 127.0.0.6:40006 --isn 12 \
		--wait 5000 --on-signal --timeout 30
	wait_registered a2 || return 1
	wait_for 5 state 1 registered=1 unlisted=1 || t_fail "a1 is not unlisted: $(stats 1)"
	peer_bg a3 serve --server "$SRV_2" --key "$LAB_DIR/A" --local 127.0.0.5:40005 --start none \
		--timeout 30
	wait_registered a3 || return 1
	wait_for 5 state 1 registered=0 unlisted=2 || t_fail "a2 is not unlisted: $(stats 1)"
	grep -q '^error' "$LAB_DIR/a1.out" "$LAB_DIR/a2.out" &&
		t_fail "an asking registration was ended: $(grep -h '^error' "$LAB_DIR/a1.out" "$LAB_DIR/a2.out")"
	rdvpeer_go_match a1 l "$ID_L" 127.0.0.3:40003 3 127.0.0.2:40001 11
	rdvpeer_go_match a2 m "$ID_M" 127.0.0.4:40004 4 127.0.0.6:40006 12
	wait_for 5 state 1 unlisted=0 || t_fail "instance 1 keeps an unlisted registration: $(stats 1)"
	[ "$(rcli HGET "p2ptcp:rdv:peer:$(hex_key "$ID_A")" public)" = 127.0.0.5:40005 ] ||
		t_fail "Redis does not name a3: $(rcli HGETALL "p2ptcp:rdv:peer:$(hex_key "$ID_A")" | tr '\n' ' ')"
	inst_alive 1 2
}

# IPv4 and IPv6 peers are never matched, at two instances either: the
# asker over IPv6 at instance 2 is told FAMILY by the peer's instance.
case_family() {
	rd_ns && lab_ipv6 "$NS" && redis_start && inst_start 1 && inst_start 2 --listen '[::1]:7451' ||
		return 1
	rdvpeer_keys A B C || return 1
	peer_bg a listen --server "$SRV_1" --key "$LAB_DIR/A" --local 127.0.0.2:40001 --timeout 20
	wait_registered a || return 1
	peer_run b connect "$ID_A" --server '[::1]:7451' --key "$LAB_DIR/B" --wait 1000 --timeout 10
	expect_error b 16 0
	grep -q "the peer is registered over IPv4, you over IPv6" "$LAB_DIR/b.out" || t_fail "b: $(cat "$LAB_DIR/b.out")"
	peer_run c connect "$ID_A" --server "$SRV_2" --key "$LAB_DIR/C" --local 127.0.0.3:40003 --wait 1000 ||
		t_fail "the IPv4 peer was not matched: $(cat "$LAB_DIR/c.out")"
	lab_wait_pid "$PID_a" 10 || t_fail "a exited $?"
	expect_field c match public 127.0.0.2:40001
	inst_alive 1 2
}

# The rate limit of the asker's instance counts requests for peers at
# other instances: what it refuses never reaches Redis.
case_rate() {
	local st1 st2 nw
	rd_ns && redis_start && inst_start 1 && inst_start 2 --rate 1 --burst 6 || return 1
	rdvpeer_keys C || return 1
	peer_bg c register --server "$SRV_1" --key "$LAB_DIR/C" --local 127.0.0.4 --timeout 30
	wait_registered c || return 1
	peer_run q hostile requests 30 "$ID_C" --server "$SRV_2" --bind 127.0.0.9 ||
		t_fail "requests: $(cat "$LAB_DIR/q.out")"
	nw=$(field q requests not_waiting)
	# the connection took one token of six; a second may have come back
	[ "${nw:-0}" -ge 5 ] && [ "$nw" -le 6 ] || t_fail "$(cat "$LAB_DIR/q.out")"
	expect_field q requests rate_limited $((30 - nw))
	st2=$(stats 2) st1=$(stats 1)
	[ "$(stat_of "$st2" remote_requests)" = "$nw" ] || t_fail "instance 2 sent more: $st2"
	[ "$(stat_of "$st1" remote_asked)" = "$nw" ] || t_fail "instance 1 was asked more: $st1"
	inst_alive 1 2
}

# Redis restarted: meanwhile local matches go on and cross-instance asks
# fail at once, saying why; each instance logs the loss once and the
# return once; peers registered during the outage are known everywhere
# once Redis is back.
case_restart() {
	local i
	two_inst && rdvpeer_keys A B L M || return 1
	cross_pair before 1 2
	redis_stop
	for i in 1 2; do
		wait_for 10 grep -qs "lost Redis at $RADDR:$RPORT" "$LAB_DIR/s$i.log" ||
			t_fail "instance $i did not log the loss"
	done
	# during the outage: a pair at instance 1
	peer_bg l listen --server "$SRV_1" --key "$LAB_DIR/L" --local 127.0.0.7:40007 --isn 77 --timeout 40
	wait_registered l || return 1
	peer_run m connect "$ID_L" --server "$SRV_1" --key "$LAB_DIR/M" --local 127.0.0.8:40008 --wait 3000 \
		--timeout 10 || t_fail "the local pair did not meet without Redis: $(cat "$LAB_DIR/m.out")"
	expect_field m match public 127.0.0.7:40007
	# a listener registered at instance 1 during the outage ...
	peer_bg l2 listen --server "$SRV_1" --key "$LAB_DIR/L" --local 127.0.0.7:40017 --isn 78 --timeout 60
	wait_registered l2 || return 1
	# ... is not known at instance 2 yet, which says why
	peer_run m2 connect "$ID_L" --server "$SRV_2" --key "$LAB_DIR/M" --local 127.0.0.8 --wait 1000 --timeout 10
	expect_error m2 7 0
	grep -q "other instances are out of reach" "$LAB_DIR/m2.out" || t_fail "m2: $(cat "$LAB_DIR/m2.out")"
	sleep 2   # a few reconnection attempts, which are not logged at warn level
	redis_start || return 1
	for i in 1 2; do
		wait_for 10 grep -qs "Redis at $RADDR:$RPORT is back after" "$LAB_DIR/s$i.log" ||
			t_fail "instance $i did not log the return"
		[ "$(grep -c "lost Redis" "$LAB_DIR/s$i.log")" = 1 ] || t_fail "instance $i logged the loss more than once"
		[ "$(grep -c "is back after" "$LAB_DIR/s$i.log")" = 1 ] || t_fail "instance $i logged the return more than once"
	done
	wait_for 5 in_redis "$ID_L" || t_fail "L was not registered again"
	peer_run m3 connect "$ID_L" --server "$SRV_2" --key "$LAB_DIR/M" --local 127.0.0.8:40018 --wait 3000 \
		--timeout 10 || t_fail "L at instance 1 not reached from 2 after the restart: $(cat "$LAB_DIR/m3.out")"
	expect_field m3 match public 127.0.0.7:40017
	expect_field m3 match peer_isn 78
	cross_pair after 2 1
	[ "$(stat_of "$(stats 1)" redis_losses)" = 1 ] || t_fail "instance 1: $(stats 1)"
	inst_alive 1 2
}

# An instance that starts before Redis serves its own peers, logs once
# that Redis is out of reach, and joins when it comes.
case_late_redis() {
	rd_ns || return 1
	REDIS_DOWN=1 inst_start 1 || return 1
	wait_for 5 grep -qs "cannot reach Redis at $RADDR:$RPORT" "$LAB_DIR/s1.log" || t_fail "no log line"
	rdvpeer_keys A B || return 1
	SRV_2=$SRV_1 cross_pair alone 1 2
	redis_start && inst_start 2 || return 1
	wait_for 10 grep -qs "connected to Redis at $RADDR:$RPORT" "$LAB_DIR/s1.log" ||
		t_fail "instance 1 did not connect once Redis was up"
	[ "$(grep -c "cannot reach Redis" "$LAB_DIR/s1.log")" = 1 ] || t_fail "logged more than once"
	cross_pair joined 1 2
	inst_alive 1 2
	# bad values, quoted
	ip netns exec "$NS" "$RDVD" --key-dir "$LAB_DIR/rdvd1" --redis redis.example:6379 >"$LAB_DIR/bad.out" 2>&1
	[ $? -eq 2 ] && grep -q "redis: invalid address: 'redis.example:6379'" "$LAB_DIR/bad.out" ||
		t_fail "$(cat "$LAB_DIR/bad.out")"
	ip netns exec "$NS" "$RDVD" --key-dir "$LAB_DIR/rdvd1" --redis-ttl 0.5 >"$LAB_DIR/bad.out" 2>&1
	grep -q "invalid value for --redis-ttl: '0.5'" "$LAB_DIR/bad.out" || t_fail "$(cat "$LAB_DIR/bad.out")"
}

# SIGKILL: the killed instance's registrations expire (TTL 3 s) while
# the living instance's stay (refreshed); then its peers are unknown.
case_kill() {
	two_inst --redis-ttl 3 && rdvpeer_keys A B C || return 1
	peer_bg a register --server "$SRV_2" --key "$LAB_DIR/A" --local 127.0.0.2 --timeout 40
	peer_bg c register --server "$SRV_1" --key "$LAB_DIR/C" --local 127.0.0.4 --timeout 40
	wait_registered a && wait_registered c || return 1
	wait_for 5 in_redis "$ID_A" || t_fail "A is not in Redis"
	sleep 4   # longer than the TTL: C's registration must have been refreshed
	in_redis "$ID_A" || t_fail "A's registration was not refreshed"
	in_redis "$ID_C" || t_fail "C's registration was not refreshed"
	kill -KILL "$PID_s2"
	lab_wait_pid "$PID_s2" 5 >/dev/null 2>&1
	wait_for 5 eval '! in_redis "$ID_A"' || t_fail "A's registration did not expire within 5 s"
	in_redis "$ID_C" || t_fail "C's registration expired with the other instance"
	peer_run b connect "$ID_A" --server "$SRV_1" --key "$LAB_DIR/B" --local 127.0.0.3 --wait 1000
	expect_error b 7 0
	inst_alive 1
}

# A killed instance whose registration is still in Redis: the first asker
# learns at once that nobody reads its channel, and the key goes.
case_kill_ask() {
	two_inst --redis-ttl 60 && rdvpeer_keys A B || return 1
	peer_bg a register --server "$SRV_2" --key "$LAB_DIR/A" --local 127.0.0.2 --timeout 40
	wait_registered a || return 1
	wait_for 5 in_redis "$ID_A" || t_fail "A is not in Redis"
	kill -KILL "$PID_s2"
	lab_wait_pid "$PID_s2" 5 >/dev/null 2>&1
	in_redis "$ID_A" || t_fail "A's registration went too soon"
	peer_run b connect "$ID_A" --server "$SRV_1" --key "$LAB_DIR/B" --local 127.0.0.3 --wait 5000
	expect_error b 7 0
	grep -q "its instance is gone" "$LAB_DIR/b.out" || t_fail "b: $(cat "$LAB_DIR/b.out")"
	in_redis "$ID_A" && t_fail "A's registration stayed"
	inst_alive 1
}

# Two p2ptcp peers through two NATs, each at its own rendezvous server on
# the internet (S 203.0.113.10 with Redis, S2 203.0.113.11): 16 MiB each
# way.
case_p2ptcp() {
	local ra rb s2
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	lab__ns_add s2 && s2=$LAB_NS_LAST || return 1
	lab__veth "$s2" eth0 "$LAB_INET" ps2 || return 1
	lab__inet_port ps2 203.0.113.11 || return 1
	lab__addr "$s2" eth0 203.0.113.11/24
	REDIS_NS=$LAB_S RADDR=$LAB_S_IP redis_start || return 1
	srv_start --redis "$LAB_S_IP:$RPORT" || return 1
	lab_bg "$s2" "$LAB_DIR/s2.out" "$LAB_DIR/s2.log" "$RDVD" -v --key-dir "$LAB_DIR/rdvd2" \
		--listen 203.0.113.11:7450 --redis "$LAB_S_IP:$RPORT"
	t_log "$LAB_DIR/s2.log"
	wait_for 5 grep -qs "connected to Redis" "$LAB_DIR/s2.log" || { t_fail "S2 did not start"; return 1; }
	wait_for 5 grep -qs "connected to Redis" "$LAB_DIR/srv.log" || { t_fail "S did not join"; return 1; }
	key ka && key kb || return 1
	eng_start eb "$LAB_B" $N 2 - listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kb/p2ptcp" \
		--allow "$ID_ka" --timeout 30
	wait_for 10 grep -qs "waiting for a peer" "$LAB_DIR/eb.log" || { t_fail "the listener did not register"; return 1; }
	eng_start ea "$LAB_A" $N 1 - connect "$ID_kb" --rendezvous 203.0.113.11 --dir "$LAB_DIR/ka/p2ptcp"
	peer_wait ea; ra=$?
	peer_wait eb; rb=$?
	expect_exit "p2ptcp connect (at S2)" $ra
	expect_exit "p2ptcp listen (at S)" $rb
	expect_eng_data ea "$N" 2
	expect_eng_data eb "$N" 1
	expect_no_tables "$LAB_A"
	expect_no_tables "$LAB_B"
	grep -q "(at another instance)" "$LAB_DIR/s2.log" || t_fail "S2 did not log a match made at S"
}

redis_init || exit 1
# 0-RTT: the instances do not share their nonces, so with --redis every
# HELLO0 is challenged; a pinned client registers the 1-RTT way.
case_zrtt() {
	local id st
	two_inst && rdvpeer_keys A || return 1
	id=$("$RDVD" --id --key-dir "$LAB_DIR/rdvd1")
	peer_bg z register --server "$SRV_1" --key "$LAB_DIR/A" --local 127.0.0.2:43001 --pin "$id" \
		--zrtt --timeout 20
	wait_registered z || return 1
	expect_field z registered zrtt 0
	st=$(stats 1)
	[ "$(stat_of "$st" zrtt_taken)" = 0 ] && [ "$(stat_of "$st" zrtt_challenged)" = 1 ] ||
		t_fail "instance 1: $st"
	kill -TERM "$PID_z"
	lab_wait_pid "$PID_z" 5
	inst_alive 1 2
}

t_run "redis: a peer at one instance reaches a peer at the other, both ways; what Redis holds" case_cross
t_run "redis: both ask for each other across instances: one match, the lower key initiates" case_mutual
t_run "redis: unknown, self, not waiting, allow list, the peer or the asker going away" case_rules
t_run "redis: a busy listener: askers at the other instance told at once, its next LISTEN matchable" case_busy
t_run "redis: a key registering at the other instance replaces the first; its waiters follow" case_replace
t_run "redis: registrations of one key at once, at one instance and two: the older ones unlisted, still ask" case_replace_asking
t_run "redis: IPv4 and IPv6 peers at two instances are never matched" case_family
t_run "redis: the rate limit counts requests for peers at other instances" case_rate
t_run "redis: Redis restarted: local matches go on, cross-instance ones come back; logged once" case_restart
t_run "redis: an instance started before Redis joins when it comes" case_late_redis
t_run "redis: a killed instance's registrations expire; the living one's are refreshed" case_kill
t_run "redis: a killed instance's peer: the first asker learns it at once" case_kill_ask
t_run "redis: p2ptcp to p2ptcp through two NATs, at two rendezvous servers, 16 MiB each way" case_p2ptcp
t_run "redis: a pinned client's HELLO0 is challenged (no 0-RTT with --redis)" case_zrtt
t_summary
