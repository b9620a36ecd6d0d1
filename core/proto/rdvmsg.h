/* The rendezvous wire protocol, version 2: a sans-IO codec.
 *
 * Every message is a 6-byte header and a body (docs/protocol.md):
 *
 *   0     1     2       3     4           6
 *   +-----+-----+-------+-----+-----------+------------------+
 *   | 'P' | 'T' |version|type | body len  | body ...         |
 *   +-----+-----+-------+-----+-----------+------------------+
 *
 * Integers are big-endian. Each type has a fixed body length or a bounded
 * range, so a receiver knows from the header alone whether to wait for the
 * body or to reject the message (PTCP_RDV_BODY_MAX bounds them all).
 *
 * Parsing checks lengths first, then fills a plain struct; emitting writes
 * exactly the bytes the struct describes, and only the canonical encoding
 * parses (zero padding, known families, printable error text), so
 * parse(emit(m)) == m and emit(parse(b)) == b.
 *
 * Functions return 0 (or a length) on success and the negative of an enum
 * ptcp_rdv_code on failure; the server sends that code back in an ERROR
 * message. Pure code: no libc beyond memcpy/memset, no I/O. */
#ifndef PTCP_RDVMSG_H
#define PTCP_RDVMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define PTCP_RDV_VERSION 2
#define PTCP_RDV_PORT 7450            /* default TCP port of rendezvousd */
#define PTCP_RDV_MAGIC0 'P'
#define PTCP_RDV_MAGIC1 'T'
#define PTCP_RDV_HDR_LEN 6
#define PTCP_RDV_KEY_LEN 32           /* Ed25519 public key (peer or server) */
#define PTCP_RDV_SIG_LEN 64           /* Ed25519 signature */
#define PTCP_RDV_NONCE_LEN 32         /* HELLO's and CHALLENGE's nonces */
#define PTCP_RDV_EP_LEN 19            /* encoded endpoint */
#define PTCP_RDV_ALLOW_MAX 8          /* keys in a LISTEN allow list */
#define PTCP_RDV_TEXT_MAX 120         /* bytes of text in an ERROR */
#define PTCP_RDV_TOKEN_LEN 32         /* a relay token in MATCH (relaymsg.h) */
#define PTCP_RDV_TAIL_MAX 5           /* a request's or MATCH's flags and pattern */
#define PTCP_RDV_BODY_MAX (5 + PTCP_RDV_ALLOW_MAX * PTCP_RDV_KEY_LEN + PTCP_RDV_TAIL_MAX)   /* LISTEN */
#define PTCP_RDV_MSG_MAX (PTCP_RDV_HDR_LEN + PTCP_RDV_BODY_MAX)

enum ptcp_rdv_type {
	PTCP_RDV_HELLO = 1,        /* C->S: public key, nonce, private endpoint */
	PTCP_RDV_CHALLENGE = 2,    /* S->C: server key, nonce, observed endpoint,
	                              the server's signature of the transcript */
	PTCP_RDV_AUTH = 3,         /* C->S: the client's signature of it */
	PTCP_RDV_REGISTERED = 4,   /* S->C: registration done, limits, the
	                              probe port (optional) */
	PTCP_RDV_LISTEN = 5,       /* C->S: wait to be asked (ISN, allow list) */
	PTCP_RDV_CONNECT = 6,      /* C->S: ask for a peer (key, ISN, wait) */
	PTCP_RDV_MATCH = 7,        /* S->C: the other peer, role, start delay */
	PTCP_RDV_PING = 8,         /* C->S: keepalive */
	PTCP_RDV_PONG = 9,         /* S->C: its answer */
	PTCP_RDV_ERROR = 10,       /* S->C: code, fatal flag, text */
	PTCP_RDV_BUSY = 11,        /* C->S: no body; the listener serves as
	                              many peers as it will: askers get
	                              ERROR BUSY until its next LISTEN */
	PTCP_RDV_HELLO0 = 12,      /* C->S: a HELLO that registers at once
	                              (0-RTT): HELLO's fields, the client's
	                              clock, the server key it expects and
	                              its signature of them */
	PTCP_RDV_WELCOME = 13,     /* S->C: the HELLO0 is taken: the observed
	                              endpoint and the server's signature;
	                              REGISTERED follows */
};
#define PTCP_RDV_TYPE_MAX PTCP_RDV_WELCOME

/* Error codes: on the wire in ERROR messages (1..255) and, negated, as the
 * return values of the codec. Codes from 0x100 on are local to a program
 * and never sent. */
enum ptcp_rdv_code {
	PTCP_RDV_E_MALFORMED = 1,      /* bad magic, unknown type, bad body */
	PTCP_RDV_E_TOO_BIG = 2,        /* body length over the type's limit */
	PTCP_RDV_E_VERSION = 3,        /* version mismatch */
	PTCP_RDV_E_UNEXPECTED = 4,     /* message out of order */
	PTCP_RDV_E_NOT_AUTHORISED = 5, /* not registered yet, or the listener
	                                  does not allow this peer */
	PTCP_RDV_E_BAD_SIGNATURE = 6,  /* AUTH signature does not verify */
	PTCP_RDV_E_UNKNOWN_PEER = 7,   /* no peer with that id is registered */
	PTCP_RDV_E_NOT_WAITING = 8,    /* registered, but neither listening nor
	                                  asking for us within the wait */
	PTCP_RDV_E_RATE_LIMITED = 9,   /* too many connections or requests from
	                                  this address */
	PTCP_RDV_E_SERVER_FULL = 10,   /* no room for another client */
	PTCP_RDV_E_TIMEOUT = 11,       /* idle, or a message took too long */
	PTCP_RDV_E_REPLACED = 12,      /* the same peer id registered again on
	                                  another connection */
	PTCP_RDV_E_SELF = 13,          /* asked for our own peer id */
	PTCP_RDV_E_SHUTDOWN = 14,      /* the server is stopping */
	PTCP_RDV_E_INTERNAL = 15,      /* the server failed (out of memory) */
	PTCP_RDV_E_FAMILY = 16,        /* the peer is registered over the other
	                                  IP version: no punching across */
	PTCP_RDV_E_BUSY = 17,          /* the peer said BUSY: it serves as many
	                                  peers as it will (to askers), or the
	                                  answer to the LISTEN a BUSY cancelled */
	PTCP_RDV_E_NOBUF = 0x100,      /* local: output buffer too small */
};
#define PTCP_RDV_E_WIRE_MAX PTCP_RDV_E_BUSY   /* the highest code this version sends */

/* Bounds on what a server sends, which clients enforce (and rendezvousd
 * keeps to), so that a hostile server cannot make a client wait for weeks
 * or ping without pause. */
#define PTCP_RDV_START_MAX_MS 15000     /* MATCH start delay */
#define PTCP_RDV_IDLE_MIN_MS 1000       /* REGISTERED idle timeout */
#define PTCP_RDV_IDLE_MAX_MS 86400000   /* ... one day */
#define PTCP_RDV_WAIT_MAX_MS 3600000    /* REGISTERED max wait: one hour */

/* REGISTERED flags (the optional ninth byte, sent only when some are set). */
#define PTCP_RDV_REG_RELAY 0x01   /* the server runs a relay: a MATCH may
                                     carry a relay offer */
#define PTCP_RDV_REG_PROBE 0x02   /* wire only: a probe port (2 bytes)
                                     follows; the codec sets and clears it
                                     from registered.probe_port */
#define PTCP_RDV_REG_PREDICT 0x04 /* the server passes NAT port patterns:
                                     CONNECT and LISTEN may carry their
                                     flags and pattern, and it puts the
                                     peer's in MATCH for who asks for it */

/* Port prediction (docs/nat-traversal.md, "Symmetric NATs with
 * predictable ports"). A request (CONNECT or LISTEN) of a client behind
 * a symmetric NAT with a pattern may end in a flags byte with
 * PTCP_RDV_REQ_PATTERN and the pattern behind it (last port, 2 bytes;
 * delta, 2 bytes, signed); it is sent only to a server whose REGISTERED
 * has PTCP_RDV_REG_PREDICT. A MATCH from such a server may end (after the
 * relay offer, if any) in a flags byte of its own, with the peer's
 * pattern behind it likewise. Every client registered with it can take
 * them: a client that refuses PREDICT has left at REGISTERED. */
#define PTCP_RDV_REQ_PATTERN 0x02   /* wire only: our NAT's pattern
                                       follows; the codec sets and clears
                                       it from pattern.delta */
#define PTCP_RDV_MATCH_PREDICTED 0x01  /* the peer punches the ports our
                                          NAT will likely give us: punch,
                                          although it is symmetric */
#define PTCP_RDV_MATCH_PATTERN 0x02    /* wire only: the peer's pattern
                                          follows: aim at its predicted
                                          ports */

/* A symmetric NAT's sequential allocation: the port of our last
 * connection as the server saw it, and the step between new flows. */
struct ptcp_rdv_pattern {
	uint16_t last_port;   /* never 0 with a delta */
	int16_t delta;        /* 0: no pattern (not on the wire) */
};

/* ERROR flags. */
#define PTCP_RDV_ERR_FATAL 0x01   /* the server closes the connection after it */

enum ptcp_rdv_role {
	PTCP_RDV_ROLE_INITIATOR = 1,  /* starts the peers' encrypted handshake */
	PTCP_RDV_ROLE_RESPONDER = 2,
};

struct ptcp_rdv_header {
	uint8_t version;
	uint8_t type;        /* enum ptcp_rdv_type */
	uint16_t len;        /* body bytes after the header */
};

struct ptcp_rdv_msg {
	uint8_t type;        /* enum ptcp_rdv_type; selects the member below */
	union {
		struct {
			uint8_t key[PTCP_RDV_KEY_LEN];
			uint8_t nonce[PTCP_RDV_NONCE_LEN];  /* fresh per connection:
			                                       the server's signature
			                                       is for this one */
			struct ptcp_endpoint private_ep;  /* family NONE: unknown */
		} hello;
		struct {
			uint8_t key[PTCP_RDV_KEY_LEN];
			uint8_t nonce[PTCP_RDV_NONCE_LEN];  /* fresh: the server
			                                       takes each once */
			struct ptcp_endpoint private_ep;  /* its port is the one
			                                     the client claims */
			uint64_t time_ms;      /* the client's clock: ms since the
			                          Unix epoch (CLOCK_REALTIME) */
			uint8_t server_key[PTCP_RDV_KEY_LEN];  /* the pinned key; all
			                                          zero: any server at
			                                          the address the client
			                                          reached (an open
			                                          HELLO0) */
			uint8_t sig[PTCP_RDV_SIG_LEN];    /* key's signature of the
			                                     0-RTT transcript */
		} hello0;
		struct {
			struct ptcp_endpoint observed;    /* never family 0 */
			uint8_t sig[PTCP_RDV_SIG_LEN];    /* the server's signature
			                                     of the 0-RTT transcript
			                                     and observed */
			uint8_t has_key;                  /* 0: the 83-byte form; else
			                                     1, the answer to an open
			                                     HELLO0: the server's key
			                                     follows (32 bytes more) */
			uint8_t server_key[PTCP_RDV_KEY_LEN];
		} welcome;
		struct {
			uint8_t server_key[PTCP_RDV_KEY_LEN];  /* the server's identity */
			uint8_t nonce[PTCP_RDV_NONCE_LEN];
			struct ptcp_endpoint observed;    /* client as the server sees it */
			uint8_t sig[PTCP_RDV_SIG_LEN];    /* server_key's signature of
			                                     the server transcript */
		} challenge;
		struct {
			uint8_t sig[PTCP_RDV_SIG_LEN];
		} auth;
		struct {
			uint32_t idle_ms;      /* the server drops clients silent this long */
			uint32_t max_wait_ms;  /* longest CONNECT wait it grants */
			uint8_t flags;         /* PTCP_RDV_REG_RELAY, _PREDICT; 0 and no probe
			                          port: the 8-byte form */
			uint16_t probe_port;   /* 0: none; else the server answers on
			                          this port of the same address too
			                          (NAT behaviour discovery; on the
			                          wire only when non-zero) */
		} registered;
		struct {
			uint32_t isn;          /* our ISN for the next match */
			uint8_t n_allow;       /* 0: anyone may ask */
			uint8_t allow[PTCP_RDV_ALLOW_MAX][PTCP_RDV_KEY_LEN];
			struct ptcp_rdv_pattern pattern;  /* ours; delta 0: none,
			                                     no flags byte */
		} listen;
		struct {
			uint8_t key[PTCP_RDV_KEY_LEN];  /* the peer asked for */
			uint32_t isn;
			uint32_t wait_ms;      /* how long the server may hold the request */
			struct ptcp_rdv_pattern pattern;  /* as listen.pattern */
		} connect;
		struct {
			uint8_t key[PTCP_RDV_KEY_LEN];  /* the other peer */
			struct ptcp_endpoint peer_public;
			struct ptcp_endpoint peer_private;
			uint32_t peer_isn;
			uint32_t isn;          /* ours, as we sent it */
			uint8_t role;          /* enum ptcp_rdv_role */
			uint32_t start_ms;     /* fire the first SYN this long after
			                          receiving the MATCH */
			/* The relay offer, at the end (docs/protocol.md, "The
			 * relay"): where to go if punching fails, and the token
			 * that joins this match's two peers there. */
			uint8_t has_relay;     /* 0: the 83-byte form; else 1 */
			struct ptcp_endpoint relay;
			uint8_t relay_token[PTCP_RDV_TOKEN_LEN];
			/* Port prediction, at the very end. */
			uint8_t flags;         /* PTCP_RDV_MATCH_PREDICTED; 0 and
			                          no pattern: no flags byte */
			struct ptcp_rdv_pattern pattern;  /* the peer's */
		} match;
		struct {
			uint32_t token;        /* echoed in the PONG */
		} ping;                        /* PING and PONG */
		struct {
			uint16_t code;         /* enum ptcp_rdv_code */
			uint8_t flags;         /* PTCP_RDV_ERR_* */
			uint8_t text_len;
			char text[PTCP_RDV_TEXT_MAX + 1];  /* printable ASCII, NUL-terminated */
		} error;
	};
};

/* The smallest and largest body length of a type: 0 on success, or
 * -PTCP_RDV_E_MALFORMED for an unknown type. */
int ptcp_rdv_body_limits(uint8_t type, uint16_t *min, uint16_t *max);

/* Parses a 6-byte header from buf[0..len).
 *
 * Returns 0, or (checked in this order) -PTCP_RDV_E_MALFORMED when len is
 * under PTCP_RDV_HDR_LEN or the magic is wrong, -PTCP_RDV_E_VERSION for
 * another version, -PTCP_RDV_E_MALFORMED for an unknown type,
 * -PTCP_RDV_E_TOO_BIG for a body longer than the type allows and
 * -PTCP_RDV_E_MALFORMED for one shorter. h is filled in as far as read
 * (version after the magic, type after the version). */
int ptcp_rdv_header_parse(struct ptcp_rdv_header *h, const uint8_t *buf, size_t len);

/* Framing on a byte stream: given the avail bytes at the front of a
 * receive buffer, returns the length of the complete first message, 0 if
 * more bytes are needed (the header or the body is incomplete and nothing
 * seen so far is wrong), or a negative code from ptcp_rdv_header_parse().
 * A wrong magic, version or type is reported as soon as its byte is
 * there, so garbage never makes a receiver wait. */
int ptcp_rdv_frame(const uint8_t *buf, size_t avail);

/* Parses exactly one message, header and body, from buf[0..len).
 * Returns 0, the header's errors, or -PTCP_RDV_E_MALFORMED when len is
 * not the header's length plus its body length or the body is not
 * canonical. m is undefined on failure. */
int ptcp_rdv_parse(struct ptcp_rdv_msg *m, const uint8_t *buf, size_t len);

/* Writes m (header and body) into buf[0..cap). Returns the number of
 * bytes written, -PTCP_RDV_E_MALFORMED when m cannot be encoded (unknown
 * type or family, n_allow or text_len too large, text not printable ASCII)
 * or -PTCP_RDV_E_NOBUF when cap is too small (nothing written then).
 * PTCP_RDV_MSG_MAX bytes always suffice. */
int ptcp_rdv_emit(const struct ptcp_rdv_msg *m, uint8_t *buf, size_t cap);

/* Fills an ERROR message; text (may be NULL) is cut at PTCP_RDV_TEXT_MAX
 * bytes and every byte outside printable ASCII becomes '?'. */
void ptcp_rdv_error_msg(struct ptcp_rdv_msg *m, int code, bool fatal, const char *text);

/* Encodes ep into the 19-byte wire form: family (0, 4 or 6), port, 16
 * address bytes (IPv4 in the first four, the rest zero; all zero for
 * family 0). Returns 0 or -PTCP_RDV_E_MALFORMED for an unknown family or
 * an address with port 0. */
int ptcp_rdv_endpoint_put(uint8_t out[PTCP_RDV_EP_LEN], const struct ptcp_endpoint *ep);

/* Decodes the wire form. Returns 0 or -PTCP_RDV_E_MALFORMED (unknown
 * family, non-zero padding, port 0 with an address, or a port or address
 * with family 0). */
int ptcp_rdv_endpoint_get(struct ptcp_endpoint *ep, const uint8_t in[PTCP_RDV_EP_LEN]);

/* True when ep is an endpoint of that family that a peer can be reached
 * at: it has a port, and its address is not unspecified, multicast, IPv4
 * "this network" (0.0.0.0/8) or reserved (240.0.0.0/4, with the limited
 * broadcast address), nor an IPv4-mapped IPv6 address (the server sends
 * IPv4 clients as IPv4). */
bool ptcp_rdv_endpoint_usable(const struct ptcp_endpoint *ep, uint8_t family);

/* The transcript of a registration: what the server signs in CHALLENGE
 * and the client in AUTH. Both sign the same fields, each under its own
 * context string:
 *
 *   context (32) || version (1) || server key (32) || client nonce (32)
 *   || server nonce (32) || client key (32) || observed endpoint (19)
 *   || private endpoint (19)
 *
 * The server's signature proves that the holder of the server key
 * answers this client's fresh nonce, so a client that pins the key knows
 * whom it registers with. The client's signature names that server key
 * and the server's fresh nonce: it holds for one challenge of one server
 * seeing one endpoint, and a server that relays it to another server (a
 * man in the middle with a key of its own) gets it refused there. */
#define PTCP_RDV_CONTEXT_SERVER "p2ptcp rendezvous v2 server auth"   /* 32 bytes, sent without NUL */
#define PTCP_RDV_CONTEXT_CLIENT "p2ptcp rendezvous v2 client auth"
#define PTCP_RDV_CONTEXT_LEN 32
#define PTCP_RDV_TRANSCRIPT_LEN                                                            \
	(PTCP_RDV_CONTEXT_LEN + 1 + PTCP_RDV_KEY_LEN + 2 * PTCP_RDV_NONCE_LEN + PTCP_RDV_KEY_LEN + \
	 2 * PTCP_RDV_EP_LEN)

enum ptcp_rdv_signer {
	PTCP_RDV_SIGNER_SERVER = 1,   /* in CHALLENGE */
	PTCP_RDV_SIGNER_CLIENT = 2,   /* in AUTH */
};

/* Writes the transcript of the registration made of hello (the client's
 * key, nonce and private endpoint) and challenge (the server's key, nonce
 * and the observed endpoint; its sig is not part of it) into out, under
 * signer's context string. Returns PTCP_RDV_TRANSCRIPT_LEN, or
 * -PTCP_RDV_E_MALFORMED when hello or challenge is not of its type, the
 * signer is unknown or an endpoint does not encode
 * (ptcp_rdv_endpoint_put()). */
int ptcp_rdv_transcript(uint8_t out[PTCP_RDV_TRANSCRIPT_LEN], enum ptcp_rdv_signer signer,
                        const struct ptcp_rdv_msg *hello, const struct ptcp_rdv_msg *challenge);

/* The 0-RTT registration (docs/protocol.md, "Registration in one
 * flight"): the client signs, in HELLO0,
 *
 *   context (32) || version (1) || server key (32) || client nonce (32)
 *   || client time ms (8) || client key (32) || private endpoint (19)
 *   [|| server endpoint (19)]
 *
 * and the server, in WELCOME, the same bytes under its own context
 * followed by the observed endpoint (19). Fresh by the client's nonce and
 * clock (the server takes a nonce once, within a window around its own
 * clock); bound to one server by its key, or, in an open HELLO0 (server
 * key all zero: the client pins none), by the server's endpoint as the
 * client reached it, which the server checks against its own socket's. */
#define PTCP_RDV_CONTEXT_SERVER0 "p2ptcp rendezvous v2 server 0rtt"
#define PTCP_RDV_CONTEXT_CLIENT0 "p2ptcp rendezvous v2 client 0rtt"
#define PTCP_RDV_TRANSCRIPT0_CLIENT_LEN                                                    \
	(PTCP_RDV_CONTEXT_LEN + 1 + PTCP_RDV_KEY_LEN + PTCP_RDV_NONCE_LEN + 8 + PTCP_RDV_KEY_LEN + \
	 PTCP_RDV_EP_LEN)
#define PTCP_RDV_TRANSCRIPT0_LEN (PTCP_RDV_TRANSCRIPT0_CLIENT_LEN + PTCP_RDV_EP_LEN)
/* The longest: an open HELLO0's, the server's (a buffer of this size
 * holds any of them). */
#define PTCP_RDV_TRANSCRIPT0_MAX (PTCP_RDV_TRANSCRIPT0_LEN + PTCP_RDV_EP_LEN)

/* True when hello0 pins no server key (all zero). */
bool ptcp_rdv_hello0_open(const struct ptcp_rdv_msg *hello0);

/* Writes the 0-RTT transcript of hello0 (its sig is not part of it) into
 * out: the client's (observed ignored, may be NULL) or the server's (with
 * observed). server_ep, the server's endpoint as the client reached it,
 * is part of an open HELLO0's transcript (ptcp_rdv_hello0_open()) and
 * ignored for a pinned one (may be NULL then). Returns its length
 * (PTCP_RDV_TRANSCRIPT0_CLIENT_LEN or PTCP_RDV_TRANSCRIPT0_LEN for a
 * pinned HELLO0, each PTCP_RDV_EP_LEN more for an open one), or
 * -PTCP_RDV_E_MALFORMED when hello0 is not a HELLO0, the signer is
 * unknown, the server's has no observed endpoint, an open one no server
 * endpoint, or an endpoint does not encode. */
int ptcp_rdv_transcript0(uint8_t out[PTCP_RDV_TRANSCRIPT0_MAX], enum ptcp_rdv_signer signer,
                         const struct ptcp_rdv_msg *hello0, const struct ptcp_endpoint *server_ep,
                         const struct ptcp_endpoint *observed);

/* The plain HELLO made of a HELLO0's key, nonce and private endpoint: the
 * half of the 1-RTT transcript a refused HELLO0 goes on with. */
void ptcp_rdv_hello_of(struct ptcp_rdv_msg *hello, const struct ptcp_rdv_msg *hello0);

/* A short English sentence for a code ("unknown peer"), for either sign;
 * "unknown error" for codes this version does not know. Never NULL. */
const char *ptcp_rdv_strerror(int code);

/* The name of a message type ("HELLO"), or "?". Never NULL. */
const char *ptcp_rdv_type_name(int type);

#endif
