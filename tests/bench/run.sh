#!/bin/bash
# make bench: bulk throughput of p2ptcp against the Linux kernel's TCP over
# the same path in the namespace lab, in one run:
#
#   link   A 10.0.0.1 -- B 10.0.0.2 (one veth)
#   nat    A behind NAT A -> S 203.0.113.10 on the internet
#   2nat   A behind NAT A <-> B behind NAT B, simultaneous open
#
# For each path the kernel's TCP (tests/tools/kpeer) and p2ptcp move
# BENCH_MB MiB one way. The sender reads a pipe (`kpeer gen`); the
# receiver writes what it gets into a pipe to `kpeer sink`: the kernel
# receiver (`kpeer --copy-to`) as p2ptcp does its stdout, so both pay
# the same hand-over to an application (BENCH_KERNEL_RCV=discard: the
# kernel receiver drops the bytes after recv(), the figures before
# December 2026). Printed per run: throughput at the
# receiver (first byte to last: p2ptcp lingers after the transfer for a
# TIME-WAIT, and /usr/bin/time holds the pipe open until it exits), CPU seconds (user + system) per GiB of the sending and the
# receiving process, time from the first SYN to the first segment after
# the handshake (from a capture), and peak RSS of the p2ptcp process; then
# the ratios engine / kernel. The veths carry wire-like segments
# (transmit offloads off, see tests/netns/lab.sh) except in the "link*"
# rows, which keep the kernel's veth offloads (64 KiB segments, checksums
# left to the "hardware": the kernel's fastest path on one machine).
#
# The service rows (issue 9) run `p2ptcp listen --exec` on B by peer id
# through both NATs, each peer with a key of its own, encrypted:
#   svc-1     one peer sends BENCH_SVC_MB MiB (default 128) to the listener
#   svc-8     8 peers at once, each BENCH_SVC_MB MiB: aggregate throughput
#             (all bytes over the time from the first open channel to the
#             last exit) against svc-1's, and the time for the 8th to
#             connect (its own start to its secure channel)
#   svc-idle  the listener's RSS with BENCH_IDLE_N (default 32) idle peers,
#             minus its RSS with none, per peer
#
# Environment: BENCH_MB (default 1024), BENCH_LIMIT seconds per run (180),
# BENCH_PASSES (default 1: every row that many times, one pass after the
# other; the table then shows each throughput row's medians, and each
# ratio its median and the ratio of every pass),
# BENCH_ROWS (space-separated row names, default all), BUILD,
# BENCH_KEEP_LOGS (a directory: each run's stderr of both ends, with
# p2ptcp's -v log, is copied there). Rows named
# *-ekg* run the p2ptcp sender with --gso (segmentation offload); the
# other p2ptcp rows have offload by default (the lab's hosts have no rules
# of their own but p2ptcp's table), and *-ekn* / 2nat-en run with
# --no-gso: the raw socket for every segment, the old default path.
# BENCH_KERNEL_CC sets the kernel sender's congestion control (kpeer --cc;
# default the system's, bbr on the development VM, which does not slow
# down for random loss, nor does the engine's default, BBR;
# BENCH_KERNEL_CC=reno compares the loss rows with a loss-based kernel
# sender like the engine's CUBIC and NewReno, built with
# CFLAGS=-DPTCP_CC_DEFAULT=PTCP_CC_CUBIC in a BUILD of their own).
#
# Loss rows, all through both NATs (A -> B): 2nat-{k,ek,ke,e}-l{1,5} with
# 1% or 5% random loss on NAT A both ways (kernel -> kernel, p2ptcp ->
# kernel, kernel -> p2ptcp, p2ptcp -> p2ptcp), and the same with -d20 for a
# 20 ms round trip (10 ms each way on the internet router,
# tests/tools/nfqdelay). They move BENCH_LOSS_MB (64) MiB, BENCH_DELAY_MB
# (16) MiB with the delay.
#
# The rows redis-match and redis-peers measure rendezvousd --redis (one
# redis-server, instances on loopback in a namespace, tests/tools/rdvpeer
# as the load): registrations and matches per second between two
# instances (BENCH_REDIS_PAIRS listeners at one, as many askers at the
# other, BENCH_REDIS_ROUNDS rounds); and BENCH_REDIS_PEERS registered
# peers (default 100,000) spread over BENCH_REDIS_INST instances (default
# 6: one process may hold 20,000 descriptors here), with each instance's
# RSS and Redis's used_memory per registered peer.
#
# Latency rows (issue 10: what the receive ring costs interactive traffic):
# rr-k and rr-e, on the link: a kernel client on A (tests/tools/rrping)
# writes BENCH_RR_SIZE bytes (default 64) and waits for them to come back,
# BENCH_RR_ROUNDS times (default 2000), from a kernel echo (rr-k) or from
# `p2ptcp listen` on B whose stdout is its own stdin (one FIFO opened
# read-write: the bytes go back through a pipe); printed: the median and
# 99th percentile round trip and rr-e against rr-k.
#
# The row rdv-relay is rdv-enc with both NATs symmetric (MASQUERADE
# --random-fully) and rendezvousd --relay without rate limits: the same
# path, relayed by S; printed against rdv-enc (target >= 70%).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

BENCH_MB=${BENCH_MB:-1024}
N=$((BENCH_MB * MiB))
LIMIT=${BENCH_LIMIT:-180}
TIME=/usr/bin/time
LOSS_ROWS=""
for d in "" -d20; do
	for l in 1 5; do
		for w in k ek ke e; do
			LOSS_ROWS="$LOSS_ROWS 2nat-$w-l$l$d"
		done
	done
done
ROWS=${BENCH_ROWS:-"rr-k rr-e link-k link-ek link-ekg link-ekn link-ke nat-k nat-ek nat-ekn 2nat-k 2nat-e 2nat-en rdv-plain rdv-enc link-k-tso link-ek-tso link-ekg-tso link-ke-tso$LOSS_ROWS svc-1 svc-8 svc-idle redis-match redis-peers rdv-relay"}
SVC_MB=${BENCH_SVC_MB:-128}
PASSES=${BENCH_PASSES:-1}
IDLE_N=${BENCH_IDLE_N:-32}

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
[ -x "$KPEER" ] || die "$KPEER missing (make test-build)"
[ -x "$TIME" ] || die "$TIME missing (apt-get install time)"
[ -x "$P2PTCP" ] || die "$P2PTCP missing (make)"

RRPING=$BUILD/tests/tools/rrping
RES=$(mktemp -d /tmp/ptcp-bench.XXXXXX)
trap 'rm -rf "$RES"' EXIT

# --- one run -----------------------------------------------------------------------

# finish_run ROW DIR SENDER-PID RECEIVER-PID OUT: waits for both ends (the
# sender within $LIMIT), checks the receiver got all $N bytes, and writes
# the row's figures to OUT; exits the run's subshell on failure.
# The machine's busy CPU time so far, in clock ticks (/proc/stat: user,
# nice, system, irq, softirq of every CPU; not the namespaces': there is
# one /proc/stat). Work that a veth or the delay helper moves from one
# process to another, or into the softirq of whichever runs, is all here.
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
HZ=$(getconf CLK_TCK)

finish_run() {
	local row=$1 d=$2 spid=$3 rpid=$4 out=$5 rc bytes xfer
	lab_wait_pid "$spid" "$LIMIT"; rc=$?
	lab_wait_pid "$rpid" 10 || rc=1
	# BENCH_KEEP_LOGS=DIR keeps both ends' stderr (p2ptcp's -v log), one
	# pair per run: ROW-STAMP-s.log (sender) and ROW-STAMP-r.log, and
	# both ends' stdout: ROW-STAMP-s.out, ROW-STAMP-r.out
	if [ -n "${BENCH_KEEP_LOGS:-}" ]; then
		local stamp
		stamp=$(date +%s%N)
		cp "$d/s.err" "$BENCH_KEEP_LOGS/$row-$stamp-s.log" 2>/dev/null
		cp "$d/r.err" "$BENCH_KEEP_LOGS/$row-$stamp-r.log" 2>/dev/null
		# a kernel end's result lines ("tcp ...": what limited its sender)
		cp "$d/s.out" "$BENCH_KEEP_LOGS/$row-$stamp-s.out" 2>/dev/null
		cp "$d/r.out" "$BENCH_KEEP_LOGS/$row-$stamp-r.out" 2>/dev/null
	fi
	if [ $rc -ne 0 ]; then
		echo "bench: $row failed (status $rc)" >&2
		tail -5 "$d/s.err" "$d/r.err" >&2
		exit 1
	fi
	bytes=$(sed -nE 's/.*bytes=([0-9]+).*/\1/p' "$d/r.out" | tail -1)
	xfer=$(sed -nE 's/.*xfer_secs=([0-9.]+).*/\1/p' "$d/r.out" | tail -1)
	if [ "${bytes:-0}" != "$N" ]; then
		echo "bench: $row: receiver got ${bytes:-0} bytes, want $N" >&2
		exit 1
	fi
	{
		echo "bytes $bytes"
		echo "xfer $xfer"
		echo "snd $(tail -1 "$d/s.time")"
		echo "rcv $(tail -1 "$d/r.time")"
		echo "est $(lab_pcap_syn_to_est "$d/hs.pcap")"
		echo "engest $(sed -nE 's/.*established after ([0-9.]+) ms.*/\1/p' "$d/s.err" | head -1)"
		echo "machine $(awk -v a="$(cat "$d/m0")" -v b="$(machine_ticks)" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')"
	} >"$out"
}

# run ROW TOPO SENDER RECEIVER: SENDER/RECEIVER are "kernel" or "engine";
# writes key=value lines to $RES/ROW
run() {
	local row=$1 topo=$2 snd=$3 rcv=$4 out=$RES/$1
	(
		LAB_PREFIX="ptcp$$b${row//-/}"
		lab_init || exit 1
		local d=$LAB_DIR sns rns target sport=40001 rport=5001 sim=0 rpid spid
		case $topo in
		link) lab_link || exit 1; sns=$LAB_A; rns=$LAB_B; target=$LAB_B_PUB ;;
		nat) lab_two_nat drop with_s || exit 1; sns=$LAB_A; rns=$LAB_S; target=$LAB_S_IP ;;
		2nat) lab_two_nat drop || exit 1; sns=$LAB_A; rns=$LAB_B; target=$LAB_B_PUB
			sim=1; rport=40002 ;;
		esac
		# loss rows: random loss both ways on NAT A, and a real round trip
		if [ -n "${BENCH_LOSS:-}" ]; then
			lab_loss "$LAB_NA" lan0 "$BENCH_LOSS"
			lab_loss "$LAB_NA" wan0 "$BENCH_LOSS"
		fi
		if [ "${BENCH_DELAY:-0}" -gt 0 ]; then
			lab_delay "$LAB_INET" "$BENCH_DELAY" || exit 1
		fi
		# the first packets of the connection, for SYN -> ESTABLISHED
		ip netns exec "$sns" tcpdump -i eth0 -n -U --immediate-mode -s 96 -Z root -c 12 \
			-w "$d/hs.pcap" tcp >/dev/null 2>"$d/hs.log" </dev/null &
		lab_track $!
		wait_for 5 grep -qs "listening on" "$d/hs.log" || { echo "capture failed" >&2; exit 1; }

		machine_ticks >"$d/m0"
		# receiver
		if [ "$rcv" = kernel ]; then
			# Into the same pipe to `kpeer sink` as p2ptcp's stdout
			# (fd 3 is the pipe, stdout the result lines), unless
			# BENCH_KERNEL_RCV=discard: the bytes dropped after recv().
			local kargs=(listen "$rport")
			[ $sim = 1 ] && kargs=(simopen --bind "$LAB_B_IP:$rport" "$LAB_A_PUB:$sport")
			kargs+=(--discard --stats --timeout "$LIMIT")
			if [ "${BENCH_KERNEL_RCV:-pipe}" = discard ]; then
				ip netns exec "$rns" "$TIME" -o "$d/r.time" -f '%e %U %S %M' "$KPEER" \
					"${kargs[@]}" >"$d/r.out" 2>"$d/r.err" </dev/null &
			else
				{
					ip netns exec "$rns" "$TIME" -o "$d/r.time" -f '%e %U %S %M' "$KPEER" \
						"${kargs[@]}" --copy-to 3 3>&1 >"$d/r.out" 2>"$d/r.err" </dev/null |
						"$KPEER" sink >/dev/null
				} &
			fi
		else
			local args=(listen --local-port "$rport")
			[ $sim = 1 ] && args=(connect --local-port "$rport" --local-addr "$LAB_B_IP"
				--peer "$LAB_A_PUB:$sport")
			# shellcheck disable=SC2206
			args+=(${BENCH_ENGINE_ARGS:-})
			{
				ip netns exec "$rns" "$TIME" -o "$d/r.time" -f '%e %U %S %M' "$P2PTCP" \
					"${args[@]}" -v </dev/null 2>"$d/r.err" | "$KPEER" sink >"$d/r.out"
			} &
		fi
		rpid=$!
		lab_track $rpid
		# Let the listener come up (the kernel sender retries). With a
		# simultaneous open, start A between B's SYNs: when B's SYN reaches
		# a kernel A in SYN-SENT (within one round trip of A's own), A
		# answers with a SYN-ACK and Linux times its RTT from that, up to
		# half the path's: its min RTT, and with it bbr's BDP, stays that
		# low for the whole run (seen at 20 ms: 10 ms, half the cwnd).
		# B's next SYN comes 500 ms (p2ptcp) or 1 s (the kernel) later.
		if [ $sim = 1 ]; then sleep 0.1; else sleep 0.3; fi

		# sender: a pipe from kpeer gen
		if [ "$snd" = kernel ]; then
			if [ $sim = 1 ]; then
				{
					"$KPEER" gen "$N" | ip netns exec "$sns" "$TIME" -o "$d/s.time" -f '%e %U %S %M' \
						"$KPEER" simopen --bind "$LAB_A_IP:$sport" "$target:$rport" --send-stdin \
						--stats --timeout "$LIMIT" ${BENCH_KERNEL_CC:+--cc "$BENCH_KERNEL_CC"} \
						>"$d/s.out" 2>"$d/s.err"
				} &
			else
				{
					"$KPEER" gen "$N" | ip netns exec "$sns" "$TIME" -o "$d/s.time" -f '%e %U %S %M' \
						"$KPEER" connect "$target:$rport" --retry --send-stdin --stats \
						--timeout "$LIMIT" ${BENCH_KERNEL_CC:+--cc "$BENCH_KERNEL_CC"} \
						>"$d/s.out" 2>"$d/s.err"
				} &
			fi
		else
			local sargs=(connect --local-port "$sport" --local-addr "$LAB_A_IP" --peer "$target:$rport")
			[ $sim = 1 ] || sargs+=(--active)
			# shellcheck disable=SC2206
			sargs+=(${BENCH_ENGINE_ARGS:-})
			{
				"$KPEER" gen "$N" | ip netns exec "$sns" "$TIME" -o "$d/s.time" -f '%e %U %S %M' \
					"$P2PTCP" "${sargs[@]}" -v >/dev/null 2>"$d/s.err"
			} &
		fi
		spid=$!
		lab_track $spid
		finish_run "$row" "$d" $spid $rpid "$out"
	)
}

# run_rdv ROW [P2PTCP-ARGS...]: p2ptcp to p2ptcp through both NATs in
# rendezvous mode (rendezvousd on S, a key per peer): B listens, A connects
# to B's peer id and sends; the extra arguments go to both (--no-encrypt
# for the plain row). Same output as run.
run_rdv() {
	local row=$1 out=$RES/$1
	shift
	(
		LAB_PREFIX="ptcp$$b${row//-/}"
		lab_init || exit 1
		local d=$LAB_DIR rpid spid id_a id_b
		lab_two_nat drop with_s || exit 1
		# rdv-relay: both NATs symmetric, so the peers go through the relay
		for ns in ${BENCH_SYMMETRIC:+"$LAB_NA" "$LAB_NB"}; do
			ip netns exec "$ns" iptables -t nat -R POSTROUTING 1 -o wan0 -j MASQUERADE \
				--random-fully || exit 1
		done
		# shellcheck disable=SC2086
		ip netns exec "$LAB_S" "$BUILD/rendezvousd" --key-dir "$d/rdvd" --listen "$LAB_S_IP:7450" \
			${BENCH_RDVD_ARGS:-} >/dev/null 2>"$d/srv.log" </dev/null &
		lab_track $!
		wait_for 5 sh -c "ip netns exec '$LAB_S' ss -Hltn | grep -q ':7450 '" ||
			{ echo "rendezvousd did not start" >&2; exit 1; }
		id_a=$(XDG_CONFIG_HOME=$d/ka "$P2PTCP" keygen 2>/dev/null) || exit 1
		id_b=$(XDG_CONFIG_HOME=$d/kb "$P2PTCP" keygen 2>/dev/null) || exit 1
		ip netns exec "$LAB_A" tcpdump -i eth0 -n -U --immediate-mode -s 96 -Z root -c 40 \
			-w "$d/hs.pcap" "tcp and not port 7450" >/dev/null 2>"$d/hs.log" </dev/null &
		lab_track $!
		wait_for 5 grep -qs "listening on" "$d/hs.log" || { echo "capture failed" >&2; exit 1; }
		{
			ip netns exec "$LAB_B" env XDG_CONFIG_HOME="$d/kb" "$TIME" -o "$d/r.time" \
				-f '%e %U %S %M' "$P2PTCP" listen --rendezvous "$LAB_S_IP" --allow "$id_a" \
				--timeout 30 "$@" -v </dev/null 2>"$d/r.err" | "$KPEER" sink >"$d/r.out"
		} &
		rpid=$!
		lab_track $rpid
		wait_for 10 grep -qs "waiting for a peer" "$d/r.err" ||
			{ echo "the listener did not register" >&2; exit 1; }
		{
			"$KPEER" gen "$N" | ip netns exec "$LAB_A" env XDG_CONFIG_HOME="$d/ka" "$TIME" \
				-o "$d/s.time" -f '%e %U %S %M' "$P2PTCP" connect "$id_b" \
				--rendezvous "$LAB_S_IP" "$@" -v >/dev/null 2>"$d/s.err"
		} &
		spid=$!
		lab_track $spid
		finish_run "$row" "$d" $spid $rpid "$out"
	)
}

# run_rr ROW kernel|engine: the request-response row (rrping on A against an
# echo on B, see the top); writes "rr MEDIAN_US P99_US" to $RES/ROW.
run_rr() {
	local row=$1 echo=$2 out=$RES/$1
	(
		LAB_PREFIX="ptcp$$b${row//-/}"
		lab_init || exit 1
		local d=$LAB_DIR epid
		lab_link || exit 1
		if [ "$echo" = kernel ]; then
			ip netns exec "$LAB_B" "$RRPING" echo 5001 --timeout "$LIMIT" >/dev/null 2>"$d/e.err" </dev/null &
		else
			mkfifo "$d/loop" || exit 1
			# shellcheck disable=SC2086
			ip netns exec "$LAB_B" "$P2PTCP" listen --local-port 5001 ${BENCH_ENGINE_ARGS:-} -v \
				<>"$d/loop" >&0 2>"$d/e.err" &
		fi
		epid=$!
		lab_track $epid
		timeout "$LIMIT" ip netns exec "$LAB_A" "$RRPING" ping "$LAB_B_IP:5001" \
			--rounds "${BENCH_RR_ROUNDS:-2000}" --size "${BENCH_RR_SIZE:-64}" --timeout "$LIMIT" \
			>"$d/p.out" 2>"$d/p.err" </dev/null ||
			{ echo "bench: $row failed (status $?)" >&2; tail -n 3 "$d/p.err" "$d/e.err" >&2; exit 1; }
		[ "$echo" = kernel ] && lab_wait_pid "$epid" 10
		sed -nE 's/.*median_us=([0-9]+) p99_us=([0-9]+).*/rr \1 \2/p' "$d/p.out" >"$out"
		grep -o 'receive: IPv4 through [a-z ]*' "$d/e.err" | head -1 | sed 's/^/path /' >>"$out"
	)
}

# --- the service: many peers through one listener --------------------------------------

# svc_lab DIR: the two-NAT lab, rendezvousd on S, B's key kb (ID_B);
# keys are made by svc_key NAME (sets the file DIR/NAME.id).
svc_lab() {
	lab_two_nat drop with_s || exit 1
	ip netns exec "$LAB_S" "$BUILD/rendezvousd" --key-dir "$1/rdvd" --listen "$LAB_S_IP:7450" \
		--max-per-addr 0 --rate 0 >/dev/null 2>"$1/srv.log" </dev/null &
	lab_track $!
	wait_for 5 sh -c "ip netns exec '$LAB_S' ss -Hltn | grep -q ':7450 '" ||
		{ echo "rendezvousd did not start" >&2; exit 1; }
	ID_B=$(svc_key "$1" kb) || exit 1
}
svc_key() { XDG_CONFIG_HOME=$1/$2 "$P2PTCP" keygen 2>/dev/null; }

# svc_listen DIR EXEC: B serves with --exec EXEC; returns once registered.
svc_listen() {
	ip netns exec "$LAB_B" env XDG_CONFIG_HOME="$1/kb" "$P2PTCP" listen --rendezvous "$LAB_S_IP" \
		--exec "$2" -v </dev/null >/dev/null 2>"$1/b.err" &
	SVC_PID=$!
	lab_track $SVC_PID
	wait_for 10 grep -qs "waiting for a peer" "$1/b.err" || { echo "the listener did not register" >&2; exit 1; }
}

# run_svc ROW K: K peers at once each send $SVC_MB MiB to B's child, which
# hashes them; writes "bytes", "window" (s from the first open channel to
# the last exit), "conn" (the slowest peer's start to its channel, s).
run_svc() {
	local row=$1 k=$2 out=$RES/$1
	(
		LAB_PREFIX="ptcp$$b${row//-/}"
		lab_init || exit 1
		local d=$LAB_DIR i n=$((SVC_MB * MiB)) pids=() kp
		kp=$(cd "$(dirname "$KPEER")" && pwd)/kpeer
		svc_lab "$d"
		for i in $(seq 1 "$k"); do
			svc_key "$d" "p$i" >/dev/null || exit 1
		done
		svc_listen "$d" "'$kp' hash >'$d/got-'\"\$P2PTCP_PEER_ID\""
		for i in $(seq 1 "$k"); do
			{
				"$KPEER" gen "$n" --seed "$i" | ip netns exec "$LAB_A" env XDG_CONFIG_HOME="$d/p$i" \
					"$TIME" -o "$d/p$i.time" -f '%e' "$P2PTCP" connect "$ID_B" --rendezvous "$LAB_S_IP" \
					-v >/dev/null 2>"$d/p$i.err"
			} &
			pids+=($!)
			lab_track $!
		done
		for i in $(seq 1 "$k"); do
			lab_wait_pid "${pids[$((i - 1))]}" "$LIMIT" ||
				{ echo "bench: $row: peer $i failed" >&2; tail -3 "$d/p$i.err" >&2; exit 1; }
		done
		# every child got its peer's bytes
		wait_for 10 sh -c "[ \$(cat '$d'/got-* 2>/dev/null | wc -l) -ge $k ]"
		for i in $(seq 1 "$k"); do
			grep -qx "bytes=$n hash=$("$KPEER" sum "$n" --seed "$i" | sed 's/.*hash=//')" "$d"/got-* ||
				{ echo "bench: $row: peer $i's bytes did not arrive intact" >&2; exit 1; }
		done
		{
			echo "bytes $((k * n))"
			# each connect's own clock: start to channel, start to exit
			for i in $(seq 1 "$k"); do
				echo "open $(sed -nE 's/^p2ptcp: \[ *([0-9.]+)\] .*secure channel established.*/\1/p' "$d/p$i.err" | head -1)"
				echo "end $(tail -1 "$d/p$i.time")"
			done
		} >"$d/raw"
		awk '$1 == "bytes" { b = $2 } $1 == "open" { if (o == "" || $2 < o) o = $2; if ($2 > c) c = $2 }
			$1 == "end" { if ($2 > e) e = $2 }
			END { print "bytes", b; print "window", e - o; print "conn", c }' "$d/raw" >"$out"
	)
}

# run_idle ROW: the listener's RSS with IDLE_N idle peers against none.
run_idle() {
	local row=$1 out=$RES/$1
	(
		LAB_PREFIX="ptcp$$b${row//-/}"
		lab_init || exit 1
		local d=$LAB_DIR i rss0 rss1
		svc_lab "$d"
		for i in $(seq 1 "$IDLE_N"); do
			svc_key "$d" "p$i" >/dev/null || exit 1
		done
		svc_listen "$d" cat
		rss0=$(sed -nE 's/^VmRSS:[[:space:]]+([0-9]+) kB/\1/p' "/proc/$SVC_PID/status")
		mkfifo "$d/idle" || exit 1
		sleep 3600 >"$d/idle" &
		lab_track $!
		for i in $(seq 1 "$IDLE_N"); do
			ip netns exec "$LAB_A" env XDG_CONFIG_HOME="$d/p$i" "$P2PTCP" connect "$ID_B" \
				--rendezvous "$LAB_S_IP" <"$d/idle" >/dev/null 2>"$d/p$i.err" &
			lab_track $!
		done
		wait_for 60 sh -c "[ \$(grep -c 'child .* runs' '$d/b.err') -ge $IDLE_N ]" ||
			{ echo "bench: $row: $(grep -c 'child .* runs' "$d/b.err") of $IDLE_N peers came" >&2; exit 1; }
		sleep 1    # let the last handshakes' buffers settle
		rss1=$(sed -nE 's/^VmRSS:[[:space:]]+([0-9]+) kB/\1/p' "/proc/$SVC_PID/status")
		echo "idle $IDLE_N $rss0 $rss1" >"$out"
	)
}

# --- the table -----------------------------------------------------------------------

# redis_lab: a namespace with redis-server on 127.0.0.1:6390 (sets NS,
# REDIS_PID); redis_inst I [ARGS]: rendezvousd I on 127.0.0.1:(7449+I)
# (sets PID_I).
redis_lab() {
	lab__ns_add redis || return 1
	NS=$LAB_NS_LAST
	ip netns exec "$NS" redis-server --port 6390 --bind 127.0.0.1 --save '' --appendonly no \
		>"$LAB_DIR/redis.log" 2>&1 </dev/null &
	REDIS_PID=$!
	lab_track $REDIS_PID
	wait_for 5 sh -c "ip netns exec '$NS' ss -Hltn | grep -q ':6390 '" || { echo "redis-server did not start" >&2; return 1; }
}

RDVPEER=$BUILD/tests/tools/rdvpeer
REDIS_ARGS=(--rate 0 --max-per-addr 0 --max-per-ipv4-24 0 --redis 127.0.0.1:6390)

redis_inst() {
	local i=$1
	shift
	ip netns exec "$NS" "$BUILD/rendezvousd" --key-dir "$LAB_DIR/k$i" --listen 127.0.0.1:$((7449 + i)) \
		"${REDIS_ARGS[@]}" "$@" >/dev/null 2>"$LAB_DIR/s$i.log" </dev/null &
	eval "PID_$i=\$!"
	lab_track $!
	wait_for 5 grep -qs "connected to Redis" "$LAB_DIR/s$i.log" || { echo "rendezvousd $i did not start" >&2; return 1; }
}

redis_used() { ip netns exec "$NS" redis-cli -p 6390 INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

# run_redis_match ROW: matches and registrations per second, two instances.
run_redis_match() {
	local row=$1 out=$RES/$1.txt
	(
		LAB_PREFIX="ptcp$$b${row//-/}"
		lab_init || exit 1
		redis_lab && redis_inst 1 && redis_inst 2 || exit 1
		timeout "$LIMIT" ip netns exec "$NS" "$RDVPEER" load "${BENCH_REDIS_PAIRS:-500}" \
			"${BENCH_REDIS_ROUNDS:-20}" --server 127.0.0.1:7450 --server2 127.0.0.1:7451 \
			--bind 127.0.0.5 >"$LAB_DIR/load.out" 2>"$LAB_DIR/load.err" || {
			echo "bench: $row: $(cat "$LAB_DIR/load.out" "$LAB_DIR/load.err")" >&2; exit 1; }
		awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			printf "  two instances: %d registrations, %.0f/s; %d matches across them, %.0f/s (target 1000/s)\n",
				v["registered"], v["reg_per_s"], v["matches"], v["match_per_s"] }' "$LAB_DIR/load.out" >"$out"
	)
}

# run_redis_peers ROW: BENCH_REDIS_PEERS registered over the instances.
run_redis_peers() {
	local row=$1 out=$RES/$1.txt
	(
		LAB_PREFIX="ptcp$$b${row//-/}"
		lab_init || exit 1
		local total=${BENCH_REDIS_PEERS:-100000} n=${BENCH_REDIS_INST:-6} i per t0 t1 got=0 rss0 rss1 \
			mem0 mem1 d_rss=0 pids=() st reg
		per=$(((total + n - 1) / n))
		redis_lab || exit 1
		for i in $(seq 1 "$n"); do
			redis_inst "$i" --max-clients $((per + 100)) --idle-timeout 600 || exit 1
		done
		mem0=$(redis_used)
		for i in $(seq 1 "$n"); do eval "rss0_$i=\$(rss_kb \$PID_$i)"; done
		t0=$(date +%s%N)
		for i in $(seq 1 "$n"); do
			ip netns exec "$NS" "$RDVPEER" hostile flood "$per" --server 127.0.0.1:$((7449 + i)) \
				--bind 127.0.1.$i --hold 600 >"$LAB_DIR/flood$i.out" 2>&1 </dev/null &
			pids+=($!)
			lab_track $!
		done
		for i in $(seq 1 "$n"); do
			wait_for "$LIMIT" grep -qs '^flood registered=' "$LAB_DIR/flood$i.out" ||
				{ echo "bench: $row: flood $i did not finish" >&2; exit 1; }
		done
		t1=$(date +%s%N)
		sleep 1   # the last registrations' scripts
		mem1=$(redis_used)
		for i in $(seq 1 "$n"); do
			eval "rss1=\$(rss_kb \$PID_$i) rss0=\$rss0_$i"
			d_rss=$((d_rss + rss1 - rss0))
			got=$((got + $(sed -n 's/^flood registered=//p' "$LAB_DIR/flood$i.out")))
		done
		reg=$(ip netns exec "$NS" redis-cli -p 6390 DBSIZE)
		{
			awk -v g="$got" -v n="$n" -v r="$reg" -v ms=$(((t1 - t0) / 1000000)) 'BEGIN {
				printf "  %d peers registered over %d instances (%d in Redis), in %.1f s: %.0f registrations/s\n",
					g, n, r, ms / 1000, g * 1000 / ms }'
			awk -v d="$d_rss" -v m0="$mem0" -v m1="$mem1" -v g="$got" 'BEGIN {
				printf "  per registered peer: %.0f bytes of instance RSS, %.0f bytes of Redis used_memory\n",
					d * 1024 / g, (m1 - m0) / g }'
		} >"$out"
		for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	)
}

# --- the table -----------------------------------------------------------------------

field() { # ROW KEY N: the Nth value on the line of KEY
	awk -v k="$2" -v n="$3" '$1 == k { print $(n + 1); exit }' "$RES/$1" 2>/dev/null
}

mbps() { awk -v b="$(field "$1" bytes 1)" -v t="$(field "$1" xfer 1)" 'BEGIN { if (t > 0) printf "%.1f", b / t / 1048576; else print "-" }'; }

cpu_gib() { # ROW snd|rcv
	local u s
	u=$(awk -v k="$2" '$1 == k { print $3 }' "$RES/$1")
	s=$(awk -v k="$2" '$1 == k { print $4 }' "$RES/$1")
	awk -v u="$u" -v s="$s" -v n="$(field "$1" bytes 1)" 'BEGIN { printf "%.2f", (u + s) / (n / 1073741824) }'
}

# Both processes' CPU per GiB. On one machine the two ends' kernel work is
# charged to whichever process happens to run it: a veth delivers in the
# sender's context, so a kernel receiver's ACKs are built inside the
# kernel sender's write() while p2ptcp's ACKs, sent by sendmmsg(), run the
# kernel sender's ACK processing and its next transmissions on p2ptcp's
# account. The sum is what the transfer costs the machine.
cpu_both() { awk -v a="$(cpu_gib "$1" snd)" -v b="$(cpu_gib "$1" rcv)" 'BEGIN { printf "%.2f", a + b }'; }

# The machine's CPU per GiB (machine_ticks() over the run: both ends, the
# pipes' gen and sink, the lab's routers and the delay helper, softirq
# wherever it ran; what a run costs the machine, the same for both rows
# of a ratio but for the ends). Nothing when not measured.
cpu_machine() {
	awk -v m="$(field "$1" machine 1)" -v n="$(field "$1" bytes 1)" \
		'BEGIN { if (m != "" && n > 0) printf "%.2f", m / (n / 1073741824) }'
}

rss() { awk -v k="$2" '$1 == k { printf "%.1f", $5 / 1024 }' "$RES/$1"; }

# median: of the numbers on stdin, one a line (nothing: nothing).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# merge_passes ROW: ROW's result from its passes (ROW.p1 ...). A
# throughput row gets the median of each figure (time to move the bytes,
# each end's CPU and RSS, the handshake); any other keeps its last pass.
merge_passes() {
	local r=$1 f last="" k
	for f in "$RES/$r".p*; do [ -s "$f" ] && last=$f; done
	[ -n "$last" ] || return 0
	if ! grep -q '^xfer ' "$last"; then
		cp "$last" "$RES/$r"
		return 0
	fi
	{
		echo "bytes $(field "${last##*/}" bytes 1)"
		echo "xfer $(for f in "$RES/$r".p*; do field "${f##*/}" xfer 1; done | median)"
		for k in snd rcv; do
			echo "$k - $(for f in "$RES/$r".p*; do awk -v k=$k '$1 == k { print $3 + $4 }' "$f"; done |
				median) 0 $(for f in "$RES/$r".p*; do awk -v k=$k '$1 == k { print $5 }' "$f"; done | median)"
		done
		for k in est engest machine; do
			echo "$k $(for f in "$RES/$r".p*; do field "${f##*/}" $k 1; done | grep . | median)"
		done
	} >"$RES/$r"
}

label() {
	case $1 in
	link-k) echo "link  kernel -> kernel" ;;
	link-ek) echo "link  p2ptcp -> kernel" ;;
	link-ekg) echo "link  p2ptcp --gso -> kernel" ;;
	link-ekn) echo "link  p2ptcp --no-gso -> kernel" ;;
	nat-ekn) echo "nat   p2ptcp --no-gso -> kernel" ;;
	2nat-en) echo "2nat  p2ptcp --no-gso both (simopen)" ;;
	link-ke) echo "link  kernel -> p2ptcp" ;;
	nat-k) echo "nat   kernel -> kernel (A->S)" ;;
	nat-ek) echo "nat   p2ptcp -> kernel (A->S)" ;;
	2nat-k) echo "2nat  kernel -> kernel (simopen)" ;;
	2nat-e) echo "2nat  p2ptcp -> p2ptcp (simopen)" ;;
	rdv-plain) echo "2nat  peer id, --no-encrypt" ;;
	rdv-enc) echo "2nat  peer id, encrypted" ;;
	rdv-relay) echo "2nat  peer id, relayed (sym. NATs)" ;;
	link-k-tso) echo "link* kernel -> kernel" ;;
	link-ek-tso) echo "link* p2ptcp -> kernel" ;;
	link-ekg-tso) echo "link* p2ptcp --gso -> kernel" ;;
	link-ke-tso) echo "link* kernel -> p2ptcp" ;;
	2nat-*-l*)
		local w=${1#2nat-} l d=""
		w=${w%%-*}
		l=${1#*-l}; l=${l%%-*}
		case $1 in *-d20) d=", 20 ms" ;; esac
		case $w in
		k) w="kernel -> kernel" ;; ek) w="p2ptcp -> kernel" ;;
		ke) w="kernel -> p2ptcp" ;; e) w="p2ptcp -> p2ptcp" ;;
		esac
		echo "2nat  $w, $l% loss$d" ;;
	esac
}

case $PASSES in ''|*[!0-9]*|0) die "BENCH_PASSES: '$PASSES' is not a number of passes (1 or more)" ;; esac
echo "bench: $BENCH_MB MiB per run, $(nproc) CPUs, kernel $(uname -r)$([ "$PASSES" -gt 1 ] && echo ", $PASSES passes")"
for pass in $(seq 1 "$PASSES"); do
	[ "$PASSES" -gt 1 ] && echo "bench: pass $pass of $PASSES ($(uptime | sed 's/.*load/load/'))"
	for row in $ROWS; do
		case $row in
		rr-k) run_rr "$row" kernel ;;
		rr-e) run_rr "$row" engine ;;
		link-k) run "$row" link kernel kernel ;;
		link-ek) run "$row" link engine kernel ;;
		link-ekg) BENCH_ENGINE_ARGS=--gso run "$row" link engine kernel ;;
		link-ekn) BENCH_ENGINE_ARGS=--no-gso run "$row" link engine kernel ;;
		nat-ekn) BENCH_ENGINE_ARGS=--no-gso run "$row" nat engine kernel ;;
		2nat-en) BENCH_ENGINE_ARGS=--no-gso run "$row" 2nat engine engine ;;
		link-ke) run "$row" link kernel engine ;;
		nat-k) run "$row" nat kernel kernel ;;
		nat-ek) run "$row" nat engine kernel ;;
		2nat-k) run "$row" 2nat kernel kernel ;;
		2nat-e) run "$row" 2nat engine engine ;;
		rdv-plain) run_rdv "$row" --no-encrypt ;;
		rdv-enc) run_rdv "$row" ;;
		link-k-tso) LAB_VETH_OFFLOAD=keep run "$row" link kernel kernel ;;
		link-ek-tso) LAB_VETH_OFFLOAD=keep run "$row" link engine kernel ;;
		link-ekg-tso) LAB_VETH_OFFLOAD=keep BENCH_ENGINE_ARGS=--gso run "$row" link engine kernel ;;
		link-ke-tso) LAB_VETH_OFFLOAD=keep run "$row" link kernel engine ;;
		2nat-*-l*)
			w=${row#2nat-}; w=${w%%-*}
			l=${row#*-l}; l=${l%%-*}
			delay=0 mb=${BENCH_LOSS_MB:-64}
			case $row in *-d20) delay=10 mb=${BENCH_DELAY_MB:-16} ;; esac
			case $w in
			k) s=kernel r=kernel ;; ek) s=engine r=kernel ;;
			ke) s=kernel r=engine ;; e) s=engine r=engine ;;
			*) echo "bench: unknown row '$row'" >&2; continue ;;
			esac
			BENCH_LOSS=$(awk -v l="$l" 'BEGIN { print l / 100 }') BENCH_DELAY=$delay \
				N=$((mb * MiB)) run "$row" 2nat "$s" "$r" ;;
		svc-1) run_svc "$row" 1 ;;
		svc-8) run_svc "$row" 8 ;;
		svc-idle) run_idle "$row" ;;
		redis-match) run_redis_match "$row" ;;
		redis-peers) run_redis_peers "$row" ;;
		rdv-relay) BENCH_SYMMETRIC=1 BENCH_RDVD_ARGS="--relay --relay-rate 0 --relay-total-rate 0" \
			run_rdv "$row" ;;
		setup-*) ;;   # the setup section at the end
		*) echo "bench: unknown row '$row'" >&2 ;;
		esac
	done
	# each pass's results aside: ROW.pN
	if [ "$PASSES" -gt 1 ]; then
		for row in $ROWS; do
			[ -e "$RES/$row" ] && mv "$RES/$row" "$RES/$row.p$pass"
		done
	fi
done
[ "$PASSES" -gt 1 ] && for row in $ROWS; do merge_passes "$row"; done

printf '\n%-36s %9s %8s %10s %10s %9s %9s %9s\n' "run" "MiB/s" "Gbit/s" "snd s/GiB" "rcv s/GiB" \
	"SYN>EST" "snd RSS" "rcv RSS"
printf '%-36s %9s %8s %10s %10s %9s %9s %9s\n' "" "" "" "(CPU)" "(CPU)" "ms" "MiB" "MiB"
[ "$PASSES" -gt 1 ] && echo "(each figure the median of $PASSES passes)"
for row in $ROWS; do
	case $row in svc-*|redis-*|setup-*|rr-*) continue ;; esac
	if [ ! -s "$RES/$row" ]; then
		printf '%-36s %9s\n' "$(label "$row")" "failed"
		continue
	fi
	m=$(mbps "$row")
	printf '%-36s %9s %8s %10s %10s %9s %9s %9s\n' "$(label "$row")" "$m" \
		"$(awk -v m="$m" 'BEGIN { printf "%.2f", m * 1048576 * 8 / 1e9 }')" \
		"$(cpu_gib "$row" snd)" "$(cpu_gib "$row" rcv)" \
		"$(awk -v e="$(field "$row" est 1)" 'BEGIN { if (e != "") printf "%.2f", e * 1000; else print "-" }')" \
		"$(rss "$row" snd)" "$(rss "$row" rcv)"
done

echo
echo "p2ptcp / kernel on the same path (throughput; CPU per GiB of the p2ptcp process vs the kernel-side"
echo "process in the same role; of both ends together, sender plus receiver; and of the whole machine"
echo "over the run, /proc/stat's busy time: where a veth or the delay helper has one process do another's work):"
ratio() { # engine-row kernel-row role label
	local k t="" c="" b="" m=""
	[ -s "$RES/$1" ] && [ -s "$RES/$2" ] || { printf '  %-34s -\n' "$4"; return; }
	awk -v a="$(mbps "$1")" -v b="$(mbps "$2")" -v ca="$(cpu_gib "$1" "$3")" -v cb="$(cpu_gib "$2" "$3")" \
		-v ta="$(cpu_both "$1")" -v tb="$(cpu_both "$2")" -v ma="$(cpu_machine "$1")" \
		-v mb="$(cpu_machine "$2")" -v l="$4" \
		'BEGIN { printf "  %-34s throughput %5.1f%%   CPU/GiB x%.1f   both ends x%.1f   machine %s\n", l,
			100 * a / b, (cb > 0 ? ca / cb : 0), (tb > 0 ? ta / tb : 0),
			(mb > 0 ? sprintf("x%.1f", ma / mb) : "-") }'
	[ "$PASSES" -gt 1 ] || return 0
	# each pass against the kernel row of the same pass
	for k in $(seq 1 "$PASSES"); do
		[ -s "$RES/$1.p$k" ] && [ -s "$RES/$2.p$k" ] || continue
		t="$t $(awk -v a="$(mbps "$1.p$k")" -v b="$(mbps "$2.p$k")" 'BEGIN { printf "%.1f", 100 * a / b }')"
		c="$c $(awk -v a="$(cpu_gib "$1.p$k" "$3")" -v b="$(cpu_gib "$2.p$k" "$3")" \
			'BEGIN { printf "x%.1f", (b > 0 ? a / b : 0) }')"
		b="$b $(awk -v a="$(cpu_both "$1.p$k")" -v b="$(cpu_both "$2.p$k")" \
			'BEGIN { printf "x%.1f", (b > 0 ? a / b : 0) }')"
		m="$m $(awk -v a="$(cpu_machine "$1.p$k")" -v b="$(cpu_machine "$2.p$k")" \
			'BEGIN { if (b > 0) printf "x%.1f", a / b; else printf "-" }')"
	done
	printf '  %-34s   per pass: throughput%s%%, CPU/GiB%s, both ends%s, machine%s\n' "" "$t" "$c" "$b" "$m"
}
ratio link-ek link-k snd "link, p2ptcp sending"
ratio link-ekg link-k snd "link, p2ptcp --gso sending"
ratio link-ekn link-k snd "link, p2ptcp --no-gso sending"
ratio link-ke link-k rcv "link, p2ptcp receiving"
ratio nat-ek nat-k snd "nat, p2ptcp sending"
ratio nat-ekn nat-k snd "nat, p2ptcp --no-gso sending"
ratio 2nat-e 2nat-k snd "2nat, p2ptcp both ends"
ratio 2nat-en 2nat-k snd "2nat, p2ptcp --no-gso both ends"
ratio rdv-plain 2nat-k snd "2nat, by peer id, plain"
ratio rdv-enc 2nat-k snd "2nat, by peer id, encrypted"
ratio rdv-enc rdv-plain snd "encrypted vs plain (same path)"
ratio rdv-relay rdv-enc snd "relayed vs direct (target >= 70%)"
ratio link-ek-tso link-k-tso snd "link*, p2ptcp sending"
ratio link-ekg-tso link-k-tso snd "link*, p2ptcp --gso sending"
ratio link-ke-tso link-k-tso rcv "link*, p2ptcp receiving"
for d in "" -d20; do
	for l in 1 5; do
		dl=$([ -n "$d" ] && echo ", 20 ms" || echo "")
		ratio "2nat-ek-l$l$d" "2nat-k-l$l$d" snd "2nat $l%$dl, p2ptcp sending"
		ratio "2nat-ke-l$l$d" "2nat-k-l$l$d" rcv "2nat $l%$dl, p2ptcp receiving"
		ratio "2nat-e-l$l$d" "2nat-k-l$l$d" snd "2nat $l%$dl, p2ptcp both ends"
	done
done
echo
echo "SYN>EST: first SYN to the first segment after the handshake, in the sender's capture; for"
echo "simultaneous open it includes waiting for the other side's SYN. p2ptcp's own -v figure"
echo "(established after): $(for row in $ROWS; do case $row in svc-*|redis-*|setup-*|rr-*) continue ;; esac; e=$(field "$row" engest 1); [ -n "$e" ] && printf '%s %s ms; ' "$row" "$e"; done)"
echo "link*: veth transmit offloads left on (the kernel's defaults): the kernel sends 64 KiB"
echo "segments with the checksum left to the 'hardware' (the kernel's fastest path on one machine);"
echo "the other rows carry wire-like MSS-sized segments with full checksums."

# --- request-response ----------------------------------------------------------------------
if echo " $ROWS " | grep -q ' rr-'; then
	echo
	echo "request-response on the link: ${BENCH_RR_ROUNDS:-2000} round trips of ${BENCH_RR_SIZE:-64} bytes, a kernel client on A:"
	for row in rr-k rr-e; do
		case " $ROWS " in *" $row "*) ;; *) continue ;; esac
		l="kernel echo"; [ $row = rr-e ] && l="p2ptcp listen echo"
		if [ -s "$RES/$row" ]; then
			printf '  %-34s median %6s us   p99 %6s us   %s\n' "$l" "$(field $row rr 1)" "$(field $row rr 2)" \
				"$(awk '$1 == "path" { $1 = ""; print "(" substr($0, 2) ")" }' "$RES/$row")"
		else
			printf '  %-34s failed\n' "$l"
		fi
	done
	if [ -s "$RES/rr-k" ] && [ -s "$RES/rr-e" ]; then
		awk -v a="$(field rr-e rr 1)" -v b="$(field rr-k rr 1)" -v c="$(field rr-e rr 2)" -v e="$(field rr-k rr 2)" \
			'BEGIN { printf "  p2ptcp / kernel: median x%.1f   p99 x%.1f\n", a / b, c / e }'
	fi
fi

# --- the service -------------------------------------------------------------------------
svc_rate() { awk -v b="$(field "$1" bytes 1)" -v w="$(field "$1" window 1)" 'BEGIN { if (w > 0) printf "%.1f", b / w / 1048576 }'; }
case " $ROWS " in
*" svc-"*)
	echo
	echo "service: p2ptcp listen --exec by peer id through both NATs, encrypted, $SVC_MB MiB per peer:"
	for row in svc-1 svc-8; do
		case " $ROWS " in *" $row "*) ;; *) continue ;; esac
		if [ -s "$RES/$row" ]; then
			printf '  %-34s %8s MiB/s aggregate   slowest peer connected after %.2f s\n' \
				"${row#svc-} peer(s) at once" "$(svc_rate "$row")" "$(field "$row" conn 1)"
		else
			printf '  %-34s failed\n' "${row#svc-} peer(s) at once"
		fi
	done
	if [ -s "$RES/svc-1" ] && [ -s "$RES/svc-8" ]; then
		awk -v a="$(svc_rate svc-8)" -v b="$(svc_rate svc-1)" \
			'BEGIN { printf "  8 peers against 1: %.1f%% (target >= 90%%)\n", 100 * a / b }'
	fi
	if [ -s "$RES/svc-idle" ]; then
		awk '{ printf "  memory per idle peer: %.0f KiB (RSS %d KiB with %d idle peers, %d KiB with none; target < 1024)\n", ($4 - $3) / $2, $4, $2, $3 }' "$RES/svc-idle"
	elif case " $ROWS " in *" svc-idle "*) true ;; *) false ;; esac; then
		echo "  memory per idle peer: failed"
	fi
	;;
esac
if echo " $ROWS " | grep -q ' redis-'; then
	echo
	echo "rendezvousd --redis (one redis-server, instances on loopback, rdvpeer as the load):"
	for row in $ROWS; do
		case $row in redis-*) ;; *) continue ;; esac
		if [ -s "$RES/$row.txt" ]; then cat "$RES/$row.txt"; else echo "  $row failed"; fi
	done
fi

# --- setup time (issue 11) ------------------------------------------------------------------
# setup-drop, setup-rst, setup-switch-rst, setup-switch-wire, setup-d20: `p2ptcp connect
# <peer-id>` (A) to a `p2ptcp listen` (B) through both NATs: dropping NATs, RST-answering
# NATs, RST-answering NATs on one switch (no router between them; the bare bridge, where a
# packet is between the NATs for microseconds only, and the same with a 1 ms wire each way,
# lab_wire), and RST-answering NATs with a 20 ms round trip on every path (10 ms each way on
# the internet router); setup-symseq: dropping NATs, NAT A symmetric with sequential ports
# (lab_seq_nat; rendezvousd --probe-port, B punches A's predicted ports). BENCH_SETUP_RUNS runs each
# (default 8); printed: the time from the start of connect to ESTABLISHED, which is when
# the initiator's first peer-to-peer bytes (the secure channel's HELLO) go out, median and
# worst, and how many runs connected. Both peers pin the server's key, so the asker registers
# in one flight (0-RTT); BENCH_SETUP_PIN=0: neither does, and known_servers is removed before
# each run (every run a first contact, 1-RTT); BENCH_SETUP_PIN=tofu: neither does, and one
# contact before the runs (not counted) records the key in known_servers, which pins it for
# every run (a repeat contact, 0-RTT by trust on first use). BENCH_SETUP_TFO=1: the server's
# namespace has net.ipv4.tcp_fastopen=3, and one contact before the runs (not counted) gets the
# asker its TCP Fast Open cookie, so that its first flight rides the SYN in every run. By default all four run; BENCH_SETUP_ROWS names
# some (empty: none); with BENCH_ROWS given, only the setup rows it names run.
SETUP_ALL="setup-drop setup-rst setup-switch-rst setup-switch-wire setup-d20 setup-symseq"
if [ -n "${BENCH_SETUP_ROWS+x}" ]; then
	SETUP_ROWS=$BENCH_SETUP_ROWS
elif [ -n "${BENCH_ROWS:-}" ]; then
	SETUP_ROWS=$(for r in $BENCH_ROWS; do case " $SETUP_ALL " in *" $r "*) echo "$r" ;; esac; done)
else
	SETUP_ROWS=$SETUP_ALL
fi

# run_setup ROW VARIANT INTERNET DELAY_MS [WIRE_MS]: writes one time (ms) per run to
# $RES/ROW.ms.
run_setup() {
	local row=$1 variant=$2 inet=$3 delay=$4 wire=${5:-0}
	(
		LAB_PREFIX="ptcp$$b${row//-/}"
		lab_init || exit 1
		local d=$LAB_DIR i ida idb t lpid
		LAB_INTERNET=$inet lab_two_nat "$variant" with_s || exit 1
		if [ "$delay" -gt 0 ]; then lab_delay "$LAB_INET" "$delay" || exit 1; fi
		if [ "$wire" -gt 0 ]; then lab_wire "$wire" || exit 1; fi
		if [ -n "${SETUP_SEQ:-}" ]; then lab_seq_nat "$LAB_NA" "$LAB_A_PUB" 30000 || exit 1; fi
		if [ "${BENCH_SETUP_TFO:-0}" = 1 ]; then
			ip netns exec "$LAB_S" sysctl -qw net.ipv4.tcp_fastopen=3 || exit 1
		fi
		srv_start ${SETUP_SEQ:+--probe-port 7451} >/dev/null || exit 1
		ida=$(XDG_CONFIG_HOME=$d/ka "$P2PTCP" keygen 2>/dev/null) &&
			idb=$(XDG_CONFIG_HOME=$d/kb "$P2PTCP" keygen 2>/dev/null) || exit 1
		# Both pin the server's key, as a deployed client does: the
		# asker then registers in its first message (0-RTT).
		# BENCH_SETUP_PIN=0: unpinned, a first contact each run (an open
		# HELLO0: 0-RTT as well);
		# tofu: unpinned, the key recorded in known_servers (0-RTT).
		local rdv=$RDVD_ID@$LAB_S_IP pin=${BENCH_SETUP_PIN:-1} first=1
		[ "$pin" = 1 ] || rdv=$LAB_S_IP
		# tofu, TFO: run 0, the first contact that records the key and
		# gets the cookie, is not counted
		[ "$pin" = tofu ] || [ "${BENCH_SETUP_TFO:-0}" = 1 ] && first=0
		for i in $(seq "$first" "${BENCH_SETUP_RUNS:-8}"); do
			[ "$pin" = 0 ] && rm -f "$d/ka/p2ptcp/known_servers" "$d/kb/p2ptcp/known_servers"
			ip netns exec "$LAB_B" "$P2PTCP" listen --rendezvous "$rdv" --dir "$d/kb/p2ptcp" \
				--allow "$ida" --timeout 20 -v </dev/null >/dev/null 2>"$d/l$i.log" &
			lpid=$!
			lab_track $lpid
			wait_for 10 grep -qs "waiting for a peer" "$d/l$i.log" || { echo "bench: $row: no listener" >&2; exit 1; }
			timeout 30 ip netns exec "$LAB_A" "$P2PTCP" connect "$idb" --rendezvous "$rdv" \
				--dir "$d/ka/p2ptcp" -v </dev/null >/dev/null 2>"$d/c$i.log"
			lab_wait_pid "$lpid" 10 >/dev/null
			# BENCH_KEEP_LOGS=DIR keeps each connect's -v log (its steps' times)
			[ -n "${BENCH_KEEP_LOGS:-}" ] && cp "$d/c$i.log" "$BENCH_KEEP_LOGS/$row-c$i.log"
			t=$(sed -nE 's/.*\[ *([0-9.]+)\] ([^ ]+: )?state [A-Z-]+ -> ESTABLISHED.*/\1/p' "$d/c$i.log" | head -1)
			[ "$i" -gt 0 ] && [ -n "$t" ] && awk -v t="$t" 'BEGIN { printf "%.1f\n", t * 1000 }' >>"$RES/$row.ms"
			sleep 0.3   # the NATs' entries of this run are another flow's; let the listener go
		done
	)
}

if [ -n "$SETUP_ROWS" ]; then
	for row in $SETUP_ROWS; do
		case $row in
		setup-drop) run_setup "$row" drop router 0 ;;
		setup-rst) run_setup "$row" rst router 0 ;;
		setup-switch-rst) run_setup "$row" rst bridge 0 ;;
		setup-switch-wire) run_setup "$row" rst bridge 0 1 ;;
		setup-d20) run_setup "$row" rst router 10 ;;
		setup-symseq) SETUP_SEQ=1 run_setup "$row" drop router 0 ;;
		*) echo "bench: unknown row '$row'" >&2 ;;
		esac
	done
	echo
	case ${BENCH_SETUP_PIN:-1} in
	0) pinned="unpinned, first contacts (1-RTT)" ;;
	tofu) pinned="unpinned, repeat contacts: the key from known_servers (0-RTT)" ;;
	*) pinned="the server's key pinned (0-RTT)" ;;
	esac
	[ "${BENCH_SETUP_TFO:-0}" = 1 ] && pinned="$pinned, TCP Fast Open to the server"
	echo "setup: start of \`p2ptcp connect <peer-id>\` to ESTABLISHED (its first peer-to-peer bytes), ${BENCH_SETUP_RUNS:-8} runs, $pinned:"
	for row in $SETUP_ROWS; do
		case $row in
		setup-drop) l="both NATs drop unsolicited SYNs" ;;
		setup-rst) l="both NATs answer with RST" ;;
		setup-switch-rst) l="RST-answering NATs, one bare bridge" ;;
		setup-switch-wire) l="RST-answering NATs, one switch, 1 ms" ;;
		setup-d20) l="RST-answering, 20 ms round trips" ;;
		setup-symseq) l="symmetric NAT, sequential ports" ;;
		*) continue ;;
		esac
		if [ -s "$RES/$row.ms" ]; then
			sort -n "$RES/$row.ms" | awk -v l="$l" -v n="${BENCH_SETUP_RUNS:-8}" -v row="$row" '
				{ v[NR] = $1 }
				END {
					m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
					t = (row == "setup-d20") ? "target <= 2 x 20 + 20 + 20 = 80 ms" : "target <= 25 ms"
					printf "  %-36s median %7.1f ms   worst %7.1f ms   %d of %d connected   (%s)\n",
						l, m, v[NR], NR, n, t }'
		else
			printf '  %-36s failed\n' "$l"
		fi
	done
fi
