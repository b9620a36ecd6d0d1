/* The relay protocol, version 1: a sans-IO codec (docs/protocol.md, "The
 * relay").
 *
 * When punching cannot work, both peers of a match open an ordinary TCP
 * connection to the relay port of rendezvousd --relay that the MATCH
 * offered, each sends one JOIN (the match's token, its key and its
 * signature of both), and once both are in, the relay answers READY to
 * each and from then on copies bytes between them, nothing else. The
 * peers run their secure channel end to end over it, so the relay sees
 * only sealed records. Framing as the rendezvous protocol's, with its own
 * magic:
 *
 *   0     1     2       3     4           6
 *   +-----+-----+-------+-----+-----------+------------------+
 *   | 'P' | 'R' |version|type | body len  | body ...         |
 *   +-----+-----+-------+-----+-----------+------------------+
 *
 * Integers are big-endian; only the canonical encoding parses, so
 * parse(emit(m)) == m and emit(parse(b)) == b. Functions return 0 (or a
 * length) and the negative of an enum ptcp_relay_code on failure. Pure
 * code: no libc beyond memcpy/memset, no I/O. */
#ifndef PTCP_RELAYMSG_H
#define PTCP_RELAYMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PTCP_RELAY_VERSION 1
#define PTCP_RELAY_PORT 7451          /* default relay port of rendezvousd */
#define PTCP_RELAY_MAGIC0 'P'
#define PTCP_RELAY_MAGIC1 'R'
#define PTCP_RELAY_HDR_LEN 6
#define PTCP_RELAY_TOKEN_LEN 32       /* random, one per match */
#define PTCP_RELAY_KEY_LEN 32         /* the joining peer's Ed25519 key */
#define PTCP_RELAY_SIG_LEN 64
#define PTCP_RELAY_TEXT_MAX 120       /* bytes of text in an ERROR */
#define PTCP_RELAY_JOIN_LEN (PTCP_RELAY_TOKEN_LEN + PTCP_RELAY_KEY_LEN + PTCP_RELAY_SIG_LEN)
#define PTCP_RELAY_BODY_MAX PTCP_RELAY_JOIN_LEN
#define PTCP_RELAY_MSG_MAX (PTCP_RELAY_HDR_LEN + PTCP_RELAY_BODY_MAX)

enum ptcp_relay_type {
	PTCP_RELAY_JOIN = 1,    /* C->R: token, key, signature — 128 */
	PTCP_RELAY_READY = 2,   /* R->C: both peers are in; raw bytes follow — 0 */
	PTCP_RELAY_ERROR = 3,   /* R->C: code, text (0-120 printable) — 2 to 122;
	                           the relay closes after it */
};
#define PTCP_RELAY_TYPE_MAX PTCP_RELAY_ERROR

/* Codes: on the wire in ERROR (1..255) and, negated, from the codec. */
enum ptcp_relay_code {
	PTCP_RELAY_E_MALFORMED = 1,   /* bad magic, unknown type, bad body */
	PTCP_RELAY_E_TOO_BIG = 2,     /* body longer than its type allows */
	PTCP_RELAY_E_VERSION = 3,     /* another version */
	PTCP_RELAY_E_UNKNOWN_TOKEN = 4, /* no such offer: never made, expired,
	                                   or this peer's place is taken */
	PTCP_RELAY_E_BAD_SIGNATURE = 5, /* the key is not one of the match's,
	                                   or the signature does not verify */
	PTCP_RELAY_E_FULL = 6,        /* as many streams or joins as allowed */
	PTCP_RELAY_E_TIMEOUT = 7,     /* no JOIN in time, or the other peer
	                                 did not come */
	PTCP_RELAY_E_SHUTDOWN = 8,    /* the server is stopping */
	PTCP_RELAY_E_NOBUF = 0x100,   /* local: output buffer too small */
};

struct ptcp_relay_msg {
	uint8_t type;        /* enum ptcp_relay_type */
	union {
		struct {
			uint8_t token[PTCP_RELAY_TOKEN_LEN];
			uint8_t key[PTCP_RELAY_KEY_LEN];
			uint8_t sig[PTCP_RELAY_SIG_LEN];  /* key's signature of
			                                     ptcp_relay_transcript() */
		} join;
		struct {
			uint16_t code;         /* enum ptcp_relay_code */
			uint8_t text_len;
			char text[PTCP_RELAY_TEXT_MAX + 1];  /* NUL-terminated */
		} error;
	};
};

/* Framing on a byte stream: the length of the complete first message in
 * buf[0..avail), 0 if more bytes are needed, or a negative code (wrong
 * magic, version or type as soon as its byte is there; a length over the
 * type's maximum -PTCP_RELAY_E_TOO_BIG, under its minimum
 * -PTCP_RELAY_E_MALFORMED). */
int ptcp_relay_frame(const uint8_t *buf, size_t avail);

/* Parses exactly one message from buf[0..len). Returns 0, a code of
 * ptcp_relay_frame(), or -PTCP_RELAY_E_MALFORMED when len is not one whole
 * message or the body is not canonical (code 0, text not printable). */
int ptcp_relay_parse(struct ptcp_relay_msg *m, const uint8_t *buf, size_t len);

/* Writes m into buf[0..cap). Returns the length, -PTCP_RELAY_E_MALFORMED
 * (unknown type, code 0, text too long or not printable) or
 * -PTCP_RELAY_E_NOBUF (nothing written). PTCP_RELAY_MSG_MAX suffices. */
int ptcp_relay_emit(const struct ptcp_relay_msg *m, uint8_t *buf, size_t cap);

/* Fills an ERROR; text (may be NULL) is cut at PTCP_RELAY_TEXT_MAX bytes
 * and bytes outside printable ASCII become '?'. */
void ptcp_relay_error_msg(struct ptcp_relay_msg *m, int code, const char *text);

/* What a joining peer signs:
 *   context (32) || version (1) || token (32) || key (32)
 * The token is fresh per match and the relay lets each of the match's two
 * keys in once, so a JOIN seen on the path is good for nothing: the
 * observer cannot sign for another key, and the key's place is taken. */
#define PTCP_RELAY_CONTEXT "p2ptcp relay v1 join, peer proof"   /* 32 bytes, no NUL */
#define PTCP_RELAY_CONTEXT_LEN 32
#define PTCP_RELAY_TRANSCRIPT_LEN (PTCP_RELAY_CONTEXT_LEN + 1 + PTCP_RELAY_TOKEN_LEN + PTCP_RELAY_KEY_LEN)

void ptcp_relay_transcript(uint8_t out[PTCP_RELAY_TRANSCRIPT_LEN],
                           const uint8_t token[PTCP_RELAY_TOKEN_LEN],
                           const uint8_t key[PTCP_RELAY_KEY_LEN]);

/* A short English sentence for a code, either sign; "unknown error" for
 * others. Never NULL. */
const char *ptcp_relay_strerror(int code);

#endif
