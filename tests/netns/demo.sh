#!/bin/bash
# make demo: two peers, each behind its own NAT, find each other by peer id
# through rendezvousd and open a direct TCP connection by simultaneous
# open, then send a file across.
#
#   A 10.1.0.2 -- NAT A 203.0.113.1 --+-- NAT B 203.0.113.2 -- B 10.2.0.2
#                                     |
#                          S 203.0.113.10: rendezvousd
#
# Each peer makes its own key (p2ptcp keygen). B waits with `p2ptcp listen`,
# A runs `p2ptcp connect <B's peer id>`; the server tells each the other's
# public endpoint and ISN, both fire SYNs from the port the server saw, the
# SYNs open both NATs, and TCP's four-message simultaneous open completes
# through them. The server relays nothing. The lab is removed on every exit
# path.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build/default}
P2PTCP=$BUILD/p2ptcp
RDVD=$BUILD/rendezvousd
SIZE_MIB=${DEMO_MIB:-64}
. tests/netns/lab.sh

say() { printf '\n== %s\n' "$*"; }

for bin in "$P2PTCP" "$RDVD"; do
	[ -x "$bin" ] || { echo "demo: $bin is missing: run 'make' first" >&2; exit 1; }
done
lab_init || exit 1

say "building the lab: two LANs, each behind a NAT that drops unsolicited inbound SYNs"
lab_two_nat drop with_s || { echo "demo: cannot build the lab" >&2; exit 1; }
echo "peer A: $LAB_A_IP behind $LAB_A_PUB    peer B: $LAB_B_IP behind $LAB_B_PUB"
echo "rendezvous server S: $LAB_S_IP"

say "starting rendezvousd on S"
lab_bg "$LAB_S" /dev/null "$LAB_DIR/s.log" "$RDVD" -v --key-dir "$LAB_DIR/rdvd" --listen "$LAB_S_IP:7450"
wait_for 5 sh -c "ip netns exec '$LAB_S' ss -Hltn | grep -q ':7450 '" ||
	{ echo "demo: rendezvousd did not start" >&2; cat "$LAB_DIR/s.log" >&2; exit 1; }
echo "rendezvousd --listen $LAB_S_IP:7450"

say "each peer makes its identity: p2ptcp keygen"
ID_A=$(XDG_CONFIG_HOME=$LAB_DIR/ka "$P2PTCP" keygen 2>/dev/null) || { echo "demo: keygen failed" >&2; exit 1; }
ID_B=$(XDG_CONFIG_HOME=$LAB_DIR/kb "$P2PTCP" keygen 2>/dev/null) || { echo "demo: keygen failed" >&2; exit 1; }
echo "A's peer id: $ID_A"
echo "B's peer id: $ID_B"

file=$LAB_DIR/file
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$file"
sum_sent=$(sha256sum <"$file" | cut -d' ' -f1)

say "B waits for A; A connects to B by peer id and sends a ${SIZE_MIB} MiB file"
echo "B: p2ptcp listen --rendezvous $LAB_S_IP --allow $ID_A -v > received"
echo "A: p2ptcp connect $ID_B --rendezvous $LAB_S_IP -v < file"
t0=$(date +%s.%N)
ip netns exec "$LAB_B" env XDG_CONFIG_HOME="$LAB_DIR/kb" "$P2PTCP" listen --rendezvous "$LAB_S_IP" \
	--allow "$ID_A" --timeout 60 -v </dev/null >"$LAB_DIR/received" 2>"$LAB_DIR/b.log" &
pid_b=$!
lab_track $pid_b
wait_for 10 grep -q "waiting for a peer" "$LAB_DIR/b.log" ||
	{ echo "demo: B did not register" >&2; cat "$LAB_DIR/b.log" >&2; exit 1; }
ip netns exec "$LAB_A" env XDG_CONFIG_HOME="$LAB_DIR/ka" "$P2PTCP" connect "$ID_B" \
	--rendezvous "$LAB_S_IP" -v <"$file" >/dev/null 2>"$LAB_DIR/a.log" &
pid_a=$!
lab_track $pid_a
lab_wait_pid "$pid_a" 120; rc_a=$?
lab_wait_pid "$pid_b" 120; rc_b=$?
t1=$(date +%s.%N)

for side in A B; do
	log=$LAB_DIR/$(echo "$side" | tr AB ab).log
	say "peer $side: what happened (p2ptcp -v)"
	grep -E "rendezvous|registered|match|peer |state |established|closed|error|punch|reset|timed out|symmetric" \
		"$log" | head -24
done

say "result"
sum_got=$(sha256sum <"$LAB_DIR/received" | cut -d' ' -f1)
got=$(stat -c %s "$LAB_DIR/received")
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{ print b - a }')
rate=$(awk -v b="$got" -v s="$secs" 'BEGIN{ if (s > 0) printf "%.1f", b * 8 / s / 1e6; else print "?" }')
echo "exit status: A $rc_a, B $rc_b"
echo "received $got bytes in $(printf '%.2f' "$secs") s from B's start to both clean closes: $rate Mbit/s"
# The transfer alone, at the receiver: from ESTABLISHED to A's FIN.
xfer=$(awk -F'[][]' '/state SYN-SENT -> ESTABLISHED|state SYN-RECEIVED -> ESTABLISHED/ { e = $2 }
	/-> (TIME-WAIT|CLOSE-WAIT|CLOSING)/ && e != "" && f == "" { f = $2 }
	END { if (e != "" && f != "" && f > e) printf "%.3f", f - e }' "$LAB_DIR/b.log")
[ -n "$xfer" ] && echo "transfer at B, ESTABLISHED to A's FIN: $xfer s, $(awk -v b="$got" -v s="$xfer" \
	'BEGIN { printf "%.1f", b * 8 / s / 1e6 }') Mbit/s"
if [ "$rc_a" -eq 0 ] && [ "$rc_b" -eq 0 ] && [ "$sum_got" = "$sum_sent" ]; then
	echo "sha256 matches: $sum_sent"
	echo "demo: OK"
	exit 0
fi
echo "demo: FAILED (sent $sum_sent, received $sum_got)" >&2
exit 1
