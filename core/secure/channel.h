/* The secure channel: an authenticated, encrypted byte stream carried over
 * an established TCP connection between two peers that know each other's
 * Ed25519 identity (docs/security.md describes the protocol and its threat
 * model byte by byte).
 *
 * Like the engine, the channel is sans-IO: it never touches a socket. The
 * caller moves bytes between it and the TCP connection:
 *   - ptcp_channel_handshake_output(): handshake bytes to send (our HELLO
 *     is ready at once, our AUTH once the peer's HELLO has arrived);
 *   - ptcp_channel_input(): every byte received from the peer, in order;
 *     ptcp_channel_input_eof() when the peer's FIN arrives;
 *   - ptcp_channel_read(): plaintext, only ever from records that verified;
 *   - ptcp_channel_seal(): once ptcp_channel_is_established(), application
 *     bytes become records written into the caller's buffer;
 *   - ptcp_channel_close(): the authenticated end-of-stream record, which
 *     must precede our FIN (a FIN without it is reported as truncation).
 *
 * Both peers send their HELLO at once (there is no client and server
 * after a simultaneous open); the role each plays only orders the
 * transcript and picks the key of each direction, and the two roles must
 * differ (ptcp_channel_role_from_keys() is a rule both sides compute).
 *
 * Any error leaves the channel failed: every later call returns the same
 * error, keys and buffered bytes are wiped, and no plaintext is released.
 * Errors are negative values of enum ptcp_error: argument and state
 * errors, and PTCP_ERR_CH_* for what the peer or the path did;
 * ptcp_strerror() describes them. */
#ifndef PTCP_CHANNEL_H
#define PTCP_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "error.h"

#define PTCP_CHANNEL_VERSION 1
#define PTCP_CHANNEL_PK_BYTES 32          /* Ed25519 public key (peer id) */
#define PTCP_CHANNEL_SK_BYTES 64          /* libsodium Ed25519 secret key (seed || pk) */
#define PTCP_CHANNEL_EPH_BYTES 32         /* X25519 key */
#define PTCP_CHANNEL_HELLO_BYTES 72       /* magic 6, version 1, role 1, id 32, eph 32 */
#define PTCP_CHANNEL_AUTH_BYTES 64        /* Ed25519 signature */
#define PTCP_CHANNEL_BINDING_MAX 256      /* bytes of channel binding */
#define PTCP_CHANNEL_RECORD_MAX 16384     /* plaintext bytes per record */
#define PTCP_CHANNEL_RECORD_HEADER 11     /* type 1, sequence 8, length 2 */
#define PTCP_CHANNEL_RECORD_TAG 16        /* Poly1305 tag */
#define PTCP_CHANNEL_RECORD_OVERHEAD (PTCP_CHANNEL_RECORD_HEADER + PTCP_CHANNEL_RECORD_TAG)
/* The most a single record takes on the wire. */
#define PTCP_CHANNEL_RECORD_WIRE_MAX (PTCP_CHANNEL_RECORD_MAX + PTCP_CHANNEL_RECORD_OVERHEAD)

/* Record types (the first header byte). */
#define PTCP_CHANNEL_REC_DATA 0x44        /* 'D' */
#define PTCP_CHANNEL_REC_END 0x45         /* 'E': authenticated end of stream */

enum ptcp_channel_role {
	PTCP_CHANNEL_INITIATOR = 1,
	PTCP_CHANNEL_RESPONDER = 2,
};

/* Decides whether an authenticated peer id may use the channel (the
 * `--allow` list). Called once, after the peer's signature verified.
 * Returns true to accept. */
typedef bool ptcp_channel_allow_fn(void *user, const uint8_t peer_pk[PTCP_CHANNEL_PK_BYTES]);

struct ptcp_channel_config {
	const uint8_t *identity_sk;   /* our Ed25519 secret key, PTCP_CHANNEL_SK_BYTES
	                                 as made by crypto_sign_keypair(); copied */
	const uint8_t *peer_pk;       /* the expected peer id (PTCP_CHANNEL_PK_BYTES),
	                                 or NULL to let allow decide */
	ptcp_channel_allow_fn *allow; /* required when peer_pk is NULL; ignored
	                                 otherwise */
	void *user;                   /* passed to allow */
	enum ptcp_channel_role role;  /* from the rendezvous or
	                                 ptcp_channel_role_from_keys() */
	const uint8_t *binding;       /* context both sides know and sign, e.g.
	                                 ptcp_channel_binding_isns(); copied */
	size_t binding_len;           /* at most PTCP_CHANNEL_BINDING_MAX */
};

struct ptcp_channel;

/* "initiator", "responder" or "?". */
const char *ptcp_channel_role_name(enum ptcp_channel_role role);

/* The deterministic role rule: the side whose public key is smaller
 * (memcmp order) is the initiator, so two peers computing it with their
 * keys swapped always get different roles. Returns PTCP_CHANNEL_INITIATOR
 * or PTCP_CHANNEL_RESPONDER, PTCP_ERR_CH_SELF if the keys are equal, or
 * PTCP_ERR_INVAL for a NULL key. */
int ptcp_channel_role_from_keys(const uint8_t our_pk[PTCP_CHANNEL_PK_BYTES],
                                const uint8_t peer_pk[PTCP_CHANNEL_PK_BYTES]);

/* Writes the recommended channel binding for a p2ptcp connection into
 * out[0..8): the initiator's ISN then the responder's, big-endian, as the
 * rendezvous agreed them (not as observed: a middlebox that rewrites
 * sequence numbers must not break the handshake, the signatures already
 * detect anyone who changes bytes). Returns 8, or PTCP_ERR_INVAL for a bad
 * role. */
int ptcp_channel_binding_isns(uint8_t out[8], enum ptcp_channel_role our_role,
                              uint32_t our_isn, uint32_t peer_isn);

/* Creates a channel and its fresh ephemeral key; our HELLO is queued for
 * ptcp_channel_handshake_output(). Returns 0, PTCP_ERR_INVAL (NULL key,
 * secret key whose public half does not match its seed, bad role,
 * binding too long, neither peer_pk nor allow), PTCP_ERR_CH_SELF (peer_pk is
 * our own key), PTCP_ERR_CH_CRYPTO or PTCP_ERR_NOMEM. */
int ptcp_channel_new(struct ptcp_channel **out, const struct ptcp_channel_config *cfg);

/* Wipes the keys and frees the channel. NULL is allowed. */
void ptcp_channel_free(struct ptcp_channel *ch);

/* For known-answer tests only: replaces the ephemeral secret key (32
 * bytes, clamped by X25519) before any handshake byte was output or
 * input. Returns 0 or PTCP_ERR_STATE. */
int ptcp_channel_set_ephemeral(struct ptcp_channel *ch, const uint8_t sk[PTCP_CHANNEL_EPH_BYTES]);

/* Copies up to cap pending handshake bytes into buf. Returns the count (0
 * when nothing is pending) or the channel's error. */
ptcp_ssize ptcp_channel_handshake_output(struct ptcp_channel *ch, uint8_t *buf, size_t cap);

/* Handshake bytes not yet taken by ptcp_channel_handshake_output(). */
size_t ptcp_channel_handshake_pending(const struct ptcp_channel *ch);

/* Hands in bytes received from the peer, in stream order, in pieces of
 * any size. Returns the count consumed, which is less than len only while
 * a verified record's plaintext waits for ptcp_channel_read() (read, then
 * hand in the rest). Errors (the channel then stays failed):
 * PTCP_ERR_CH_PROTOCOL, _VERSION, _ROLE, _SELF, _WRONG_PEER, _NOT_ALLOWED,
 * _AUTH, _WEAK_KEY (handshake); _MALFORMED, _TAMPERED, _REPLAY, _REORDER,
 * _TRAILING, _EXHAUSTED (records); or an earlier error. */
ptcp_ssize ptcp_channel_input(struct ptcp_channel *ch, const uint8_t *buf, size_t len);

/* The received stream ended (the peer's FIN). Returns 0 if the peer's end
 * record had arrived; otherwise fails the channel with
 * PTCP_ERR_CH_HANDSHAKE_EOF (before the peer was authenticated) or
 * PTCP_ERR_CH_TRUNCATED and returns it. */
int ptcp_channel_input_eof(struct ptcp_channel *ch);

/* Copies up to cap bytes of verified plaintext into buf. Returns the count
 * (0 when none is ready: see ptcp_channel_read_eof) or the channel's
 * error. */
ptcp_ssize ptcp_channel_read(struct ptcp_channel *ch, void *buf, size_t cap);

/* ptcp_channel_read() without the copy: the verified plaintext of the
 * record being read where the channel holds it (*base; returns its length,
 * 0 when none is ready, or the channel's error), valid until the next
 * call for this channel; then the first n bytes of it consumed (returns
 * n, PTCP_ERR_INVAL for more than there is, or the channel's error). */
ptcp_ssize ptcp_channel_peek(const struct ptcp_channel *ch, const uint8_t **base);
ptcp_ssize ptcp_channel_consume(struct ptcp_channel *ch, size_t n);

/* True when the peer's end record verified and every byte before it was
 * read: a clean end of the received stream. */
bool ptcp_channel_read_eof(const struct ptcp_channel *ch);

/* True when the peer is authenticated and our own handshake bytes were
 * all output: records may be sealed. False once failed. */
bool ptcp_channel_is_established(const struct ptcp_channel *ch);

/* The wire size of len plaintext bytes sealed into full-size records. */
size_t ptcp_channel_sealed_size(size_t len);

/* Seals up to len application bytes into whole records (at most
 * PTCP_CHANNEL_RECORD_MAX plaintext each) written into out[0..cap).
 * *taken receives the plaintext bytes consumed. Returns the bytes written
 * (0 when len is 0), PTCP_ERR_NOBUF when cap cannot hold a record with at
 * least one byte, PTCP_ERR_STATE before the channel is established,
 * PTCP_ERR_CLOSED after ptcp_channel_close(), PTCP_ERR_CH_EXHAUSTED, or the
 * channel's error. */
ptcp_ssize ptcp_channel_seal(struct ptcp_channel *ch, const void *in, size_t len,
                             size_t *taken, uint8_t *out, size_t cap);

/* Writes the end record (PTCP_CHANNEL_RECORD_OVERHEAD bytes) into out;
 * nothing can be sealed after it. Returns its length, PTCP_ERR_NOBUF,
 * PTCP_ERR_STATE (not established), PTCP_ERR_CLOSED (already closed) or
 * the channel's error. */
ptcp_ssize ptcp_channel_close(struct ptcp_channel *ch, uint8_t *out, size_t cap);

/* 0 while healthy, else the error that failed the channel. */
int ptcp_channel_error(const struct ptcp_channel *ch);

/* The peer's id once it is authenticated (its signature verified and,
 * without peer_pk, allow accepted it); NULL before. */
const uint8_t *ptcp_channel_peer_pk(const struct ptcp_channel *ch);

/* Our role (0 for a NULL channel). */
enum ptcp_channel_role ptcp_channel_role(const struct ptcp_channel *ch);

#endif
