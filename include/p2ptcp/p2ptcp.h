/* libp2ptcp: direct TCP connections between peers behind NATs.
 *
 * The library's one public header. So far it holds what the whole
 * project shares: the error codes, one space for the engine, the secure
 * channel, the rendezvous and the host, with ptcp_strerror(); and the log
 * levels. */
#ifndef P2PTCP_H
#define P2PTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p2ptcp/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- errors: one space for the whole library ---------------------------- */

enum ptcp_error {
	PTCP_OK = 0,

	/* Arguments, state and the TCP connection (-1 .. -31). */
	PTCP_ERR_INVAL = -1,          /* an argument is out of range */
	PTCP_ERR_NOMEM = -2,          /* out of memory */
	PTCP_ERR_TRUNCATED = -3,      /* segment shorter than its headers say */
	PTCP_ERR_BAD_OFFSET = -4,     /* data offset < 5 words or past the end */
	PTCP_ERR_BAD_OPTION = -5,     /* a TCP option's length is malformed */
	PTCP_ERR_CHECKSUM = -6,       /* TCP checksum does not match */
	PTCP_ERR_NOBUF = -7,          /* the caller's buffer is too small */
	PTCP_ERR_STATE = -8,          /* the call is not allowed in this state */
	PTCP_ERR_CLOSED = -9,         /* closed for this direction */
	PTCP_ERR_RESET = -10,         /* the connection was reset */
	PTCP_ERR_REFUSED = -11,       /* the peer refused the connection */
	PTCP_ERR_TIMEOUT = -12,       /* retransmissions exhausted */
	PTCP_ERR_ISN_MISMATCH = -13,  /* the peer's SYN carried another ISN than agreed */
	PTCP_ERR_ABORTED = -14,       /* the local application aborted */
	PTCP_ERR_EXISTS = -15,        /* a connection with this 4-tuple exists */
	PTCP_ERR_NOTFOUND = -16,      /* no such connection */
	PTCP_ERR_KEEPALIVE = -17,     /* keepalive probes went unanswered */
	PTCP_ERR_CONN_LIMIT = -18,    /* as many connections as allowed exist */
	PTCP_ERR_MEM_LIMIT = -19,     /* a connection would pass a memory bound */
	PTCP_ERR_EOF = -20,           /* the peer ended its stream; all was read */
	PTCP_ERR_USER_TIMEOUT = -21,  /* data went unacknowledged too long */

	/* The secure channel: what the peer or the path did (-64 .. -95). */
	PTCP_ERR_CH_PROTOCOL = -64,   /* the peer does not speak the channel */
	PTCP_ERR_CH_VERSION = -65,    /* the peer speaks another channel version */
	PTCP_ERR_CH_ROLE = -66,       /* both sides play the same role */
	PTCP_ERR_CH_SELF = -67,       /* the peer's id is our own */
	PTCP_ERR_CH_WRONG_PEER = -68, /* the peer is not the expected peer id */
	PTCP_ERR_CH_NOT_ALLOWED = -69,/* authenticated, but not allowed */
	PTCP_ERR_CH_AUTH = -70,       /* the peer's signature does not verify */
	PTCP_ERR_CH_WEAK_KEY = -71,   /* the peer's ephemeral key is weak */
	PTCP_ERR_CH_HANDSHAKE_EOF = -72, /* the stream ended during the handshake */
	PTCP_ERR_CH_MALFORMED = -73,  /* a record header is invalid */
	PTCP_ERR_CH_TAMPERED = -74,   /* a record failed authentication */
	PTCP_ERR_CH_REPLAY = -75,     /* a record arrived a second time */
	PTCP_ERR_CH_REORDER = -76,    /* a record arrived out of order */
	PTCP_ERR_CH_TRUNCATED = -77,  /* the stream ended before its end record */
	PTCP_ERR_CH_TRAILING = -78,   /* bytes followed the end record */
	PTCP_ERR_CH_EXHAUSTED = -79,  /* record sequence numbers ran out */
	PTCP_ERR_CH_CRYPTO = -80,     /* libsodium cannot initialise */
	PTCP_ERR_HANDSHAKE_TIMEOUT = -81, /* the peer did not finish the channel
	                                     handshake in time */

	/* The rendezvous and reaching the peer (-96 .. -127). */
	PTCP_ERR_RDV_UNREACHABLE = -96,  /* the server cannot be reached */
	PTCP_ERR_RDV_RESOLVE = -97,      /* the server's name does not resolve */
	PTCP_ERR_RDV_PROTOCOL = -98,     /* the server broke the protocol */
	PTCP_ERR_RDV_KEY = -99,          /* the server's key is not the pinned one */
	PTCP_ERR_RDV_REFUSED = -100,     /* the server refused us (limits, version) */
	PTCP_ERR_UNKNOWN_PEER = -101,    /* the peer id is not registered */
	PTCP_ERR_NOT_AUTHORISED = -102,  /* the peer does not allow us */
	PTCP_ERR_NOT_WAITING = -103,     /* the peer is registered but did not listen in time */
	PTCP_ERR_SELF = -104,            /* the peer id is our own */
	PTCP_ERR_BUSY = -105,            /* the peer serves as many peers as it will */
	PTCP_ERR_SYMMETRIC_NAT = -106,   /* our NAT gives every flow a new port */
	PTCP_ERR_PUNCH_TIMEOUT = -107,   /* no connection within the punching window */
	PTCP_ERR_NO_RENDEZVOUS = -108,   /* the call needs a rendezvous server */

	/* This host (-128 .. -159). */
	PTCP_ERR_PERM = -128,         /* missing CAP_NET_RAW or CAP_NET_ADMIN */
	PTCP_ERR_ADDRINUSE = -129,    /* another socket holds the local port */
	PTCP_ERR_PORT_SERVED = -130,  /* another p2ptcp serves the local port */
	PTCP_ERR_ADDRNOTAVAIL = -131, /* the local address is not this host's */
	PTCP_ERR_FIREWALL = -132,     /* nftables cannot be used */
	PTCP_ERR_IDENTITY = -133,     /* our key cannot be loaded */
	PTCP_ERR_SYSTEM = -134,       /* a system call failed (the log says which) */
};

/* A one-line English description of err. Unknown values give "unknown
 * error". Never returns NULL. */
const char *ptcp_strerror(int err);

/* --- logging --------------------------------------------------------------- */

enum ptcp_log_level {
	PTCP_LOG_ERROR = 0,   /* a failure of the node or of a peer */
	PTCP_LOG_WARN,        /* something a user should know */
	PTCP_LOG_NOTICE,      /* one line per session, registrations (the default) */
	PTCP_LOG_INFO,        /* steps: states, punching, the channel (-v) */
	PTCP_LOG_DEBUG,       /* every segment (-vv) */
};

#ifdef __cplusplus
}
#endif

#endif
