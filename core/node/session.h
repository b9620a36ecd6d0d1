/* One connection on the wire: the libevent driver around the engine.
 *
 * The session runs on a wire (wire.h: the port, the raw socket, the
 * firewall table, optionally a capture) that the caller opened, or opens
 * one itself; it creates the engine's connection (conn.h) and runs the
 * loop:
 *   - raw socket readable: each segment goes to ptcp_conn_input_bytes();
 *   - one timer, armed at ptcp_conn_expiry() (and at the session's own
 *     deadlines: opening timeout, TIME-WAIT linger);
 *   - in_fd readable: bytes go to ptcp_conn_send(), but only while the
 *     send buffer has space, so a slow peer stalls the reader;
 *   - ptcp_conn_recv() is read only as fast as out_fd takes the bytes, so
 *     a slow reader of out_fd closes the window instead of growing
 *     memory;
 *   - after every event, ptcp_conn_output() is drained to the raw socket;
 *     with cfg.gso, once the connection is established,
 *     ptcp_conn_output_gso() is drained to a packet socket instead
 *     (pktsock.h), in super-segments the kernel cuts up (GSO).
 * End of in_fd shuts our direction down (FIN) once the connection is
 * established; the peer's FIN closes out_fd after its last byte.
 *
 * Regular files and /dev/null cannot be polled; they are read and written
 * directly whenever the connection can take or give bytes. */
#ifndef PTCP_SESSION_H
#define PTCP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "channel.h"
#include "conn.h"

struct ptcp_wire;

/* The SO_MARK our segments carry (ASCII "ptcp"); the firewall rule lets
 * RSTs with this mark through. */
#define PTCP_SESSION_MARK 0x70746370u

enum ptcp_session_status {
	PTCP_SESSION_OK = 0,     /* clean close: every byte delivered both ways */
	PTCP_SESSION_CONN,       /* the connection failed: conn_error says how */
	PTCP_SESSION_PERM,       /* missing CAP_NET_RAW or CAP_NET_ADMIN */
	PTCP_SESSION_FIREWALL,   /* nftables cannot be used */
	PTCP_SESSION_SYSTEM,     /* a system call failed: sys_errno */
	PTCP_SESSION_SIGNAL,     /* SIGINT or SIGTERM: signo; the connection
	                            was aborted (RST) */
	PTCP_SESSION_CHANNEL,    /* the secure channel failed: channel_error
	                            says how; the connection was aborted (RST) */
};

struct ptcp_session_config {
	struct ptcp_wire *wire;       /* the raw socket, port, firewall table
	                                 and capture to run on (wire.h), opened
	                                 by the caller, who keeps it: then
	                                 local and pcap_path are not used. NULL:
	                                 the session opens its own from local,
	                                 mark and pcap_path, and closes it */
	struct ptcp_endpoint local;   /* our address (not 0.0.0.0) and port
	                                 (0 = the kernel picks one) */
	struct ptcp_endpoint remote;  /* the peer; family PTCP_AF_NONE to
	                                 accept any peer (passive only) */
	bool passive;                 /* LISTEN instead of an active OPEN */
	bool has_isn;                 /* open.isn was given; otherwise the
	                                 session draws one (RFC 6528) */
	struct ptcp_open open;        /* ISNs */
	struct ptcp_config conn;      /* engine settings; alloc, on_event and
	                                 user are filled in by the session */
	uint64_t open_timeout;        /* ns from the start to ESTABLISHED,
	                                 0 = only the engine's own limit */
	int64_t linger;               /* ns to stay in TIME-WAIT before
	                                 exiting; < 0 = automatic (twice the
	                                 RTO, enough to ACK a retransmitted
	                                 FIN, at most 2 MSL) */
	const char *pcap_path;        /* NULL = no capture */
	int in_fd;                    /* bytes to send, usually 0 */
	int out_fd;                   /* received bytes, usually 1 */
	uint32_t mark;                /* SO_MARK of our segments */
	bool gso;                     /* once established, send through a
	                                 packet socket with segmentation
	                                 offload (pktsock.h); it bypasses this
	                                 host's netfilter: see docs/driver.md */
	const struct ptcp_channel_config *channel;
	                              /* NULL: the application's bytes go on
	                                 the wire as they are. Otherwise, once
	                                 ESTABLISHED, the secure channel's
	                                 handshake (channel.h) runs over the
	                                 stream, then in_fd's bytes go out as
	                                 records and only verified plaintext
	                                 reaches out_fd; end of in_fd sends the
	                                 end record before the FIN. Read only
	                                 while the session sets up (the channel
	                                 copies what it keeps): see on_ready. */
	void (*on_ready)(void *user); /* NULL, or called once when the session
	                                 is set up and before its first segment:
	                                 cfg.channel, identity_sk included, is
	                                 no longer read, so the caller may wipe
	                                 what only the setup needed */
	void *user;                   /* for on_ready */
};

struct ptcp_session_result {
	enum ptcp_session_status status;
	int conn_error;        /* PTCP_SESSION_CONN: negative enum ptcp_error */
	int sys_errno;         /* PERM, FIREWALL, SYSTEM: errno value */
	int signo;             /* PTCP_SESSION_SIGNAL */
	int channel_error;     /* PTCP_SESSION_CHANNEL: negative enum
	                          ptcp_channel_error (or enum ptcp_error) */
	char msg[384];         /* one line for the user (no program name), ""
	                          for a clean close */
	struct ptcp_endpoint local;   /* the endpoint actually used */
	struct ptcp_stats stats;      /* the engine's counters at the end */
};

/* Fills *cfg with defaults: stdin/stdout, engine defaults from
 * ptcp_config_default(), PTCP_SESSION_MARK, automatic linger. */
void ptcp_session_config_default(struct ptcp_session_config *cfg);

/* Runs one connection to its end, as described above. Returns 0 after a
 * clean close, or -1 with res->status and res->msg saying what went
 * wrong. res is always filled in. */
int ptcp_session_run(const struct ptcp_session_config *cfg, struct ptcp_session_result *res);

#endif
