#!/bin/bash
# make demo: two peers, each behind its own NAT, open a direct TCP
# connection to each other by simultaneous open and send a file across.
#
#   A 10.1.0.2 -- NAT A 203.0.113.1 -- "internet" -- NAT B 203.0.113.2 -- B 10.2.0.2
#
# Each peer is told the other's public endpoint (the NAT's outside address
# and the port it keeps); both fire SYNs from their own port at about the
# same time, the SYNs open both NATs, and TCP's four-message simultaneous
# open completes through them. The lab is removed on every exit path.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build/default}
P2PTCP=$BUILD/p2ptcp
SIZE_MIB=${DEMO_MIB:-64}
. tests/netns/lab.sh

say() { printf '\n== %s\n' "$*"; }

[ -x "$P2PTCP" ] || { echo "demo: $P2PTCP is missing: run 'make' first" >&2; exit 1; }
lab_init || exit 1

say "building the lab: two LANs, each behind a NAT that drops unsolicited inbound SYNs"
lab_two_nat drop || { echo "demo: cannot build the lab" >&2; exit 1; }
echo "peer A: $LAB_A_IP behind $LAB_A_PUB    peer B: $LAB_B_IP behind $LAB_B_PUB"

file=$LAB_DIR/file
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$file"
sum_sent=$(sha256sum <"$file" | cut -d' ' -f1)

say "A sends a ${SIZE_MIB} MiB file to B: both run 'p2ptcp connect' at the same time"
echo "A: p2ptcp connect --local-port 40001 --peer $LAB_B_PUB:40002 -v < file"
echo "B: p2ptcp connect --local-port 40002 --peer $LAB_A_PUB:40001 -v > received"
t0=$(date +%s.%N)
ip netns exec "$LAB_B" "$P2PTCP" connect --local-port 40002 --local-addr "$LAB_B_IP" \
	--peer "$LAB_A_PUB:40001" --punch-interval 200 -v \
	</dev/null >"$LAB_DIR/received" 2>"$LAB_DIR/b.log" &
pid_b=$!
lab_track $pid_b
ip netns exec "$LAB_A" "$P2PTCP" connect --local-port 40001 --local-addr "$LAB_A_IP" \
	--peer "$LAB_B_PUB:40002" --punch-interval 200 -v \
	<"$file" >/dev/null 2>"$LAB_DIR/a.log" &
pid_a=$!
lab_track $pid_a
lab_wait_pid "$pid_a" 120; rc_a=$?
lab_wait_pid "$pid_b" 120; rc_b=$?
t1=$(date +%s.%N)

for side in A B; do
	log=$LAB_DIR/$(echo "$side" | tr AB ab).log
	say "peer $side: what happened (p2ptcp -v)"
	grep -E "state |established|firewall|closed|error|punch|reset|timed out" "$log" | head -20
done

say "result"
sum_got=$(sha256sum <"$LAB_DIR/received" | cut -d' ' -f1)
got=$(stat -c %s "$LAB_DIR/received")
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{ print b - a }')
rate=$(awk -v b="$got" -v s="$secs" 'BEGIN{ if (s > 0) printf "%.1f", b * 8 / s / 1e6; else print "?" }')
echo "exit status: A $rc_a, B $rc_b"
echo "received $got bytes in $(printf '%.2f' "$secs") s, start to clean close: $rate Mbit/s"
if [ "$rc_a" -eq 0 ] && [ "$rc_b" -eq 0 ] && [ "$sum_got" = "$sum_sent" ]; then
	echo "sha256 matches: $sum_sent"
	echo "demo: OK"
	exit 0
fi
echo "demo: FAILED (sent $sum_sent, received $sum_got)" >&2
exit 1
