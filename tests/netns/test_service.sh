#!/bin/bash
# shellcheck disable=SC2034,SC2154  # ID_<key> are set with eval by key()
# `p2ptcp listen --exec/--forward` as a service (issue 9), in the two-NAT
# lab with rendezvousd on S, B serving and peers on A:
#   ssh:     OpenSSH through both NATs with the README's ProxyCommand
#            (`ssh -o ProxyCommand='p2ptcp connect %h' <peer-id>`) against
#            `listen --forward 127.0.0.1:22` and an sshd of the test's own:
#            10 sessions in a row, 4 at once from two keys, and scp of
#            64 MiB (sha256 compared) while another session is open. ssh
#            ends its ProxyCommand with SIGHUP: every session must close
#            cleanly (FIN from A, "closed cleanly" in B's log, no RST but
#            a closing TCP's races: expect_clean_end) and leave no sshd
#            child behind (it saw end of file).
#   hup:     SIGHUP to a `connect` whose input is still open: exit 0, a FIN
#            from A, and B's --exec child sees end of file.
#   stall:   a peer that finishes TCP and never sends the channel's HELLO
#            (`connect --no-encrypt` with no input) does not delay an
#            honest peer, and is reset at the handshake deadline (10 s).
#   garbage: a peer that sends garbage instead of the HELLO is refused at
#            once; no child runs for it; the next peer is served.
#   liar:    a lying rendezvous server (rdvmitm server --claim) tells B
#            that an allowed id nobody holds is at 198.51.100.99, where an
#            impostor with a key of its own completes TCP and the channel's
#            handshake: the --exec child never runs for it (it would write
#            a marker file), and B then serves an honest peer.
#   idle:    NATs whose established-flow timeout is 60 s; in parallel:
#            a session idle for 90 s still carries data (keepalive), while
#            one without keepalive on either side does not (the check can
#            fail); a SIGKILLed connect that was sending, and one that was
#            receiving, are noticed by B within 60 s with a line that says
#            how.
#   restart: rendezvousd killed and started again (same port, same key):
#            B registers again and serves the next peer.
#   noread:  a peer that never reads: its window closes, B's memory stays
#            bounded, and another peer moves 16 MiB each way meanwhile.
#   busy:    100 peers ask at once (--max-peers default 64): 64 (or 65,
#            the match the server made before it read BUSY) are served,
#            the rest exit 6 saying busy, and B then serves again.
# Ends with "netns: P passed, F failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

RDVMITM=${RDVMITM:-$BUILD/tests/tools/rdvmitm}
SSHD=${SSHD:-/usr/sbin/sshd}
EXIT_RDV=6 EXIT_CHANNEL=8
N=$((16 * MiB))

# --- the service and its peers ----------------------------------------------------------

# regs NAME: how often NAME's log says it waits for a peer (a LISTEN went out).
regs() { grep -c "waiting for a peer" "$LAB_DIR/$1.log" 2>/dev/null; }
regs_ge() { [ "$(regs "$1")" -ge "$2" ]; }

# svc NAME ARGS...: `p2ptcp listen -v ARGS` on B with key kb (unless ARGS
# name another --dir) through S; log NAME.log; sets PID_NAME.
svc() {
	local name=$1
	shift
	echo "+ p2ptcp listen $*" >"$LAB_DIR/$name.log"
	ip netns exec "$LAB_B" "$P2PTCP" listen --rendezvous "$LAB_S_IP:7450" -v "$@" \
		</dev/null >"$LAB_DIR/$name.out" 2>>"$LAB_DIR/$name.log" &
	eval "PID_$name=\$!"
	lab_track $!
	t_log "$LAB_DIR/$name.log"
}

# svc_ready NAME [N]: NAME registered and listening (N times, default 1).
svc_ready() {
	wait_for 20 regs_ge "$1" "${2:-1}" || { t_fail "$1 did not register${2:+ ($2)}"; return 1; }
}

# svc_stop NAME: SIGTERM; it must exit within 10 s (0, or 143 when it cut
# sessions short: ALLOW_CUT=1).
svc_stop() {
	local pid rc
	eval "pid=\${PID_$1}"
	kill -0 "$pid" 2>/dev/null || { t_fail "$1 is not running any more"; return 1; }
	kill -TERM "$pid"
	lab_wait_pid "$pid" 10; rc=$?
	if [ "${ALLOW_CUT:-0}" = 1 ] && [ $rc -eq 143 ]; then
		return 0
	fi
	expect_exit "$1 after SIGTERM" $rc 0
}

# peer NAME KEY IN ARGS...: `p2ptcp connect <B's id> -v ARGS` on A with key
# KEY (and its config file naming S), stdin IN, stdout NAME.out (or
# $PEER_OUT), log NAME.log, in the background; sets PID_NAME. TARGET
# names another peer id than B's.
peer() {
	local name=$1 k=$2 in=$3 target=${TARGET:-$ID_kb}
	shift 3
	echo "+ p2ptcp connect $target $*" >"$LAB_DIR/$name.log"
	ip netns exec "$LAB_A" env XDG_CONFIG_HOME="$LAB_DIR/$k" "$P2PTCP" connect "$target" -v "$@" \
		<"$in" >"${PEER_OUT:-$LAB_DIR/$name.out}" 2>>"$LAB_DIR/$name.log" &
	eval "PID_$name=\$!"
	lab_track $!
	t_log "$LAB_DIR/$name.log"
}

# keys NAME...: a key for each, whose config file names the lab's server.
keys() {
	local k
	for k in "$@"; do
		key "$k" || return 1
		echo "rendezvous = $LAB_S_IP:7450" >"$LAB_DIR/$k/p2ptcp/config"
	done
}

# sessions NAME: "session ..." lines in NAME's log.
sessions() { grep -c "session .*: [0-9.]* s, " "$LAB_DIR/$1.log" 2>/dev/null; }
sessions_ge() { [ "$(sessions "$1")" -ge "$2" ]; }
clean_sessions() { grep -c "session .* closed cleanly" "$LAB_DIR/$1.log" 2>/dev/null; }

# lab_svc: the two-NAT lab with rendezvousd on S and keys ka, kb.
lab_svc() {
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	srv_start "$@" || return 1
	SRV_PID=$LAB_LAST_PID
	keys ka kb || return 1
}

# hold NAME: a FIFO $LAB_DIR/NAME.fifo whose writing end a background
# `sleep` keeps open (so that its reader sees no end of file until
# release NAME); `echo x >$LAB_DIR/NAME.fifo` writes to it meanwhile.
hold() {
	mkfifo "$LAB_DIR/$1.fifo" || return 1
	sleep 3600 >"$LAB_DIR/$1.fifo" &
	eval "HOLD_$1=\$!"
	lab_track $!
}
release() {
	local pid
	eval "pid=\${HOLD_$1}"
	kill "$pid" 2>/dev/null
}

# --- ssh ---------------------------------------------------------------------------------

# sshd_start: an sshd of the test's own on B's 127.0.0.1:22 (host key,
# client key and authorized_keys in $LAB_DIR/ssh), in the foreground of
# its process (-D -e), ended by pid. Its privilege separation directory
# /run/sshd is on a tmpfs over /run in the mount namespace that `ip netns
# exec` makes: nothing is left outside.
sshd_start() {
	local d=$LAB_DIR/ssh
	mkdir -p "$d" "$LAB_DIR/home" || return 1
	chmod 700 "$d" "$LAB_DIR/home"
	ssh-keygen -q -t ed25519 -N '' -C lab-host -f "$d/host" &&
		ssh-keygen -q -t ed25519 -N '' -C lab-client -f "$d/id" || { t_fail "ssh-keygen"; return 1; }
	cp "$d/id.pub" "$d/authorized_keys"
	# ssh looks the host key up under the name it was given: the peer id
	echo "$ID_kb $(cut -d' ' -f1,2 "$d/host.pub")" >"$d/known_hosts"
	cat >"$d/sshd_config" <<EOF
ListenAddress 127.0.0.1:22
HostKey $d/host
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 100
MaxSessions 20
Subsystem sftp internal-sftp
LogLevel VERBOSE
EOF
	# shellcheck disable=SC2016
	lab_bg "$LAB_B" "$LAB_DIR/sshd.out" "$LAB_DIR/sshd.log" sh -c \
		'mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd && exec "$0" -D -e -f "$1"' \
		"$SSHD" "$d/sshd_config"
	SSHD_PID=$LAB_LAST_PID
	t_log "$LAB_DIR/sshd.log"
	wait_for 10 listening "$LAB_B" 22 || { t_fail "sshd did not start"; return 1; }
}

# sshd_children: sshd processes in B besides the listening one (one per
# connection, and its privilege-separated children).
sshd_children() {
	local p n=0
	for p in $(ip netns pids "$LAB_B"); do
		[ "$p" = "$SSHD_PID" ] && continue
		grep -qs '^sshd' "/proc/$p/comm" && n=$((n + 1))
	done
	echo $n
}
no_sshd_children() { [ "$(sshd_children)" -eq 0 ]; }

SSH_BIN=""
# ssh_cmd KEY [scp]: the ssh (or scp) command line on A with p2ptcp key
# KEY, in SSH; the ProxyCommand is the README's, p2ptcp found on PATH, the
# server in KEY's config file.
ssh_cmd() {
	local d=$LAB_DIR/ssh
	[ -n "$SSH_BIN" ] || SSH_BIN=$(cd "$(dirname "$P2PTCP")" && pwd)
	SSH=(ip netns exec "$LAB_A" env HOME="$LAB_DIR/home" XDG_CONFIG_HOME="$LAB_DIR/$1"
		PATH="$SSH_BIN:$PATH" "${2:-ssh}" -F none -i "$d/id" -o IdentitiesOnly=yes -o BatchMode=yes
		-o UserKnownHostsFile="$d/known_hosts" -o GlobalKnownHostsFile=/dev/null
		-o StrictHostKeyChecking=yes -o ConnectTimeout=30 -o LogLevel=ERROR
		-o ProxyCommand='p2ptcp connect %h')
	[ "${2:-ssh}" = ssh ] && SSH+=(-l root)
}

# ssh_one NAME KEY TAG: `ssh <peer-id> 'echo TAG $(B's address)'` in the
# background; output NAME.out, errors NAME.err; sets PID_NAME.
ssh_one() {
	ssh_cmd "$2"
	t_log "$LAB_DIR/$1.err"
	# shellcheck disable=SC2016
	timeout 60 "${SSH[@]}" "$ID_kb" "echo $3 \$(ip -4 -o addr show dev eth0 | awk '{print \$4}')" \
		</dev/null >"$LAB_DIR/$1.out" 2>"$LAB_DIR/$1.err" &
	eval "PID_$1=\$!"
	lab_track $!
}

# ssh_check NAME TAG: NAME exited 0 and printed "TAG 10.2.0.2/24" (it ran on B).
ssh_check() {
	local rc
	peer_wait "$1" 70; rc=$?
	expect_exit "ssh $1" $rc 0
	[ "$(cat "$LAB_DIR/$1.out")" = "$2 $LAB_B_IP/24" ] ||
		t_fail "ssh $1 printed '$(cat "$LAB_DIR/$1.out")', want '$2 $LAB_B_IP/24'"
}

case_ssh() {
	local i n want got
	lab_svc || return 1
	keys kc || return 1
	sshd_start || return 1
	lab_capture_start "$LAB_INET" pa "$LAB_DIR/pa.pcap" \
		"tcp[tcpflags] & (tcp-fin|tcp-rst) != 0 and not port 7450" || return 1
	svc b --dir "$LAB_DIR/kb/p2ptcp" --allow "$ID_ka" --allow "$ID_kc" --forward 127.0.0.1:22
	svc_ready b || return 1
	n=0
	for i in $(seq 1 10); do
		ssh_one "s$i" ka "row-$i"
		ssh_check "s$i" "row-$i"
		n=$((n + 1))
		# the session ends on B too: cleanly, and sshd saw end of file
		wait_for 10 sessions_ge b $n || t_fail "B logged no end of session $i"
	done
	wait_for 10 no_sshd_children || t_fail "$(sshd_children) sshd processes left after 10 sessions"
	# 4 at once, two from each key
	for i in 1 2 3 4; do
		ssh_one "p$i" "$([ $((i % 2)) = 1 ] && echo ka || echo kc)" "par-$i"
	done
	for i in 1 2 3 4; do
		ssh_check "p$i" "par-$i"
	done
	n=$((n + 4))
	wait_for 10 sessions_ge b $n || t_fail "B logged $(sessions b) sessions, want $n"
	wait_for 10 no_sshd_children || t_fail "$(sshd_children) sshd processes left after 14 sessions"
	# scp 64 MiB while another session is open (its input held open)
	head -c $((64 * MiB)) /dev/urandom >"$LAB_DIR/big.bin"
	want=$(sha256sum <"$LAB_DIR/big.bin")
	hold open || return 1
	ssh_cmd kc
	t_log "$LAB_DIR/open.err"
	timeout 120 "${SSH[@]}" "$ID_kb" 'echo open; cat; echo closed' <"$LAB_DIR/open.fifo" \
		>"$LAB_DIR/open.out" 2>"$LAB_DIR/open.err" &
	PID_open=$!
	lab_track $PID_open
	wait_for 30 grep -qs '^open$' "$LAB_DIR/open.out" || t_fail "the open session did not start"
	ssh_cmd ka scp
	t_log "$LAB_DIR/scp.err"
	timeout 120 "${SSH[@]}" -q "$LAB_DIR/big.bin" "root@$ID_kb:$LAB_DIR/copy.bin" </dev/null \
		>"$LAB_DIR/scp.out" 2>"$LAB_DIR/scp.err"
	expect_exit scp $? 0
	got=$(sha256sum <"$LAB_DIR/copy.bin" 2>/dev/null)
	[ "$got" = "$want" ] || t_fail "scp: B has '$got', want '$want'"
	echo still-here >"$LAB_DIR/open.fifo"
	wait_for 10 grep -qs '^still-here$' "$LAB_DIR/open.out" || t_fail "the open session stopped answering"
	release open
	peer_wait open 30
	expect_exit "the open session" $? 0
	[ "$(tr '\n' ' ' <"$LAB_DIR/open.out")" = "open still-here closed " ] ||
		t_fail "the open session printed '$(tr '\n' ' ' <"$LAB_DIR/open.out")'"
	n=$((n + 2))
	wait_for 10 sessions_ge b $n || t_fail "B logged $(sessions b) sessions, want $n"
	wait_for 10 no_sshd_children || t_fail "$(sshd_children) sshd processes left at the end"
	[ "$(clean_sessions b)" -eq $n ] ||
		t_fail "$(clean_sessions b) of $n sessions closed cleanly: $(grep 'session .* ended' "$LAB_DIR/b.log" | head -3)"
	lab_capture_stop
	# ssh's SIGHUP: every session's FIN from A's side, no RST
	got=$(lab_pcap_fins "$LAB_DIR/pa.pcap" "$LAB_A_PUB")
	[ "$got" -ge $n ] || t_fail "$got FINs from A for $n sessions"
	# no RST on NAT A's outside link but a closing TCP's races
	expect_clean_end "$LAB_DIR/pa.pcap"
	svc_stop b
	expect_no_tables "$LAB_B"
	expect_no_tables "$LAB_A"
}

# --- SIGHUP, stalled and garbage peers, a lying server -------------------------------------

# log_time NAME REGEX: the -v timestamp of NAME's first line matching REGEX.
log_time() {
	sed -nE "s/^p2ptcp: \[ *([0-9.]+)\] .*$2.*/\1/p" "$LAB_DIR/$1.log" | head -1
}

# within A B LIMIT: B - A (seconds, fractions allowed) is at most LIMIT.
within() { awk -v a="$1" -v b="$2" -v l="$3" 'BEGIN { exit !(a != "" && b != "" && b - a <= l) }'; }

case_hup() {
	local rc
	lab_svc || return 1
	lab_capture_start "$LAB_INET" pa "$LAB_DIR/pa.pcap" \
		"tcp[tcpflags] & (tcp-fin|tcp-rst) != 0 and not port 7450" || return 1
	svc b --dir "$LAB_DIR/kb/p2ptcp" --allow "$ID_ka" \
		--exec "cat >'$LAB_DIR/child.got'; echo eof >'$LAB_DIR/child.eof'"
	svc_ready b || return 1
	hold h || return 1
	peer c ka "$LAB_DIR/h.fifo"
	echo hello >"$LAB_DIR/h.fifo"
	wait_for 20 grep -qs '^hello$' "$LAB_DIR/child.got" || { t_fail "the child got no 'hello'"; return 1; }
	[ -e "$LAB_DIR/child.eof" ] && t_fail "the child saw end of file before SIGHUP"
	kill -HUP "$PID_c"
	peer_wait c 10; rc=$?
	expect_exit "connect after SIGHUP" $rc 0
	grep -q "SIGHUP: closing the connection" "$LAB_DIR/c.log" || t_fail "connect did not log the SIGHUP"
	wait_for 10 test -e "$LAB_DIR/child.eof" || t_fail "B's child saw no end of file"
	wait_for 10 sessions_ge b 1 || t_fail "B logged no session"
	[ "$(clean_sessions b)" -eq 1 ] || t_fail "the session did not close cleanly on B"
	release h
	lab_capture_stop
	[ "$(lab_pcap_fins "$LAB_DIR/pa.pcap" "$LAB_A_PUB")" -ge 1 ] || t_fail "no FIN from A"
	expect_clean_end "$LAB_DIR/pa.pcap"
	svc_stop b
	expect_no_tables "$LAB_A"
}

# marker_cmd FILE: an --exec command that appends its proven peer id to
# FILE, then echoes its input.
marker_cmd() { echo "echo \"\$P2PTCP_PEER_ID\" >>'$1'; exec cat"; }

case_stall() {
	local t_est t_end t_honest rc
	lab_svc || return 1
	keys kc || return 1
	svc b --dir "$LAB_DIR/kb/p2ptcp" --allow "$ID_ka" --allow "$ID_kc" --exec "$(marker_cmd "$LAB_DIR/ran")"
	svc_ready b || return 1
	# the stalled peer: TCP, then nothing (no channel, no input)
	hold st || return 1
	peer st ka "$LAB_DIR/st.fifo" --no-encrypt
	wait_for 20 grep -q "^p2ptcp: \[.*\] ${ID_ka:0:12}: established after" "$LAB_DIR/b.log" ||
		{ t_fail "the stalled peer did not get to ESTABLISHED"; return 1; }
	t_est=$(log_time b "${ID_ka:0:12}: established after")
	# meanwhile an honest peer is served at once
	echo hello-honest >"$LAB_DIR/honest.in"
	peer h kc "$LAB_DIR/honest.in"
	peer_wait h 20; rc=$?
	expect_exit "the honest peer beside the stalled one" $rc 0
	[ "$(cat "$LAB_DIR/h.out")" = hello-honest ] || t_fail "the honest peer got '$(cat "$LAB_DIR/h.out")'"
	t_honest=$(log_time b "${ID_kc:0:12}: closed: clean close")
	within "$t_est" "$t_honest" 5 ||
		t_fail "the honest peer's session ended ${t_honest:-?} s, the stalled peer came at $t_est s"
	grep -q "session ${ID_ka}" "$LAB_DIR/b.log" && t_fail "the stalled peer ended before the honest one was served"
	# the deadline ends the stalled one
	wait_for 15 grep -q "session ${ID_ka} .*ended: the peer did not finish the secure-channel handshake in time" \
		"$LAB_DIR/b.log" || t_fail "the stalled peer was not ended by the handshake deadline"
	t_end=$(log_time b "peer ${ID_ka:0:12}: the peer did not finish")
	within "$t_est" "$t_end" 11 && ! within "$t_est" "$t_end" 9.5 ||
		t_fail "the stalled peer ended at ${t_end:-?} s, established at $t_est s: not the 10 s deadline"
	peer_wait st 10; rc=$?
	[ $rc -ne 0 ] && [ $rc -ne 124 ] || t_fail "the stalled connect exited $rc, want an error after B's reset"
	release st
	[ "$(cat "$LAB_DIR/ran" 2>/dev/null)" = "$ID_kc" ] ||
		t_fail "children ran for '$(tr '\n' ' ' <"$LAB_DIR/ran" 2>/dev/null)', want only $ID_kc"
	svc_stop b
}

case_garbage() {
	local rc t_est t_end
	lab_svc || return 1
	keys kc || return 1
	svc b --dir "$LAB_DIR/kb/p2ptcp" --allow "$ID_ka" --allow "$ID_kc" --exec "$(marker_cmd "$LAB_DIR/ran")"
	svc_ready b || return 1
	printf 'GET / HTTP/1.1\r\nHost: %s\r\n\r\n' "$ID_kb" >"$LAB_DIR/garbage"
	head -c 4096 /dev/zero | tr '\0' 'x' >>"$LAB_DIR/garbage"
	hold g || return 1
	peer g ka "$LAB_DIR/g.fifo" --no-encrypt
	cat "$LAB_DIR/garbage" >"$LAB_DIR/g.fifo"
	wait_for 20 grep -q "session ${ID_ka} " "$LAB_DIR/b.log" || { t_fail "B did not end the garbage peer"; return 1; }
	grep -q "session ${ID_ka} .*ended: the peer does not speak the p2ptcp secure channel" "$LAB_DIR/b.log" ||
		t_fail "the garbage peer's end does not say so: $(grep "session ${ID_ka}" "$LAB_DIR/b.log")"
	t_est=$(log_time b "${ID_ka:0:12}: established after")
	t_end=$(log_time b "peer ${ID_ka:0:12}: the peer does not speak")
	within "$t_est" "$t_end" 3 || t_fail "garbage refused ${t_end:-?} s after ESTABLISHED at ${t_est:-?} s: not at once"
	peer_wait g 10; rc=$?
	[ $rc -ne 0 ] && [ $rc -ne 124 ] || t_fail "the garbage connect exited $rc, want an error after B's reset"
	release g
	echo hello >"$LAB_DIR/honest.in"
	peer h kc "$LAB_DIR/honest.in"
	peer_wait h 20; rc=$?
	expect_exit "the next peer" $rc 0
	[ "$(cat "$LAB_DIR/h.out")" = hello ] || t_fail "the next peer got '$(cat "$LAB_DIR/h.out")'"
	[ "$(cat "$LAB_DIR/ran" 2>/dev/null)" = "$ID_kc" ] ||
		t_fail "children ran for '$(tr '\n' ' ' <"$LAB_DIR/ran" 2>/dev/null)', want only $ID_kc"
	svc_stop b
}

LIAR_IP=198.51.100.99

case_liar() {
	local rc
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	keys ka kb kc km || return 1
	# km, the impostor, on S at 198.51.100.99, reached from NAT B through
	# the internet router
	ip -n "$LAB_S" addr add "$LIAR_IP/32" dev eth0 &&
		ip -n "$LAB_INET" route add "$LIAR_IP/32" dev ps &&
		ip -n "$LAB_NB" route add "$LIAR_IP/32" via 203.0.113.254 || return 1
	"$RDVD" --keygen --key-dir "$LAB_DIR/evil" >/dev/null || { t_fail "rendezvousd --keygen"; return 1; }
	lab_bg "$LAB_S" "$LAB_DIR/evil.out" "$LAB_DIR/evil.err" "$RDVMITM" server \
		--listen "$LAB_S_IP:7450" --key "$LAB_DIR/evil" --claim "$ID_ka" --hold 120
	t_log "$LAB_DIR/evil.out"
	t_log "$LAB_DIR/evil.err"
	wait_for 5 grep -qs '^listening' "$LAB_DIR/evil.out" || { t_fail "rdvmitm did not start"; return 1; }
	# A is allowed, but nobody runs with A's key
	svc b --dir "$LAB_DIR/kb/p2ptcp" --allow "$ID_ka" --allow "$ID_kc" --exec "$(marker_cmd "$LAB_DIR/ran")"
	svc_ready b || return 1
	echo impostor >"$LAB_DIR/m.in"
	echo "+ p2ptcp connect $ID_kb (impostor)" >"$LAB_DIR/m.log"
	t_log "$LAB_DIR/m.log"
	timeout 30 ip netns exec "$LAB_S" env XDG_CONFIG_HOME="$LAB_DIR/km" "$P2PTCP" connect "$ID_kb" \
		--local-addr "$LIAR_IP" -v <"$LAB_DIR/m.in" >"$LAB_DIR/m.out" 2>>"$LAB_DIR/m.log"
	rc=$?
	grep -q "^told listener asker=$ID_ka\$" "$LAB_DIR/evil.out" || t_fail "the server did not lie"
	grep -q "matched with ${ID_ka:0:12} at $LIAR_IP:" "$LAB_DIR/b.log" ||
		t_fail "B was not told that A is at $LIAR_IP"
	grep -q "${ID_ka:0:12}: established after" "$LAB_DIR/b.log" ||
		t_fail "the impostor did not get as far as TCP (the check proves less)"
	# refused by B: reset (5), or a channel error (8) if it noticed first
	[ $rc -eq 5 ] || [ $rc -eq $EXIT_CHANNEL ] || t_fail "the impostor exited $rc, want 5 or $EXIT_CHANNEL"
	wait_for 10 grep -q "session ${ID_ka} " "$LAB_DIR/b.log" || t_fail "B logged no end for the claimed peer"
	grep -q "session ${ID_ka} .*closed cleanly" "$LAB_DIR/b.log" && t_fail "B's session with the impostor closed cleanly"
	[ -e "$LAB_DIR/ran" ] && t_fail "a child ran for '$(tr '\n' ' ' <"$LAB_DIR/ran")'"
	grep -q "child .* runs" "$LAB_DIR/b.log" && t_fail "B started a child for the impostor"
	# B keeps serving: an honest peer (an honest match now)
	svc_ready b 2 || return 1
	echo hello >"$LAB_DIR/honest.in"
	peer h kc "$LAB_DIR/honest.in"
	peer_wait h 20; rc=$?
	expect_exit "the honest peer after the lie" $rc 0
	[ "$(cat "$LAB_DIR/h.out")" = hello ] || t_fail "the honest peer got '$(cat "$LAB_DIR/h.out")'"
	[ "$(cat "$LAB_DIR/ran" 2>/dev/null)" = "$ID_kc" ] ||
		t_fail "children ran for '$(tr '\n' ' ' <"$LAB_DIR/ran" 2>/dev/null)', want only $ID_kc"
	svc_stop b
}

# --- keepalive, vanished peers, a restarted server --------------------------------------

# drip FILE: 64 KiB every 0.1 s into FILE (a FIFO), in the background:
# a sender that always has something in flight, at no great cost.
DRIP='while :; do head -c 65536 /dev/zero; sleep 0.1; done'
drip() {
	sh -c "$DRIP" >"$1" 2>/dev/null &
	lab_track $!
}

# seen NAME REGEX: the wall clock (s) when NAME's log first matched, kept
# in SEEN_NAME; polls every call.
note_seen() {
	local v
	eval "v=\${SEEN_$1:-}"
	[ -n "$v" ] && return 0
	grep -qE -- "$2" "$LAB_DIR/$3.log" 2>/dev/null || return 1
	eval "SEEN_$1=$(date +%s.%N)"
}

case_idle() {
	local ns t0 t_idle i v rc port
	lab_svc || return 1
	keys kc kd ke kv kh kn kb2 kb3 || return 1
	# the NATs forget an established flow after 60 s without a packet
	for ns in "$LAB_NA" "$LAB_NB"; do
		ip netns exec "$ns" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=60 || return 1
		v=$(ip netns exec "$ns" sysctl -n net.netfilter.nf_conntrack_tcp_timeout_established)
		[ "$v" = 60 ] || { t_fail "conntrack timeout is '$v' in $ns"; return 1; }
	done
	# b: kd and kv send to it, it sends to ke, and echoes the rest
	svc b --dir "$LAB_DIR/kb/p2ptcp" --exec "case \$P2PTCP_PEER_ID in
		$ID_kd|$ID_kv) exec cat >/dev/null ;; $ID_ke) exec sh -c '$DRIP' ;; *) exec cat ;; esac"
	# b2: no keepalive (the control); b3: sends to kh, then is killed
	svc b2 --dir "$LAB_DIR/kb2/p2ptcp" --no-keepalive --exec cat
	svc b3 --dir "$LAB_DIR/kb3/p2ptcp" --exec "$DRIP"
	svc_ready b && svc_ready b2 && svc_ready b3 || return 1
	hold i && hold n && hold e && hold h || return 1
	mkfifo "$LAB_DIR/d.in" "$LAB_DIR/v.in" || return 1
	drip "$LAB_DIR/d.in"
	drip "$LAB_DIR/v.in"
	peer i kc "$LAB_DIR/i.fifo"
	TARGET=$ID_kb2 peer n kn "$LAB_DIR/n.fifo" --no-keepalive
	peer d kd "$LAB_DIR/d.in"
	peer v kv "$LAB_DIR/v.in"
	PEER_OUT=/dev/null peer e ke "$LAB_DIR/e.fifo"
	TARGET=$ID_kb3 PEER_OUT=/dev/null peer h kh "$LAB_DIR/h.fifo"
	for i in i n d v e h; do
		wait_for 20 grep -q "secure channel established" "$LAB_DIR/$i.log" ||
			{ t_fail "session $i did not open"; return 1; }
	done
	echo before >"$LAB_DIR/i.fifo"
	echo before >"$LAB_DIR/n.fifo"
	wait_for 10 grep -qs '^before$' "$LAB_DIR/i.out" && wait_for 10 grep -qs '^before$' "$LAB_DIR/n.out" ||
		{ t_fail "the idle sessions did not echo"; return 1; }
	t_idle=$SECONDS
	sleep 2     # bytes in flight on the dripping sessions
	# v vanishes without a word: NAT A drops its flow both ways first
	port=$(sed -nE "s/.*connecting $LAB_A_IP:([0-9]+) -> .*/\1/p" "$LAB_DIR/v.log" | head -1)
	[ -n "$port" ] || { t_fail "no local port in v.log"; return 1; }
	ip netns exec "$LAB_NA" iptables -I FORWARD 1 -s "$LAB_A_IP" -p tcp --sport "$port" -j DROP &&
		ip netns exec "$LAB_NA" iptables -I FORWARD 1 -d "$LAB_A_IP" -p tcp --dport "$port" -j DROP ||
		return 1
	t0=$(date +%s.%N)
	kill -KILL "$PID_d" "$PID_e" "$PID_v" "$PID_b3"
	for i in "$PID_d" "$PID_e" "$PID_v" "$PID_b3"; do
		{ wait "$i"; } 2>/dev/null    # reaped here, without the shell's "Killed"
	done
	# each is noticed within 60 s, with a line that says how
	wait_for 65 all_noticed
	for i in d e v; do
		eval "v=\${SEEN_$i:-}"
		if [ -z "$v" ]; then
			t_fail "B did not notice that connect $i was killed"
		elif ! within "$t0" "$v" 60; then
			t_fail "B noticed the end of connect $i after $(awk -v a="$t0" -v b="$v" 'BEGIN{print b-a}') s"
		else
			echo "    killed connect $i noticed by B after $(awk -v a="$t0" -v b="$v" 'BEGIN{printf "%.1f", b-a}') s"
		fi
	done
	grep -q "session $ID_kd .*ended: connection reset by peer" "$LAB_DIR/b.log" ||
		t_fail "B's line for d: $(grep "session $ID_kd" "$LAB_DIR/b.log")"
	grep -q "session $ID_ke .*ended: connection reset by peer" "$LAB_DIR/b.log" ||
		t_fail "B's line for e: $(grep "session $ID_ke" "$LAB_DIR/b.log")"
	grep -q "session $ID_kv .*ended: peer stopped answering keepalive probes" "$LAB_DIR/b.log" ||
		t_fail "B's line for v: $(grep "session $ID_kv" "$LAB_DIR/b.log")"
	if [ -z "${SEEN_h:-}" ] || ! within "$t0" "$SEEN_h" 60; then
		t_fail "connect h did not notice the killed listener within 60 s"
	else
		echo "    killed listener noticed by connect h after $(awk -v a="$t0" -v b="$SEEN_h" 'BEGIN{printf "%.1f", b-a}') s"
	fi
	# B's kernel answers the probe with a RST (5), or nothing comes back
	# and the probes run out (4): either way one line says so
	peer_wait h 5; rc=$?
	[ $rc -eq 4 ] || [ $rc -eq 5 ] || t_fail "connect h, its listener killed, exited $rc, want 4 or 5"
	grep -qE "^p2ptcp: (connection reset by the peer|.* stopped answering \(peer stopped answering keepalive probes\))" \
		"$LAB_DIR/h.log" ||
		t_fail "connect h does not say what happened: $(grep -v '^p2ptcp: \[' "$LAB_DIR/h.log" | tail -1)"
	# 90 s idle: keepalive kept both NATs' mappings, the control lost them
	sleep $((t_idle + 90 - SECONDS))
	echo after >"$LAB_DIR/i.fifo"
	echo after >"$LAB_DIR/n.fifo"
	wait_for 10 grep -qs '^after$' "$LAB_DIR/i.out" || t_fail "no echo after 90 s idle with keepalive"
	wait_for 5 grep -qs '^after$' "$LAB_DIR/n.out" &&
		t_fail "the session without keepalive still worked after 90 s: the NATs did not forget it (the check proves nothing)"
	release i
	peer_wait i 10; rc=$?
	expect_exit "the idle session" $rc 0
	[ "$(tr '\n' ' ' <"$LAB_DIR/i.out")" = "before after " ] ||
		t_fail "the idle session printed '$(tr '\n' ' ' <"$LAB_DIR/i.out")'"
	release n
	release e
	release h
	kill -TERM "$PID_n" 2>/dev/null
	svc_stop b
	ALLOW_CUT=1 svc_stop b2
}

all_noticed() {
	note_seen d "session $ID_kd .*ended" b
	note_seen e "session $ID_ke .*ended" b
	note_seen v "session $ID_kv .*ended" b
	kill -0 "$PID_h" 2>/dev/null || note_seen h . h
	[ -n "${SEEN_d:-}" ] && [ -n "${SEEN_e:-}" ] && [ -n "${SEEN_v:-}" ] && [ -n "${SEEN_h:-}" ]
}

# registrations NAME: NOTICE lines "registered with" in NAME's log.
registrations() { grep -c "^p2ptcp: registered with" "$LAB_DIR/$1.log" 2>/dev/null; }
registrations_ge() { [ "$(registrations "$1")" -ge "$2" ]; }

case_restart() {
	local rc
	lab_svc || return 1
	keys kc || return 1
	svc b --dir "$LAB_DIR/kb/p2ptcp" --allow "$ID_ka" --allow "$ID_kc" --exec "$(marker_cmd "$LAB_DIR/ran")"
	svc_ready b || return 1
	echo one >"$LAB_DIR/one.in"
	peer c1 ka "$LAB_DIR/one.in"
	peer_wait c1 20; rc=$?
	expect_exit "the peer before the restart" $rc 0
	svc_ready b 2 || return 1
	kill -KILL "$SRV_PID"
	{ wait "$SRV_PID"; } 2>/dev/null    # reaped here, without the shell's "Killed"
	wait_for 10 grep -q "registering again in" "$LAB_DIR/b.log" || t_fail "B did not say it registers again"
	kill -0 "$PID_b" 2>/dev/null || { t_fail "B exited when the server went away"; return 1; }
	# the same server again: same port, same key
	lab_bg "$LAB_S" "$LAB_DIR/srv2.out" "$LAB_DIR/srv2.log" "$RDVD" -v --key-dir "$LAB_DIR/rdvd" \
		--listen "$LAB_S_IP:7450"
	t_log "$LAB_DIR/srv2.log"
	wait_for 5 listening "$LAB_S" 7450 || { t_fail "rendezvousd did not start again"; return 1; }
	wait_for 70 registrations_ge b 2 || { t_fail "B did not register again"; return 1; }
	svc_ready b 3 || return 1
	echo two >"$LAB_DIR/two.in"
	peer c2 kc "$LAB_DIR/two.in"
	peer_wait c2 20; rc=$?
	expect_exit "the peer after the restart" $rc 0
	[ "$(cat "$LAB_DIR/c2.out")" = two ] || t_fail "the peer after the restart got '$(cat "$LAB_DIR/c2.out")'"
	[ "$(tr '\n' ' ' <"$LAB_DIR/ran" 2>/dev/null)" = "$ID_ka $ID_kc " ] ||
		t_fail "children ran for '$(tr '\n' ' ' <"$LAB_DIR/ran" 2>/dev/null)'"
	svc_stop b
}

# --- bad peers and many of them ------------------------------------------------------------

# rss_kib PID: resident memory of PID in KiB.
rss_kib() { sed -nE 's/^VmRSS:[[:space:]]+([0-9]+) kB/\1/p' "/proc/$1/status" 2>/dev/null; }

# child_of NAME PATTERN: a process in B whose command line matches PATTERN runs.
proc_in_b() {
	local p
	for p in $(ip netns pids "$LAB_B"); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$1" && return 0
	done
	return 1
}

case_noread() {
	local rc rss reader
	lab_svc || return 1
	keys kc || return 1
	svc b --dir "$LAB_DIR/kb/p2ptcp" --exec "case \$P2PTCP_PEER_ID in
		$ID_kc) exec head -c $((64 * MiB)) /dev/zero ;; *) exec cat ;; esac"
	svc_ready b || return 1
	# kc never reads: its standard output is a FIFO whose reader never reads
	mkfifo "$LAB_DIR/nr.out" || return 1
	sleep 3600 <"$LAB_DIR/nr.out" &
	reader=$!
	lab_track $reader
	hold nr || return 1
	PEER_OUT=$LAB_DIR/nr.out peer nr kc "$LAB_DIR/nr.fifo"
	wait_for 20 grep -q "peer ${ID_kc:0:12}: child .* runs" "$LAB_DIR/b.log" ||
		{ t_fail "the non-reader's child did not start"; return 1; }
	# meanwhile another peer: 16 MiB each way (echoed by its child)
	ENG_WRAP="env XDG_CONFIG_HOME=$LAB_DIR/ka" eng_start ea "$LAB_A" $N 1 - connect "$ID_kb"
	peer_wait ea; rc=$?
	expect_exit "the peer beside the non-reader" $rc 0
	expect_eng_data ea $N 1
	# the non-reader's window is closed: its session goes on, its child is
	# blocked with most of its 64 MiB, and B holds no more than its buffers
	grep -q "session ${ID_kc}" "$LAB_DIR/b.log" && t_fail "the non-reader's session ended"
	proc_in_b "head -c $((64 * MiB))" || t_fail "the non-reader's child finished: its bytes went somewhere"
	rss=$(rss_kib "$PID_b")
	echo "    listener RSS with a non-reader and 64 MiB pending: $((rss / 1024)) MiB"
	[ "${rss:-999999}" -lt $((32 * 1024)) ] || t_fail "the listener holds $rss KiB: it buffers the non-reader's bytes"
	# the reader goes away: connect ends, B's session ends, B goes on
	kill "$reader"
	peer_wait nr 15; rc=$?
	expect_exit "the non-reader after its reader went away" $rc 0
	wait_for 15 grep -q "session ${ID_kc} " "$LAB_DIR/b.log" || t_fail "B did not end the non-reader's session"
	release nr
	svc_stop b
}

BUSY_N=100

case_busy() {
	local i rc n0=0 n6=0 other="" running refused
	lab_svc --max-per-addr 0 --rate 0 || return 1
	svc b --dir "$LAB_DIR/kb/p2ptcp" --exec cat
	svc_ready b || return 1
	for i in $(seq 1 $BUSY_N); do
		keys "q$i" || return 1
	done
	# all of them at once, their input held open until the end
	hold all || return 1
	for i in $(seq 1 $BUSY_N); do
		peer "q$i" "q$i" "$LAB_DIR/all.fifo"
	done
	# (100 p2ptcps starting at once on one host may take a while: see
	# the figure printed below)
	wait_for 180 busy_settled || t_fail "not settled: $(busy_running) running, $(busy_refused) told busy"
	running=$(busy_running)
	refused=$(busy_refused)
	echo "    $running served at once, $refused told busy; the slowest connect took $(cat "$LAB_DIR"/q*.log |
		sed -nE 's/^p2ptcp: \[ *([0-9.]+)\] firewall: .*/\1/p' | sort -n | tail -1) s to set up its node"
	[ "$(grep -c "child .* runs" "$LAB_DIR/b.log")" -eq "$running" ] ||
		t_fail "$(grep -c "child .* runs" "$LAB_DIR/b.log") children for $running running peers"
	grep -q "serving 6[45] peers, the most we take: busy" "$LAB_DIR/b.log" || t_fail "B did not say it is busy"
	release all
	for i in $(seq 1 $BUSY_N); do
		peer_wait "q$i" 30; rc=$?
		case $rc in
		0) n0=$((n0 + 1)) ;;
		"$EXIT_RDV")
			n6=$((n6 + 1))
			grep -q "^p2ptcp: peer '$ID_kb' is busy" "$LAB_DIR/q$i.log" ||
				t_fail "q$i exited $EXIT_RDV without saying busy: $(grep -v '^p2ptcp: \[' "$LAB_DIR/q$i.log" | tail -1)" ;;
		*) other="$other q$i:$rc" ;;
		esac
	done
	[ -z "$other" ] || t_fail "other exits:$other"
	[ $n0 -ge 64 ] && [ $n0 -le 65 ] || t_fail "$n0 peers served, want 64 (65 with the race)"
	[ $((n0 + n6)) -eq $BUSY_N ] || t_fail "$n0 served + $n6 busy != $BUSY_N"
	# B is still up and serves the next one
	kill -0 "$PID_b" 2>/dev/null || { t_fail "B is gone"; return 1; }
	svc_ready b $((n0 + 1)) || return 1
	echo hello >"$LAB_DIR/next.in"
	peer next ka "$LAB_DIR/next.in"
	peer_wait next 20; rc=$?
	expect_exit "the peer after the crowd" $rc 0
	[ "$(cat "$LAB_DIR/next.out")" = hello ] || t_fail "the peer after the crowd got '$(cat "$LAB_DIR/next.out")'"
	svc_stop b
}

busy_running() {
	local i n=0 pid
	for i in $(seq 1 $BUSY_N); do
		eval "pid=\${PID_q$i}"
		kill -0 "$pid" 2>/dev/null && n=$((n + 1))
	done
	echo $n
}
busy_refused() { grep -l "is busy: it serves" "$LAB_DIR"/q*.log 2>/dev/null | wc -l; }
busy_settled() {
	local r
	r=$(busy_running)
	[ "$r" -le 65 ] && [ $((r + $(busy_refused))) -eq $BUSY_N ] &&
		[ "$(grep -c "child .* runs" "$LAB_DIR/b.log")" -eq "$r" ]
}

rdv_init || exit 1
for c in ${SERVICE_CASES:-ssh hup stall garbage liar idle restart noread busy}; do
	case $c in
	ssh) t_run "service ssh: 10 ssh sessions in a row, 4 at once, scp 64 MiB beside an open one" case_ssh ;;
	hup) t_run "service hup: SIGHUP to connect sends our FIN, the far child sees end of file" case_hup ;;
	stall) t_run "service stall: a peer without HELLO delays no one, reset at the handshake deadline" case_stall ;;
	garbage) t_run "service garbage: garbage instead of the HELLO is refused, no child, next served" case_garbage ;;
	liar) t_run "service liar: no child for an id only the rendezvous server vouches for" case_liar ;;
	idle) t_run "service idle: 90 s idle behind 60 s NAT timeouts; SIGKILLed peers noticed in 60 s" case_idle ;;
	restart) t_run "service restart: rendezvousd restarts, the listener registers again and serves" case_restart ;;
	noread) t_run "service noread: a peer that never reads closes its window, others unaffected" case_noread ;;
	busy) t_run "service busy: 100 peers at once, 64 served, the rest told busy (exit 6)" case_busy ;;
	*) echo "unknown case '$c'"; exit 2 ;;
	esac
done
t_summary
