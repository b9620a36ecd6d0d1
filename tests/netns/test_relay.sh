#!/bin/bash
# The relay (docs/protocol.md, "The relay"): both NATs symmetric
# (MASQUERADE --random-fully), so punching cannot work and both peers know
# it from their NAT probe; rendezvousd --relay on S offers a relay with the
# match. Cases: connect by peer id succeeds through the relay, 16 MiB each
# way intact, both ends close cleanly (the relay passes both FINs on);
# a full capture at S holds none of a marker's plaintext that crossed;
# without --relay the same case fails with the symmetric-NAT message (exit
# 7), and so it does with --no-relay (connect and listen); a replayed JOIN
# and a wrong token are refused and logged; punching that times out on
# NATs that are not symmetric falls back to the relay; both IP versions,
# each peer going on with the MATCH of another version, meet at the relay;
# a peer that never reads does not stall another stream; --relay-streams
# holds; listen --exec and --forward over the relay; bad settings, and
# SIGTERM with a stream open.
# Ends with "netns: P passed, F failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))
EXIT_SYM=7 EXIT_RELAY=9
RELAY_PORT=7451
MARKER="p2ptcp-relay-plaintext-marker-7f3a9c"

# sym_lab: the two-NAT lab with both NATs symmetric.
sym_lab() {
	lab_two_nat drop with_s || return 1
	for ns in "$LAB_NA" "$LAB_NB"; do
		ip netns exec "$ns" iptables -t nat -R POSTROUTING 1 -o wan0 -j MASQUERADE \
			--random-fully || return 1
	done
}

# listen_on NAME NS KEY N SEED [ARGS...]: p2ptcp listen for one peer.
listen_on() {
	local name=$1 ns=$2 k=$3 n=$4 seed=$5
	shift 5
	eng_start "$name" "$ns" "$n" "$seed" - listen --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/$k/p2ptcp" --timeout 40 "$@"
}

# connect_from NAME NS KEY PEER-ID N SEED [ARGS...]
connect_from() {
	local name=$1 ns=$2 k=$3 id=$4 n=$5 seed=$6
	shift 6
	eng_start "$name" "$ns" "$n" "$seed" - connect "$id" --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/$k/p2ptcp" "$@"
}

relayed() { grep -q "session .* (relayed): .*closed cleanly" "$LAB_DIR/$1.log"; }

# relay_pair: B listens, A connects, both relayed; 16 MiB each way.
relay_pair() {
	local ra rb
	key ka && key kb || return 1
	listen_on eb "$LAB_B" kb $N 2 --allow "$ID_ka"
	wait_for 10 waiting eb || { t_fail "the listener did not register"; return 1; }
	connect_from ea "$LAB_A" ka "$ID_kb" $N 1
	peer_wait ea; ra=$?
	peer_wait eb; rb=$?
	expect_exit "p2ptcp connect" $ra
	expect_exit "p2ptcp listen" $rb
	expect_eng_data ea "$N" 2
	expect_eng_data eb "$N" 1
	relayed ea || t_fail "connect: no relayed session line"
	relayed eb || t_fail "listen: no relayed session line"
	expect_no_tables "$LAB_A"
	expect_no_tables "$LAB_B"
}

case_relay() {
	local want line n
	t_need_p2ptcp || return
	sym_lab || return 1
	srv_start --relay || return 1
	relay_pair
	grep -q "symmetric NAT: hole punching cannot work through it.*peers will be relayed" \
		"$LAB_DIR/ea.log" || t_fail "connect did not find its NAT symmetric"
	want="relay stream 1: .* bytes and .* bytes, closed: both peers closed"
	wait_for 5 grep -q "$want" "$LAB_DIR/srv.log" || t_fail "no stream line with both FINs at the relay"
	# each way the 16 MiB and the channel's records around them
	line=$(grep "$want" "$LAB_DIR/srv.log")
	for n in $(echo "$line" | sed -nE 's/.* ([0-9]+) bytes and ([0-9]+) bytes.*/\1 \2/p'); do
		[ "$n" -gt $N ] && [ "$n" -lt $((N + N / 50)) ] || t_fail "the relay moved $n bytes one way"
	done
	echo "    ${line#*: }"
}

# A marker crosses the relay both ways; a full capture at S never shows it.
case_plaintext() {
	local ra rb c
	t_need_p2ptcp || return
	sym_lab || return 1
	srv_start --relay || return 1
	key ka && key kb || return 1
	lab_capture_start "$LAB_S" eth0 "$LAB_DIR/s.pcap" -s 0 tcp port $RELAY_PORT || return 1
	for i in $(seq 200); do echo "$MARKER from A $i"; done >"$LAB_DIR/a.txt"
	for i in $(seq 200); do echo "$MARKER from B $i"; done >"$LAB_DIR/b.txt"
	ip netns exec "$LAB_B" "$P2PTCP" listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kb/p2ptcp" \
		--allow "$ID_ka" --timeout 40 -v <"$LAB_DIR/b.txt" >"$LAB_DIR/b.got" 2>"$LAB_DIR/eb.log" &
	PID_eb=$!
	lab_track $!
	t_log "$LAB_DIR/eb.log"
	wait_for 10 waiting eb || { t_fail "the listener did not register"; return 1; }
	ip netns exec "$LAB_A" "$P2PTCP" connect "$ID_kb" --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/ka/p2ptcp" -v <"$LAB_DIR/a.txt" >"$LAB_DIR/a.got" 2>"$LAB_DIR/ea.log" &
	PID_ea=$!
	lab_track $!
	t_log "$LAB_DIR/ea.log"
	peer_wait ea; ra=$?
	peer_wait eb; rb=$?
	expect_exit "p2ptcp connect" $ra
	expect_exit "p2ptcp listen" $rb
	sleep 0.2
	lab_capture_stop
	cmp -s "$LAB_DIR/a.txt" "$LAB_DIR/b.got" || t_fail "B did not get A's lines"
	cmp -s "$LAB_DIR/b.txt" "$LAB_DIR/a.got" || t_fail "A did not get B's lines"
	relayed ea || t_fail "connect: not relayed"
	c=$(lab_pcap_count "$LAB_DIR/s.pcap")
	[ "$c" -ge 10 ] || t_fail "the capture at the relay holds only $c segments"
	if grep -c -a "$MARKER" "$LAB_DIR/s.pcap" >/dev/null; then
		t_fail "the relay saw plaintext: $(grep -c -a "$MARKER" "$LAB_DIR/s.pcap") lines"
	fi
	# the capture would show it: the JOIN's magic is in there, in clear
	LC_ALL=C grep -q -a -P 'PR\x01\x01\x00\x80' "$LAB_DIR/s.pcap" || t_fail "no JOIN in the capture"
	# A JOIN seen on the path, sent again, is refused and logged; so is a
	# wrong token.
	replay "$LAB_DIR/s.pcap"
}

# join_bytes PCAP OUT: the first JOIN (134 bytes) in PCAP.
join_bytes() {
	local off
	off=$(LC_ALL=C grep -obUaP 'PR\x01\x01\x00\x80' "$1" | head -1 | cut -d: -f1)
	[ -n "$off" ] || return 1
	dd if="$1" of="$2" bs=1 skip="$off" count=134 status=none
}

# send_relay FILE OUT: FILE's bytes to the relay from A; its answer in OUT.
send_relay() {
	ip netns exec "$LAB_A" timeout 5 bash -c \
		'exec 3<>/dev/tcp/'"$LAB_S_IP/$RELAY_PORT"' || exit 1; cat "$1" >&3; cat <&3 >"$2"' \
		_ "$1" "$2"
}

# is_error FILE CODE: FILE is a relay ERROR with CODE.
is_error() {
	[ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "$(printf '50520103%04x%04x' \
		$(($(stat -c %s "$1") - 6)) "$2")" ]
}

replay() {
	join_bytes "$1" "$LAB_DIR/join.bin" || { t_fail "no JOIN to replay"; return 1; }
	send_relay "$LAB_DIR/join.bin" "$LAB_DIR/replay.ans"
	is_error "$LAB_DIR/replay.ans" 4 ||
		t_fail "a replayed JOIN got: $(od -An -c "$LAB_DIR/replay.ans" | head -2)"
	wait_for 3 grep -q "relay: refused 203.0.113.1:[0-9]*: no match has this token" \
		"$LAB_DIR/srv.log" || t_fail "the replay's refusal is not logged"
	# a wrong token: one bit of it changed
	{ head -c 6 "$LAB_DIR/join.bin"; printf '\xff'; tail -c +8 "$LAB_DIR/join.bin"; } >"$LAB_DIR/wrong.bin"
	send_relay "$LAB_DIR/wrong.bin" "$LAB_DIR/wrong.ans"
	is_error "$LAB_DIR/wrong.ans" 4 || t_fail "a wrong token got: $(od -An -c "$LAB_DIR/wrong.ans" | head -2)"
	# not a JOIN at all
	printf 'GET / HTTP/1.0\r\n\r\n' >"$LAB_DIR/http.bin"
	send_relay "$LAB_DIR/http.bin" "$LAB_DIR/http.ans"
	is_error "$LAB_DIR/http.ans" 1 || t_fail "garbage got: $(od -An -c "$LAB_DIR/http.ans" | head -2)"
	[ "$(grep -c "relay: refused" "$LAB_DIR/srv.log")" -eq 3 ] || t_fail "not three refusals logged"
}

# Without --relay at the server: the symmetric-NAT failure, exit 7.
case_no_relay_server() {
	local ra
	t_need_p2ptcp || return
	sym_lab || return 1
	srv_start || return 1
	key ka && key kb || return 1
	listen_on eb "$LAB_B" kb 1000 2 --timeout 8
	connect_from ea "$LAB_A" ka "$ID_kb" 1000 1
	peer_wait ea 20; ra=$?
	expect_exit "connect without a relay" $ra $EXIT_SYM
	grep -q "symmetric NAT: hole punching cannot work through it" "$LAB_DIR/ea.log" ||
		t_fail "no symmetric-NAT message"
	grep -q "relayed" "$LAB_DIR/ea.log" && t_fail "connect speaks of a relay"
	kill "$PID_eb" 2>/dev/null
	expect_no_tables "$LAB_A"
}

# --no-relay refuses the relay on both commands: exit 7 as without one.
case_no_relay_flag() {
	local ra rb
	t_need_p2ptcp || return
	sym_lab || return 1
	srv_start --relay || return 1
	key ka && key kb || return 1
	listen_on eb "$LAB_B" kb 1000 2 --no-relay
	connect_from ea "$LAB_A" ka "$ID_kb" 1000 1 --no-relay
	peer_wait ea 20; ra=$?
	peer_wait eb 20; rb=$?
	expect_exit "connect --no-relay" $ra $EXIT_SYM
	expect_exit "listen --no-relay" $rb $EXIT_SYM
	grep -q "symmetric NAT: hole punching cannot work through it" "$LAB_DIR/ea.log" ||
		t_fail "connect: no symmetric-NAT message"
	grep -q "symmetric NAT: hole punching cannot work through it" "$LAB_DIR/eb.log" ||
		t_fail "listen: no symmetric-NAT message"
	grep -q "relay stream" "$LAB_DIR/srv.log" && t_fail "a stream was relayed"
	expect_no_tables "$LAB_A"
	expect_no_tables "$LAB_B"
}

# Two streams at once: in the first, A never reads (its output is a pipe
# nobody drains) while B sends 64 MiB; the second moves 16 MiB each way
# meanwhile. Then the stuck one is let go.
case_never_reads() {
	local ra rb rc rd
	t_need_p2ptcp || return
	sym_lab || return 1
	srv_start --relay || return 1
	key ka && key kb && key kc && key kd || return 1
	# stream 1: A (connect) never reads what B sends
	mkfifo "$LAB_DIR/stuck" "$LAB_DIR/hold" || return 1
	# A's input never ends; its output is a pipe opened for reading and
	# never read
	sleep 3600 >"$LAB_DIR/hold" &
	HOLD_PID=$!
	lab_track $!
	sleep 3600 <"$LAB_DIR/stuck" &
	STUCK_PID=$!
	lab_track $!
	listen_on eb "$LAB_B" kb $((64 * MiB)) 2 --allow "$ID_ka"
	wait_for 10 waiting eb || { t_fail "listener B did not register"; return 1; }
	ip netns exec "$LAB_A" "$P2PTCP" connect "$ID_kb" --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/ka/p2ptcp" -v <"$LAB_DIR/hold" >"$LAB_DIR/stuck" 2>"$LAB_DIR/ea.log" &
	PID_ea=$!
	lab_track $!
	t_log "$LAB_DIR/ea.log"
	wait_for 20 grep -q "relayed stream open" "$LAB_DIR/ea.log" || t_fail "stream 1 did not open"
	# stream 2, meanwhile
	listen_on ed "$LAB_B" kd $N 4 --allow "$ID_kc"
	wait_for 10 waiting ed || { t_fail "listener D did not register"; return 1; }
	connect_from ec "$LAB_A" kc "$ID_kd" $N 3
	peer_wait ec; rc=$?
	peer_wait ed; rd=$?
	expect_exit "connect C (beside a stuck stream)" $rc
	expect_exit "listen D (beside a stuck stream)" $rd
	expect_eng_data ec "$N" 4
	expect_eng_data ed "$N" 3
	relayed ec || t_fail "C: not relayed"
	# stream 1 is still there, stuck
	kill -0 "$PID_ea" 2>/dev/null || t_fail "the stuck connect ended early"
	kill -0 "$PID_eb" 2>/dev/null || t_fail "the listener that cannot send ended early"
	grep -q "relay stream 1: .*closed" "$LAB_DIR/srv.log" && t_fail "stream 1 closed meanwhile"
	kill "$STUCK_PID" "$HOLD_PID" 2>/dev/null
	kill "$PID_ea" "$PID_eb" 2>/dev/null
	peer_wait ea 10; ra=$?
	peer_wait eb 10; rb=$?
	: "$ra" "$rb"
	expect_no_tables "$LAB_A"
}

# --relay-streams 1: while one stream is open, a second match's peers are
# refused at the relay (exit 9, "the relay is full"), and it is logged.
case_limit() {
	local rc rd
	t_need_p2ptcp || return
	sym_lab || return 1
	srv_start --relay --relay-streams 1 || return 1
	key ka && key kb && key kc && key kd || return 1
	: >"$LAB_DIR/release"
	rm -f "$LAB_DIR/release"
	eng_start eb "$LAB_B" 1000 2 "$LAB_DIR/release" listen --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/kb/p2ptcp" --allow "$ID_ka" --timeout 40
	wait_for 10 waiting eb || { t_fail "listener B did not register"; return 1; }
	eng_start ea "$LAB_A" 1000 1 "$LAB_DIR/release" connect "$ID_kb" --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/ka/p2ptcp"
	wait_for 20 grep -q "relayed stream open" "$LAB_DIR/ea.log" || t_fail "stream 1 did not open"
	listen_on ed "$LAB_B" kd 1000 4 --allow "$ID_kc"
	wait_for 10 waiting ed || { t_fail "listener D did not register"; return 1; }
	connect_from ec "$LAB_A" kc "$ID_kd" 1000 3
	peer_wait ec 30; rc=$?
	peer_wait ed 30; rd=$?
	expect_exit "connect beyond --relay-streams" $rc $EXIT_RELAY
	expect_exit "listen beyond --relay-streams" $rd $EXIT_RELAY
	grep -q "relay .* refused us: as many streams as allowed (1)" "$LAB_DIR/ec.log" ||
		t_fail "connect C: no 'as many streams' message"
	grep -q "relay: refused .*as many streams as allowed (1)" "$LAB_DIR/srv.log" ||
		t_fail "the relay did not log the refusal"
	touch "$LAB_DIR/release"
	peer_wait ea; rc=$?
	peer_wait eb; rd=$?
	expect_exit "connect A (the one stream)" $rc
	expect_exit "listen B (the one stream)" $rd
	expect_eng_data ea 1000 2
}

# NATs that are not symmetric, but NAT A drops everything between A and
# B: punching times out (--punch-window 2) on both sides, and both go to
# the relay then.
case_punch_fails() {
	local ra rb
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	ip netns exec "$LAB_NA" iptables -I FORWARD -d "$LAB_B_PUB" -j DROP || return 1
	ip netns exec "$LAB_NA" iptables -I FORWARD -s "$LAB_B_PUB" -j DROP || return 1
	srv_start --relay || return 1
	key ka && key kb || return 1
	listen_on eb "$LAB_B" kb $N 2 --allow "$ID_ka" --punch-window 2
	wait_for 10 waiting eb || { t_fail "the listener did not register"; return 1; }
	connect_from ea "$LAB_A" ka "$ID_kb" $N 1 --punch-window 2
	peer_wait ea; ra=$?
	peer_wait eb; rb=$?
	expect_exit "p2ptcp connect" $ra
	expect_exit "p2ptcp listen" $rb
	expect_eng_data ea "$N" 2
	expect_eng_data eb "$N" 1
	grep -q "punching failed: relayed through" "$LAB_DIR/ea.log" || t_fail "connect did not punch first"
	grep -q "punching failed: relayed through" "$LAB_DIR/eb.log" || t_fail "listen did not punch first"
	relayed ea || t_fail "connect: not relayed"
	relayed eb || t_fail "listen: not relayed"
}

# Both IP versions (lab_two_nat_ipv6: the routers NAT IPv4 and firewall
# IPv6): IPv4 NATs symmetric, IPv6 between the peers dropped, rendezvousd
# on both addresses. Each peer is matched over both versions; both
# MATCHes carry one token, so the peers meet at the relay whichever match
# each goes on with, over whichever version.
case_dual() {
	local ra rb ns
	t_need_p2ptcp || return
	sym_lab || return 1
	lab_two_nat_ipv6 || return 1
	ip netns exec "$LAB_NA" ip6tables -I FORWARD -d "$LAB_B_IP6" -j DROP || return 1
	ip netns exec "$LAB_NA" ip6tables -I FORWARD -s "$LAB_B_IP6" -j DROP || return 1
	for ns in "$LAB_A" "$LAB_B"; do
		lab_resolver "$ns" "$LAB_S_IP rdv.test" "$LAB_S_IP6 rdv.test" || return 1
	done
	# A hears the server 300 ms later over IPv6 (so its IPv6 CONNECT goes
	# out later), B 1.5 s later over IPv4: each goes on with the MATCH of
	# another version (A IPv4, to the relay at once: its NAT is
	# symmetric; B IPv6, to the relay when punching gave up), and so to
	# the relay at another address
	slow_from_s "$LAB_NA" 0 ip6tables "$LAB_S_IP6" 300 || return 1
	slow_from_s "$LAB_NB" 1 iptables "$LAB_S_IP" 1500 || return 1
	lab_bg "$LAB_S" "$LAB_DIR/srv.out" "$LAB_DIR/srv.log" "$RDVD" -v --key-dir "$LAB_DIR/rdvd" \
		--listen "$LAB_S_IP:7450" --listen "[$LAB_S_IP6]:7450" --relay
	t_log "$LAB_DIR/srv.log"
	wait_for 5 listening "$LAB_S" $RELAY_PORT || { t_fail "rendezvousd did not start"; return 1; }
	key ka && key kb || return 1
	eng_start eb "$LAB_B" $N 2 - listen --rendezvous rdv.test --dir "$LAB_DIR/kb/p2ptcp" \
		--allow "$ID_ka" --timeout 40 --punch-window 2
	wait_for 10 grep -q "waiting for a peer .*(IPv6)" "$LAB_DIR/eb.log" ||
		{ t_fail "the listener did not register over IPv6"; return 1; }
	wait_for 10 grep -q "waiting for a peer .*(IPv4)" "$LAB_DIR/eb.log" ||
		{ t_fail "the listener did not register over IPv4"; return 1; }
	eng_start ea "$LAB_A" $N 1 - connect "$ID_kb" --rendezvous rdv.test --dir "$LAB_DIR/ka/p2ptcp" \
		--punch-window 2
	peer_wait ea; ra=$?
	peer_wait eb; rb=$?
	expect_exit "p2ptcp connect" $ra
	expect_exit "p2ptcp listen" $rb
	expect_eng_data ea "$N" 2
	expect_eng_data eb "$N" 1
	relayed ea || t_fail "connect: not relayed"
	relayed eb || t_fail "listen: not relayed"
	[ "$(grep -c "relay stream [0-9]*: .*closed" "$LAB_DIR/srv.log")" -eq 1 ] ||
		t_fail "not one relayed stream"
	grep -q "relayed through $LAB_S_IP:$RELAY_PORT" "$LAB_DIR/ea.log" ||
		t_fail "connect did not go on over IPv4"
	grep -q "relayed through \[$LAB_S_IP6\]:$RELAY_PORT" "$LAB_DIR/eb.log" ||
		t_fail "listen did not go on over IPv6"
}

# slow_from_s ROUTER QUEUE IPTABLES S-ADDR MS: what ROUTER forwards from
# S-ADDR's rendezvous port is held MS ms (tests/tools/nfqdelay on QUEUE).
slow_from_s() {
	[ -x "$LAB_NFQDELAY" ] || { t_fail "$LAB_NFQDELAY missing (make test-build)"; return 1; }
	lab_bg "$1" /dev/null "$LAB_DIR/nfqdelay-$2.log" "$LAB_NFQDELAY" "$2" "$5"
	wait_for 5 grep -qs "nfqdelay: queue" "$LAB_DIR/nfqdelay-$2.log" ||
		{ t_fail "nfqdelay did not start"; return 1; }
	ip netns exec "$1" "$3" -I FORWARD -s "$4" -p tcp --sport 7450 -j NFQUEUE --queue-num "$2"
}

# service_start ARGS...: B serves (listen ARGS) through the relay; sets SRV_PID.
service_start() {
	echo "+ p2ptcp listen $*" >"$LAB_DIR/srv_b.log"
	ip netns exec "$LAB_B" "$P2PTCP" listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kb/p2ptcp" \
		-v "$@" </dev/null >/dev/null 2>>"$LAB_DIR/srv_b.log" &
	SRV_PID=$!
	lab_track $SRV_PID
	t_log "$LAB_DIR/srv_b.log"
	wait_for 10 grep -q "waiting for a peer" "$LAB_DIR/srv_b.log" ||
		{ t_fail "the service did not register"; return 1; }
}

service_stop() {
	local rc
	kill -TERM "$SRV_PID" 2>/dev/null
	lab_wait_pid "$SRV_PID" 10; rc=$?
	expect_exit "the service after SIGTERM" $rc 0
}

# listen --exec and --forward serve a relayed peer as any other; the
# command learns it from P2PTCP_RELAYED.
case_service() {
	local rc kp got want
	t_need_p2ptcp || return
	sym_lab || return 1
	srv_start --relay || return 1
	key ka && key kb || return 1
	"$KPEER" gen $MiB --seed 3 >"$LAB_DIR/data"
	want=$(sha256sum <"$LAB_DIR/data")
	# shellcheck disable=SC2016
	service_start --allow "$ID_ka" \
		--exec 'echo "relayed=$P2PTCP_RELAYED addr=$P2PTCP_PEER_ADDR id=$P2PTCP_PEER_ID"; sha256sum' ||
		return 1
	t_log "$LAB_DIR/c1.log"
	timeout 40 ip netns exec "$LAB_A" "$P2PTCP" connect "$ID_kb" --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/ka/p2ptcp" -v <"$LAB_DIR/data" >"$LAB_DIR/c1.out" 2>"$LAB_DIR/c1.log"
	expect_exit "connect to --exec" $? 0
	got=$(sed -n 1p "$LAB_DIR/c1.out")
	[ "$got" = "relayed=1 addr=$LAB_S_IP:$RELAY_PORT id=$ID_ka" ] || t_fail "the command saw '$got'"
	[ "$(sed -n 2p "$LAB_DIR/c1.out")" = "$want" ] || t_fail "the command's hash: $(sed -n 2p "$LAB_DIR/c1.out")"
	relayed c1 || t_fail "connect to --exec: not relayed"
	service_stop
	# --forward to a kernel listener on B, 16 MiB each way
	lab_bg "$LAB_B" "$LAB_DIR/kp.out" "$LAB_DIR/kp.log" "$KPEER" listen 5022 --bind 127.0.0.1 \
		--send $N --seed 2 --timeout 90
	kp=$LAB_LAST_PID
	t_log "$LAB_DIR/kp.log"
	wait_for 5 listening "$LAB_B" 5022 || { t_fail "kpeer did not listen"; return 1; }
	service_start --allow "$ID_ka" --forward 127.0.0.1:5022 || return 1
	connect_from ea "$LAB_A" ka "$ID_kb" $N 1
	peer_wait ea; rc=$?
	expect_exit "connect to --forward" $rc 0
	expect_eng_data ea $N 2
	lab_wait_pid "$kp" 20; rc=$?
	expect_exit "kpeer listen" $rc 0
	got=$(grep '^recv' "$LAB_DIR/kp.out")
	[ "$got" = "recv $(sum $N 1)" ] || t_fail "kpeer received '$got'"
	relayed ea || t_fail "connect to --forward: not relayed"
	service_stop
	expect_no_tables "$LAB_B"
}

# Bad relay settings are refused, quoted (exit 2); the settings file
# takes "relay = yes". SIGTERM while a stream is open: the stream's line
# says why, rendezvousd exits 0 (under ASan: nothing leaked) and both
# peers end.
case_config_stop() {
	local rc srv ra rb
	t_need_p2ptcp || return
	sym_lab || return 1
	for bad in "--relay-rate x" "--relay-streams 0" "--relay-port 70000" "--relay-idle-timeout 0.5"; do
		# shellcheck disable=SC2086
		ip netns exec "$LAB_S" "$RDVD" --key-dir "$LAB_DIR/rdvd" $bad >"$LAB_DIR/bad.out" 2>&1
		rc=$?
		[ $rc -eq 2 ] || t_fail "$bad: exit $rc, want 2"
		grep -q "invalid value for ${bad%% *}: '${bad#* }'" "$LAB_DIR/bad.out" ||
			t_fail "$bad: $(cat "$LAB_DIR/bad.out")"
	done
	printf 'relay = maybe\n' >"$LAB_DIR/bad.conf"
	ip netns exec "$LAB_S" "$RDVD" --key-dir "$LAB_DIR/rdvd" --config "$LAB_DIR/bad.conf" \
		>"$LAB_DIR/bad.out" 2>&1
	grep -q "bad.conf:1: invalid value for relay: 'maybe' (yes or no)" "$LAB_DIR/bad.out" ||
		t_fail "relay = maybe: $(cat "$LAB_DIR/bad.out")"
	printf 'relay = yes\nrelay-streams = 4\n' >"$LAB_DIR/relay.conf"
	srv_start --config "$LAB_DIR/relay.conf" || return 1
	srv=$LAB_LAST_PID
	wait_for 5 listening "$LAB_S" $RELAY_PORT || { t_fail "no relay port from the file"; return 1; }
	key ka && key kb || return 1
	rm -f "$LAB_DIR/release"
	eng_start eb "$LAB_B" 1000 2 "$LAB_DIR/release" listen --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/kb/p2ptcp" --allow "$ID_ka" --timeout 40
	wait_for 10 waiting eb || { t_fail "the listener did not register"; return 1; }
	eng_start ea "$LAB_A" 1000 1 "$LAB_DIR/release" connect "$ID_kb" --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/ka/p2ptcp"
	wait_for 20 test -e "$LAB_DIR/ea.got" || t_fail "no bytes through the relay"
	kill -TERM "$srv"
	lab_wait_pid "$srv" 10; rc=$?
	expect_exit "rendezvousd after SIGTERM with a stream open" $rc 0
	grep -q "relay stream 1: .*closed: the server is stopping" "$LAB_DIR/srv.log" ||
		t_fail "no stream line for the stop"
	peer_wait ea 20; ra=$?
	peer_wait eb 20; rb=$?
	[ $ra -ne 0 ] && [ $ra -ne 124 ] || t_fail "connect exited $ra after the relay stopped"
	[ $rb -ne 0 ] && [ $rb -ne 124 ] || t_fail "listen exited $rb after the relay stopped"
	touch "$LAB_DIR/release"
	expect_no_tables "$LAB_A"
}

rdv_init || exit 1
t_run "relay: both NATs symmetric, connect by peer id through the relay, 16 MiB each way" case_relay
t_run "relay plaintext: a marker that crossed the relay is not in a capture at it; replays refused" case_plaintext
t_run "relay fallback: punching times out on NATs that are not symmetric, then relayed" case_punch_fails
t_run "relay dual: both IP versions, one token in both MATCHes, one relayed stream" case_dual
t_run "relay none: without rendezvousd --relay, the symmetric-NAT failure (exit 7)" case_no_relay_server
t_run "relay refused: --no-relay on connect and listen fails as without a relay" case_no_relay_flag
t_run "relay never-reads: a peer that never reads does not stall another stream" case_never_reads
t_run "relay limit: --relay-streams 1 refuses a second stream (exit 9), logged" case_limit
t_run "relay service: listen --exec and --forward serve a relayed peer" case_service
t_run "relay config and stop: bad settings quoted; SIGTERM with a stream open" case_config_stop
t_summary
