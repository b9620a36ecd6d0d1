#!/bin/bash
# The secure channel end to end (docs/security.md), in the two-NAT lab with
# rendezvousd on S, as in test_punch.sh:
#   - encrypted connect/listen, 16 MiB each way with hashes compared, and
#     "secure channel established" in both -v logs;
#   - a capture on NAT A's outside link: a known marker string sent both
#     ways is not on the wire with encryption, and is with --no-encrypt;
#   - tampering: NAT B overwrites 4 payload bytes (at offset 100) of the
#     first large data segment from A after the handshake (nftables payload
#     mangling, the kernel fixes the checksum): B must stop with the tamper
#     message and exit status 8, and write no byte of that record (nor any
#     byte A did not send) to its stdout;
#   - a malicious rendezvous (tests/tools/rdvmitm server --redirect on S):
#     A asks for B but is matched with C, a listener with another key, under
#     B's id: A must stop with the wrong-peer message and exit status 8;
#   - the rendezvous server's key pinned: with its id, A and B meet; with
#     another id, A stops before asking for anyone (exit 6) with one line
#     quoting both ids;
#   - trust on first use (known_servers): an unpinned first contact
#     registers the 1-RTT way and records the server's key, the next one
#     pins it and registers in one flight; a read-only key directory is a
#     warning, a malformed line an error quoting it; the server back with
#     another key is refused (exit 6) with the file and line named, and
#     --rendezvous-key with the new key replaces the record;
#   - a --no-encrypt connector facing an encrypted listener: the listener
#     stops with exit status 8 and writes nothing;
#   - with the channel up, a one-shot connect and listen hold no copy of
#     their identity seed in memory (tests/tools/memfind), a server does.
# Ends with "netns: P passed, F failed".
# shellcheck disable=SC2034,SC2154
# (key() sets ID_<name> with eval)
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))
EXIT_CHANNEL=8
RDVMITM=${RDVMITM:-$BUILD/tests/tools/rdvmitm}
MARKER=XYZZY-PLAINTEXT-MARKER-0123456789

expect_log() {
	grep -qF -- "$2" "$LAB_DIR/$1.log" || t_fail "no '$2' in $1.log"
}

# (1) 16 MiB each way through the channel.
case_bulk() {
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	srv_start || return 1
	key ka && key kb || return 1
	eng_start eb "$LAB_B" $N 2 - listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kb/p2ptcp" \
		--allow "$ID_ka" --timeout 30
	wait_for 10 waiting eb || { t_fail "the listener did not register"; return 1; }
	eng_start ea "$LAB_A" $N 1 - connect "$ID_kb" --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/ka/p2ptcp"
	peer_wait ea; expect_exit "p2ptcp connect" $?
	peer_wait eb; expect_exit "p2ptcp listen" $?
	expect_eng_data ea "$N" 2
	expect_eng_data eb "$N" 1
	expect_log ea "secure channel established (initiator)"
	expect_log eb "secure channel established (responder)"
	expect_no_tables "$LAB_A"
	expect_no_tables "$LAB_B"
}

# marker_file FILE: 256 KiB of lines carrying the marker.
marker_file() {
	local i
	for i in $(seq 1 4096); do
		printf '%s %058d\n' "$MARKER" "$i"
	done >"$1"
}

# (2) the marker on NAT A's outside link: absent encrypted, present plain.
# marker_run NAME [--no-encrypt]
marker_run() {
	local name=$1 cap ra rb
	shift
	marker_file "$LAB_DIR/marker.txt"
	lab_capture_start "$LAB_INET" pa "$LAB_DIR/$name.pcap" tcp and not port 7450 || return 1
	cap=$LAB_CAP_PID
	t_log "$LAB_DIR/$name-b.log"
	t_log "$LAB_DIR/$name-a.log"
	ip netns exec "$LAB_B" "$P2PTCP" listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kb/p2ptcp" \
		--timeout 30 -v "$@" <"$LAB_DIR/marker.txt" >"$LAB_DIR/$name-b.out" 2>"$LAB_DIR/$name-b.log" &
	PID_mb=$!
	lab_track $PID_mb
	wait_for 10 grep -qs "waiting for a peer" "$LAB_DIR/$name-b.log" ||
		{ t_fail "the listener did not register"; return 1; }
	ip netns exec "$LAB_A" "$P2PTCP" connect "$ID_kb" --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/ka/p2ptcp" -v "$@" <"$LAB_DIR/marker.txt" >"$LAB_DIR/$name-a.out" \
		2>"$LAB_DIR/$name-a.log" &
	PID_ma=$!
	lab_track $PID_ma
	peer_wait ma 60; ra=$?
	peer_wait mb 60; rb=$?
	lab_capture_stop "$cap"
	expect_exit "$name: connect" $ra
	expect_exit "$name: listen" $rb
	cmp -s "$LAB_DIR/marker.txt" "$LAB_DIR/$name-a.out" || t_fail "$name: A received other bytes"
	cmp -s "$LAB_DIR/marker.txt" "$LAB_DIR/$name-b.out" || t_fail "$name: B received other bytes"
}

case_marker() {
	local n
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	srv_start || return 1
	key ka && key kb || return 1
	marker_run enc || return 1
	n=$(grep -acF "$MARKER" "$LAB_DIR/enc.pcap")
	[ "$n" -eq 0 ] || t_fail "encrypted: the marker is on the wire ($n times)"
	[ "$(lab_pcap_count "$LAB_DIR/enc.pcap" 'tcp[tcpflags] & tcp-push != 0 or len > 200')" -gt 10 ] ||
		t_fail "encrypted: the capture holds no data segments"
	marker_run plain --no-encrypt || return 1
	n=$(grep -acF "$MARKER" "$LAB_DIR/plain.pcap")
	[ "$n" -gt 0 ] || t_fail "--no-encrypt: the marker is not on the wire (capture broken?)"
	grep -q "secure channel established" "$LAB_DIR/plain-a.log" && t_fail "--no-encrypt ran the channel"
	return 0
}

# (3) NAT B overwrites 4 bytes at payload offset 100 (inside the first
# record's ciphertext, past its header) of the first large segment A
# sends after the handshake (the handshake's segments are small).
case_tamper() {
	local ra rb got n
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	ip netns exec "$LAB_NB" nft -f - <<-EOF || { t_fail "nftables cannot mangle payloads here"; return 1; }
	table inet tamper {
		chain tamper_fwd {
			type filter hook forward priority -10;
			iifname "wan0" meta l4proto tcp meta length > 1000 quota until 1600 bytes @ih,800,32 set 0x5a5a5a5a counter
		}
	}
	EOF
	srv_start || return 1
	key ka && key kb || return 1
	eng_start eb "$LAB_B" $N 2 - listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kb/p2ptcp" --timeout 30
	wait_for 10 waiting eb || { t_fail "the listener did not register"; return 1; }
	eng_start ea "$LAB_A" $N 1 - connect "$ID_kb" --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/ka/p2ptcp"
	peer_wait eb 30; rb=$?
	peer_wait ea 30; ra=$?
	expect_exit "the tampered-with listener" $rb $EXIT_CHANNEL
	expect_log eb "secure channel failed: a record failed authentication"
	[ "$ra" -ne 0 ] || t_fail "the connector exited 0 after the peer's abort"
	# a record is at most 16 KiB: B may have written the records before
	# the tampered one, never anything from it on
	wait_for 5 grep -q "bytes=" "$LAB_DIR/eb.hash"
	got=$(grep -o 'bytes=[0-9]* hash=[0-9a-f]*' "$LAB_DIR/eb.hash" | head -1)
	n=${got#bytes=}
	n=${n%% *}
	if [ -z "$n" ] || [ "$n" -ge "$N" ]; then
		t_fail "the listener received '$got', want fewer than $N bytes"
	fi
	[ "$got" = "$(sum "${n:-0}" 1)" ] || t_fail "the listener wrote bytes that A did not send: $got"
	echo "    the listener wrote ${n:-?} verified bytes before the tampered record"
	ip netns exec "$LAB_NB" nft list table inet tamper | grep -q "counter packets 1 " ||
		t_fail "the tamper rule did not fire exactly once: $(ip netns exec "$LAB_NB" nft list table inet tamper | grep counter)"
	expect_no_tables "$LAB_B"
	expect_no_tables "$LAB_A"
}

# (4) the server answers A's CONNECT for B with C's listener: rdvmitm
# plays a rendezvous server that lies.
case_wrong_peer() {
	local ra rc
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	key ka && key kb && key kc || return 1
	"$RDVD" --keygen --key-dir "$LAB_DIR/evil" >/dev/null || { t_fail "rendezvousd --keygen"; return 1; }
	lab_bg "$LAB_S" "$LAB_DIR/evil.out" "$LAB_DIR/evil.err" "$RDVMITM" server \
		--listen "$LAB_S_IP:7450" --key "$LAB_DIR/evil" --redirect --hold 60
	t_log "$LAB_DIR/evil.out"
	t_log "$LAB_DIR/evil.err"
	wait_for 5 grep -qs '^listening' "$LAB_DIR/evil.out" || { t_fail "rdvmitm did not start"; return 1; }
	# B is registered and listening, as A expects; C is the third party
	eng_start eb "$LAB_B" 1000 2 - listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kb/p2ptcp" --timeout 8
	wait_for 10 waiting eb || { t_fail "B did not register"; return 1; }
	eng_start ec "$LAB_S" 1000 3 - listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kc/p2ptcp" --timeout 30
	wait_for 10 waiting ec || { t_fail "C did not register"; return 1; }
	eng_start ea "$LAB_A" 1000 1 - connect "$ID_kb" --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/ka/p2ptcp"
	peer_wait ea 30; ra=$?
	peer_wait ec 30; rc=$?
	expect_exit "A, matched with the wrong peer" $ra $EXIT_CHANNEL
	expect_log ea "secure channel failed: the peer is not the expected peer id"
	[ "$rc" -ne 0 ] || t_fail "C exited 0"
	grep -q "^match asker=$ID_ka peer=$ID_kc claimed=$ID_kb\$" "$LAB_DIR/evil.out" ||
		t_fail "the server did not lie"
	[ -s "$LAB_DIR/ea.hash" ] && grep -q "bytes=[1-9]" "$LAB_DIR/ea.hash" &&
		t_fail "A wrote bytes to stdout: $(cat "$LAB_DIR/ea.hash")"
	peer_wait eb 20 >/dev/null
	expect_no_tables "$LAB_A"
	return 0
}

# (5) the server's key pinned, right and wrong.
case_pin() {
	local ra other
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	srv_start || return 1
	key ka && key kb || return 1
	eng_start eb "$LAB_B" 1000 2 - listen --rendezvous "$RDVD_ID@$LAB_S_IP" \
		--dir "$LAB_DIR/kb/p2ptcp" --timeout 30
	wait_for 10 waiting eb || { t_fail "the listener did not register"; return 1; }
	eng_start ea "$LAB_A" 1000 1 - connect "$ID_kb" --rendezvous "$LAB_S_IP" \
		--rendezvous-key "$RDVD_ID" --dir "$LAB_DIR/ka/p2ptcp"
	peer_wait ea; expect_exit "pinned connect" $?
	peer_wait eb; expect_exit "pinned listen" $?
	expect_eng_data ea 1000 2
	expect_log ea "the rendezvous server's key is $RDVD_ID (pinned)"
	# another id (a peer's, here): refused before any request
	other=$ID_kb
	eng_start eb2 "$LAB_B" 1000 2 - listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kb/p2ptcp" --timeout 30
	wait_for 10 waiting eb2 || { t_fail "the listener did not register"; return 1; }
	eng_start ea2 "$LAB_A" 1000 1 - connect "$ID_kb" --rendezvous "$other@$LAB_S_IP" \
		--dir "$LAB_DIR/ka/p2ptcp"
	peer_wait ea2 30; ra=$?
	expect_exit "connect with a wrong pin" $ra 6
	expect_log ea2 "has the key $RDVD_ID, not the pinned key $other"
	# one error line (the others are -v's, with a time stamp)
	[ "$(grep -c '^p2ptcp: [^[]' "$LAB_DIR/ea2.log")" -eq 1 ] ||
		t_fail "want one error line: $(grep '^p2ptcp: [^[]' "$LAB_DIR/ea2.log" | tr '\n' '|')"
	# the CONNECT behind A's HELLO0 (0-RTT) went before the key was
	# known; the server dropped it, and nothing was asked after
	grep "asking .* for peer" "$LAB_DIR/ea2.log" | grep -vq "0-RTT: behind the HELLO" &&
		t_fail "A asked for the peer despite the wrong key"
	kill -TERM "$PID_eb2"
	peer_wait eb2 10 >/dev/null
	expect_no_tables "$LAB_A"
}

# (5b) a rendezvous server older than 0-RTT (rdvmitm server, which takes
# HELLO0 for a message out of order, as a version-2 server before it took
# it for an unknown type): both pinned peers try HELLO0, are refused, and
# register again at once the 1-RTT way; they meet.
case_old_server() {
	local id
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	key ka && key kb || return 1
	"$RDVD" --keygen --key-dir "$LAB_DIR/old" >/dev/null || { t_fail "rendezvousd --keygen"; return 1; }
	id=$("$RDVD" --id --key-dir "$LAB_DIR/old")
	lab_bg "$LAB_S" "$LAB_DIR/old.out" "$LAB_DIR/old.err" "$RDVMITM" server \
		--listen "$LAB_S_IP:7450" --key "$LAB_DIR/old" --start-ms 0 --hold 60
	t_log "$LAB_DIR/old.out"
	t_log "$LAB_DIR/old.err"
	wait_for 5 grep -qs '^listening' "$LAB_DIR/old.out" || { t_fail "rdvmitm did not start"; return 1; }
	eng_start eb "$LAB_B" 1000 2 - listen --rendezvous "$id@$LAB_S_IP" --dir "$LAB_DIR/kb/p2ptcp" \
		--timeout 30
	wait_for 10 waiting eb || { t_fail "the listener did not register"; return 1; }
	eng_start ea "$LAB_A" 1000 1 - connect "$ID_kb" --rendezvous "$id@$LAB_S_IP" \
		--dir "$LAB_DIR/ka/p2ptcp"
	peer_wait ea; expect_exit "pinned connect, old server" $?
	peer_wait eb; expect_exit "pinned listen, old server" $?
	expect_eng_data ea 1000 2
	expect_eng_data eb 1000 1
	expect_log ea "(it does not take a 0-RTT HELLO); registering again the 1-RTT way"
	expect_log eb "(it does not take a 0-RTT HELLO); registering again the 1-RTT way"
	expect_log ea "the rendezvous server's key is $id (pinned)"
	expect_no_tables "$LAB_A"
}

# tofu_meet L C DIR: B (key kb) listens unpinned as L, A connects as C with
# its key in DIR; both must end well, 1000 bytes each way.
tofu_meet() {
	eng_start "$1" "$LAB_B" 1000 2 - listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kb/p2ptcp" \
		--timeout 30
	wait_for 10 waiting "$1" || { t_fail "the listener $1 did not register"; return 1; }
	eng_start "$2" "$LAB_A" 1000 1 - connect "$ID_kb" --rendezvous "$LAB_S_IP" --dir "$3"
	peer_wait "$2"; expect_exit "connect $2" $?
	peer_wait "$1"; expect_exit "listen $1" $?
	expect_eng_data "$2" 1000 2
}

# (5c) trust on first use: known_servers in each peer's key directory.
case_tofu() {
	local ka=$LAB_DIR/ka/p2ptcp kb=$LAB_DIR/kb/p2ptcp kc=$LAB_DIR/kc/p2ptcp ra new srv
	local name
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	name=$LAB_S_IP:7450
	srv_start || return 1
	srv=$LAB_LAST_PID
	key ka && key kb && key kc || return 1
	# first contact, both unpinned: an open HELLO0, and both record the key
	tofu_meet eb ea "$ka" || return 1
	expect_log ea "(0-RTT, open: for the server at that address)"
	expect_log ea "the rendezvous server's key is $RDVD_ID (not pinned"
	expect_log ea "recorded the key $RDVD_ID of rendezvous server $name in $ka/known_servers:3"
	expect_log eb "recorded the key $RDVD_ID of rendezvous server $name in $kb/known_servers:3"
	grep -qx "$name $RDVD_ID" "$ka/known_servers" || t_fail "A's known_servers: $(cat "$ka/known_servers")"
	[ "$(stat -c %a "$ka/known_servers")" = 600 ] || t_fail "known_servers has mode $(stat -c %a "$ka/known_servers")"
	# the next contact pins the recorded key: 0-RTT, and nothing written
	cp "$ka/known_servers" "$LAB_DIR/ka.before"
	tofu_meet eb2 ea2 "$ka" || return 1
	expect_log ea2 "(0-RTT: its key is pinned)"
	expect_log ea2 "(0-RTT: in one flight)"
	expect_log ea2 "the rendezvous server's key is $RDVD_ID (pinned)"
	expect_log eb2 "(0-RTT: in one flight)"
	grep -q "registered $ID_ka at .*, 0-RTT" "$LAB_DIR/srv.log" ||
		t_fail "the server did not see A register in one flight"
	grep -q "recorded the key" "$LAB_DIR/ea2.log" && t_fail "A recorded the key again"
	cmp -s "$ka/known_servers" "$LAB_DIR/ka.before" || t_fail "A's known_servers changed"
	# a directory we cannot write: a warning, and the connection as before
	# (a read-only bind mount in ip netns exec's own mount namespace)
	printf '#!/bin/sh\nmount --bind "%s" "%s" && mount -o remount,bind,ro "%s" && exec "$@"\n' \
		"$kc" "$kc" "$kc" >"$LAB_DIR/ro.sh" && chmod +x "$LAB_DIR/ro.sh"
	ENG_WRAP=$LAB_DIR/ro.sh tofu_meet eb3 ec "$kc" || return 1
	expect_log ec "p2ptcp: cannot record the rendezvous server's key in $kc/known_servers: Read-only file system (the next contact is unpinned again)"
	[ -e "$kc/known_servers" ] && t_fail "known_servers appeared in the read-only directory"
	# a malformed line: the command stops at once, quoting it
	echo "$name not-an-id" >>"$ka/known_servers"
	ip netns exec "$LAB_A" "$P2PTCP" connect "$ID_kb" --rendezvous "$LAB_S_IP" --dir "$ka" \
		</dev/null >/dev/null 2>"$LAB_DIR/bad.log"
	ra=$?
	t_log "$LAB_DIR/bad.log"
	expect_exit "connect with a malformed known_servers" $ra 2
	expect_log bad "p2ptcp: $ka/known_servers:4: malformed line '$name not-an-id' (want 'HOST:PORT SERVER-ID'; fix or delete it)"
	sed -i '$d' "$ka/known_servers"
	# the server back with another key: refused, naming the file and line
	kill -TERM "$srv"
	lab_wait_pid "$srv" 10 >/dev/null
	lab_bg "$LAB_S" "$LAB_DIR/srv2.out" "$LAB_DIR/srv2.log" "$RDVD" -v --key-dir "$LAB_DIR/rdvd2" \
		--listen "$LAB_S_IP:7450"
	t_log "$LAB_DIR/srv2.log"
	wait_for 5 listening "$LAB_S" 7450 || { t_fail "the second rendezvousd did not start"; return 1; }
	new=$("$RDVD" --id --key-dir "$LAB_DIR/rdvd2")
	eng_start ea3 "$LAB_A" 1000 1 - connect "$ID_kb" --rendezvous "$LAB_S_IP" --dir "$ka"
	peer_wait ea3 30; ra=$?
	expect_exit "connect to a server with another key" $ra 6
	expect_log ea3 "has the key $new, not the pinned key $RDVD_ID"
	expect_log ea3 "the key pinned is the one recorded in $ka/known_servers:3: if the server's key changed on purpose, delete that line or give --rendezvous-key"
	[ "$(grep -c '^p2ptcp: [^[]' "$LAB_DIR/ea3.log")" -eq 1 ] ||
		t_fail "want one error line: $(grep '^p2ptcp: [^[]' "$LAB_DIR/ea3.log" | tr '\n' '|')"
	cmp -s "$ka/known_servers" "$LAB_DIR/ka.before" || t_fail "A's known_servers changed"
	# a listener refused so tries again, and says once where the record is
	eng_start eb4 "$LAB_B" 1000 2 - listen --rendezvous "$LAB_S_IP" --dir "$kb" --timeout 3
	peer_wait eb4 20 >/dev/null
	expect_log eb4 "has the key $new, not the pinned key $RDVD_ID"
	expect_log eb4 "p2ptcp: the key pinned for rendezvous server $name is the one recorded in $kb/known_servers:3: if the server's key changed on purpose, delete that line or give --rendezvous-key"
	[ "$(grep -c "the one recorded in" "$LAB_DIR/eb4.log")" -eq 1 ] ||
		t_fail "the listener said where the record is $(grep -c "the one recorded in" "$LAB_DIR/eb4.log") times"
	# ... unless --rendezvous-key says otherwise: the record follows it
	# (B is not registered there: A ends with "unknown peer", exit 6)
	eng_start ea4 "$LAB_A" 1000 1 - connect "$ID_kb" --rendezvous "$LAB_S_IP" --dir "$ka" \
		--rendezvous-key "$new"
	peer_wait ea4 30; ra=$?
	expect_exit "connect with the new key pinned" $ra 6
	expect_log ea4 "unknown peer"
	expect_log ea4 "replaced the key $RDVD_ID of rendezvous server $name in $ka/known_servers:3 with the pinned $new"
	grep -qx "$name $new" "$ka/known_servers" || t_fail "A's known_servers: $(cat "$ka/known_servers")"
	expect_no_tables "$LAB_A"
}

# (6) A runs --no-encrypt, B the channel: B gets bytes that are no HELLO
# and must say so (exit 8) and write nothing.
case_mixed() {
	local rb
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	srv_start || return 1
	key ka && key kb || return 1
	eng_start eb "$LAB_B" 1000 2 - listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kb/p2ptcp" --timeout 30
	wait_for 10 waiting eb || { t_fail "the listener did not register"; return 1; }
	eng_start ea "$LAB_A" 100000 1 - connect "$ID_kb" --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/ka/p2ptcp" --no-encrypt
	peer_wait eb 30; rb=$?
	peer_wait ea 30 >/dev/null
	expect_exit "the encrypted listener facing a plain peer" $rb $EXIT_CHANNEL
	expect_log eb "secure channel failed: the peer does not speak the p2ptcp secure channel"
	wait_for 5 grep -q "bytes=" "$LAB_DIR/eb.hash"
	grep -q "bytes=0 " "$LAB_DIR/eb.hash" || t_fail "the listener wrote: $(cat "$LAB_DIR/eb.hash")"
	expect_no_tables "$LAB_B"
}

MEMFIND=${MEMFIND:-$BUILD/tests/tools/memfind}

# seed_of KEY: the hex seed in KEY's private.key.
seed_of() { sed -n 's/^seed //p' "$LAB_DIR/$1/p2ptcp/private.key"; }

# copies PID KEY: how many times KEY's seed is in PID's memory, as bytes
# and as the key file's hex text.
copies() {
	local s bin txt
	s=$(seed_of "$2")
	bin=$("$MEMFIND" "$1" "$s" 2>>"$LAB_DIR/memfind.log") || return 1
	txt=$("$MEMFIND" "$1" "$(printf '%s' "$s" | od -An -tx1 | tr -d ' \n')" 2>>"$LAB_DIR/memfind.log") || return 1
	echo $((bin + txt))
}

established() { grep -q "secure channel established" "$LAB_DIR/$1.log" 2>/dev/null; }

# (6) A one-shot connect and listen wipe their identity seed once the
# channel has its own copy (which it wipes after its one signature): with
# the channel up and both still running, neither has its seed anywhere in
# memory. A server (listen --exec) keeps its seed for the next peer: its
# memory has it, which shows that the search finds a seed that is there.
case_wipe() {
	local n pid
	t_need_p2ptcp || return
	[ -x "$MEMFIND" ] || { echo "    $T_NAME: $MEMFIND not built"; return 77; }
	lab_two_nat drop with_s || return 1
	srv_start || return 1
	key ka && key kb && key kc || return 1
	eng_start eb "$LAB_B" $N 2 "$LAB_DIR/release" listen --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/kb/p2ptcp" --timeout 30
	wait_for 10 waiting eb || { t_fail "the listener did not register"; return 1; }
	eng_start ea "$LAB_A" $N 1 "$LAB_DIR/release" connect "$ID_kb" --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/ka/p2ptcp"
	wait_for 10 established ea && wait_for 10 established eb ||
		{ t_fail "the channel did not come up"; touch "$LAB_DIR/release"; return 1; }
	n=$(copies "$PID_ea" ka) || t_fail "cannot read connect's memory"
	[ "${n:-1}" -eq 0 ] || t_fail "connect still holds its seed ($n copies) with the channel up"
	n=$(copies "$PID_eb" kb) || t_fail "cannot read listen's memory"
	[ "${n:-1}" -eq 0 ] || t_fail "listen still holds its seed ($n copies) with the channel up"
	ip netns exec "$LAB_B" "$P2PTCP" listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kc/p2ptcp" \
		--exec cat -v </dev/null >/dev/null 2>"$LAB_DIR/srv_c.log" &
	pid=$!
	lab_track $pid
	t_log "$LAB_DIR/srv_c.log"
	if wait_for 10 waiting srv_c; then
		n=$(copies $pid kc) || t_fail "cannot read the server's memory"
		[ "${n:-0}" -ge 1 ] || t_fail "no seed found in a server's memory, which keeps it"
	else
		t_fail "the server did not register"
	fi
	kill -TERM $pid
	touch "$LAB_DIR/release"
	expect_pair ea eb "$N"
	expect_log ea "identity key wiped from memory"
	lab_wait_pid $pid 10 >/dev/null || true
}

rdv_init || exit 1
t_run "secure bulk: encrypted connect/listen, 16 MiB each way" case_bulk
t_run "secure wire: the marker is not on the wire, and is with --no-encrypt" case_marker
t_run "secure tamper: bytes changed on the path end the connection (exit 8)" case_tamper
t_run "secure wrong-peer: a lying rendezvous makes A fail (exit 8)" case_wrong_peer
t_run "secure pin: the rendezvous key pinned: right id meets, wrong id stops (exit 6)" case_pin
t_run "secure old-server: pinned peers fall back from 0-RTT at once and meet" case_old_server
t_run "secure tofu: known_servers records the key on first contact, pins it next (0-RTT), refuses a changed one" case_tofu
t_run "secure mixed: an encrypted peer refuses a --no-encrypt one (exit 8)" case_mixed
t_run "secure wipe: one-shot peers hold no copy of their seed once the channel is up" case_wipe
t_summary
