/* The secure channel (channel.h); the protocol is in docs/security.md.
 *
 * Handshake: each side sends HELLO (its Ed25519 id and a fresh X25519
 * key), then AUTH (its signature over a hash of both HELLOs, in role
 * order, and the caller's channel binding). Session keys are BLAKE2b
 * keyed with the X25519 secret over the same hash, one per direction.
 * Records are ChaCha20-Poly1305 (IETF) with the 11-byte header as
 * associated data and the header's 64-bit sequence number as nonce. */
#include "channel.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define HS_MAGIC "P2PTCP"
#define HS_MAGIC_LEN 6

/* Domain separation: every hash, key and signature of this protocol
 * starts with its own label, so no value can stand in for another. The
 * two signature labels have the same length, so the signed messages
 * never share a prefix structure. */
static const char LABEL_TRANSCRIPT[] = "p2ptcp channel v1 transcript";
static const char LABEL_KEYS[] = "p2ptcp channel v1 session keys";
static const char LABEL_SIG_I[] = "p2ptcp channel v1 initiator auth";
static const char LABEL_SIG_R[] = "p2ptcp channel v1 responder auth";
#define SIG_LABEL_LEN (sizeof(LABEL_SIG_I) - 1)

enum rx_state {
	RX_HELLO = 0,  /* waiting for the peer's HELLO */
	RX_AUTH,       /* waiting for the peer's AUTH */
	RX_HEADER,     /* waiting for a record header */
	RX_BODY,       /* header checked, waiting for ciphertext and tag */
	RX_PLAIN,      /* a record verified; its plaintext waits to be read */
	RX_DONE,       /* the end record verified */
};

struct ptcp_channel {
	enum ptcp_channel_role role;
	int err;                      /* 0, or the error that failed us */

	uint8_t id_sk[PTCP_CHANNEL_SK_BYTES];
	uint8_t id_pk[PTCP_CHANNEL_PK_BYTES];
	bool has_expected;
	uint8_t expected_pk[PTCP_CHANNEL_PK_BYTES];
	ptcp_channel_allow_fn *allow;
	void *user;
	uint8_t binding[PTCP_CHANNEL_BINDING_MAX];
	size_t binding_len;

	uint8_t eph_sk[PTCP_CHANNEL_EPH_BYTES];
	uint8_t hello[PTCP_CHANNEL_HELLO_BYTES];      /* ours, as sent */
	uint8_t peer_hello[PTCP_CHANNEL_HELLO_BYTES]; /* theirs, as received */
	uint8_t transcript[crypto_generichash_BYTES]; /* TH, docs/security.md */
	bool peer_authenticated;

	/* Handshake bytes to send: HELLO, later AUTH. */
	uint8_t hs_out[PTCP_CHANNEL_HELLO_BYTES + PTCP_CHANNEL_AUTH_BYTES];
	size_t hs_len;                /* bytes queued so far */
	size_t hs_sent;               /* bytes taken by the caller */
	bool hs_started;              /* any handshake byte moved either way */

	uint8_t tx_key[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
	uint8_t rx_key[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
	uint64_t tx_seq;              /* sequence number of our next record */
	uint64_t rx_seq;              /* the one we expect next */
	bool tx_closed;               /* our end record was written */

	enum rx_state rx;
	size_t rx_have;               /* bytes of the current unit in rbuf */
	size_t rx_rec_len;            /* plaintext length from the header */
	size_t plain_off;             /* RX_PLAIN: next unread byte in rbuf */
	size_t plain_end;             /* RX_PLAIN: end of the plaintext */
	uint8_t rbuf[PTCP_CHANNEL_RECORD_WIRE_MAX];
};

const char *ptcp_channel_role_name(enum ptcp_channel_role role)
{
	switch (role) {
	case PTCP_CHANNEL_INITIATOR: return "initiator";
	case PTCP_CHANNEL_RESPONDER: return "responder";
	}
	return "?";
}

static bool role_valid(int role)
{
	return role == PTCP_CHANNEL_INITIATOR || role == PTCP_CHANNEL_RESPONDER;
}

int ptcp_channel_role_from_keys(const uint8_t our_pk[PTCP_CHANNEL_PK_BYTES],
                                const uint8_t peer_pk[PTCP_CHANNEL_PK_BYTES])
{
	int c;

	if (!our_pk || !peer_pk)
		return PTCP_ERR_INVAL;
	/* Both sides compare the same two keys in opposite order: the signs
	 * are opposite, so exactly one side is the initiator. */
	c = memcmp(our_pk, peer_pk, PTCP_CHANNEL_PK_BYTES);
	if (c == 0)
		return PTCP_ERR_CH_SELF;
	return c < 0 ? PTCP_CHANNEL_INITIATOR : PTCP_CHANNEL_RESPONDER;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int ptcp_channel_binding_isns(uint8_t out[8], enum ptcp_channel_role our_role,
                              uint32_t our_isn, uint32_t peer_isn)
{
	if (!out || !role_valid(our_role))
		return PTCP_ERR_INVAL;
	if (our_role == PTCP_CHANNEL_INITIATOR) {
		put_be32(out, our_isn);
		put_be32(out + 4, peer_isn);
	} else {
		put_be32(out, peer_isn);
		put_be32(out + 4, our_isn);
	}
	return 8;
}

/* Our HELLO from the current ephemeral key. */
static void build_hello(struct ptcp_channel *ch)
{
	uint8_t *h = ch->hello;

	memcpy(h, HS_MAGIC, HS_MAGIC_LEN);
	h[6] = PTCP_CHANNEL_VERSION;
	h[7] = (uint8_t)ch->role;
	memcpy(h + 8, ch->id_pk, PTCP_CHANNEL_PK_BYTES);
	/* An X25519 secret key always has a public key: this cannot fail. */
	crypto_scalarmult_base(h + 40, ch->eph_sk);
	memcpy(ch->hs_out, h, PTCP_CHANNEL_HELLO_BYTES);
	ch->hs_len = PTCP_CHANNEL_HELLO_BYTES;
	ch->hs_sent = 0;
}

int ptcp_channel_new(struct ptcp_channel **out, const struct ptcp_channel_config *cfg)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	struct ptcp_channel *ch;

	if (!out || !cfg || !cfg->identity_sk || !role_valid(cfg->role))
		return PTCP_ERR_INVAL;
	if (!cfg->peer_pk && !cfg->allow)
		return PTCP_ERR_INVAL;
	if (cfg->binding_len > PTCP_CHANNEL_BINDING_MAX || (cfg->binding_len && !cfg->binding))
		return PTCP_ERR_INVAL;
	if (sodium_init() < 0)
		return PTCP_ERR_CH_CRYPTO;
	/* A secret key whose public half does not belong to its seed would
	 * sign with one key and announce another: the peer could only report
	 * a bad signature, so refuse it here with a clearer error. */
	crypto_sign_seed_keypair(pk, sk, cfg->identity_sk);
	sodium_memzero(sk, sizeof(sk));
	if (sodium_memcmp(pk, cfg->identity_sk + 32, sizeof(pk)) != 0)
		return PTCP_ERR_INVAL;
	if (cfg->peer_pk && memcmp(cfg->peer_pk, pk, sizeof(pk)) == 0)
		return PTCP_ERR_CH_SELF;

	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return PTCP_ERR_NOMEM;
	ch->role = cfg->role;
	memcpy(ch->id_sk, cfg->identity_sk, sizeof(ch->id_sk));
	memcpy(ch->id_pk, pk, sizeof(ch->id_pk));
	if (cfg->peer_pk) {
		ch->has_expected = true;
		memcpy(ch->expected_pk, cfg->peer_pk, sizeof(ch->expected_pk));
	} else {
		ch->allow = cfg->allow;
		ch->user = cfg->user;
	}
	if (cfg->binding_len)
		memcpy(ch->binding, cfg->binding, cfg->binding_len);
	ch->binding_len = cfg->binding_len;
	randombytes_buf(ch->eph_sk, sizeof(ch->eph_sk));
	build_hello(ch);
	ch->rx = RX_HELLO;
	*out = ch;
	return 0;
}

void ptcp_channel_free(struct ptcp_channel *ch)
{
	if (!ch)
		return;
	sodium_memzero(ch, sizeof(*ch));
	free(ch);
}

int ptcp_channel_set_ephemeral(struct ptcp_channel *ch, const uint8_t sk[PTCP_CHANNEL_EPH_BYTES])
{
	if (!ch || !sk)
		return PTCP_ERR_INVAL;
	if (ch->hs_started || ch->err)
		return PTCP_ERR_STATE;
	memcpy(ch->eph_sk, sk, sizeof(ch->eph_sk));
	build_hello(ch);
	return 0;
}

/* Fails the channel for good: keeps the first error, wipes every secret
 * and every buffered byte (so no plaintext can leak out afterwards). */
static int fail(struct ptcp_channel *ch, int err)
{
	if (!ch->err)
		ch->err = err;
	sodium_memzero(ch->id_sk, sizeof(ch->id_sk));
	sodium_memzero(ch->eph_sk, sizeof(ch->eph_sk));
	sodium_memzero(ch->tx_key, sizeof(ch->tx_key));
	sodium_memzero(ch->rx_key, sizeof(ch->rx_key));
	sodium_memzero(ch->rbuf, sizeof(ch->rbuf));
	sodium_memzero(ch->hs_out, sizeof(ch->hs_out));
	ch->hs_len = ch->hs_sent = 0;
	ch->rx_have = 0;
	ch->plain_off = ch->plain_end = 0;
	return ch->err;
}

ptcp_ssize ptcp_channel_handshake_output(struct ptcp_channel *ch, uint8_t *buf, size_t cap)
{
	size_t n;

	if (!ch || (!buf && cap))
		return PTCP_ERR_INVAL;
	if (ch->err)
		return ch->err;
	n = ch->hs_len - ch->hs_sent;
	if (n > cap)
		n = cap;
	if (n) {
		memcpy(buf, ch->hs_out + ch->hs_sent, n);
		ch->hs_sent += n;
		ch->hs_started = true;
	}
	return (ptcp_ssize)n;
}

size_t ptcp_channel_handshake_pending(const struct ptcp_channel *ch)
{
	return ch && !ch->err ? ch->hs_len - ch->hs_sent : 0;
}

/* TH = BLAKE2b-256(label || binding length (2, big-endian) || binding ||
 * initiator's HELLO || responder's HELLO). Both sides hash the same bytes
 * whatever their role. */
static void compute_transcript(struct ptcp_channel *ch)
{
	crypto_generichash_state st;
	const uint8_t *hi, *hr;
	uint8_t len[2];

	if (ch->role == PTCP_CHANNEL_INITIATOR) {
		hi = ch->hello;
		hr = ch->peer_hello;
	} else {
		hi = ch->peer_hello;
		hr = ch->hello;
	}
	len[0] = (uint8_t)(ch->binding_len >> 8);
	len[1] = (uint8_t)ch->binding_len;
	crypto_generichash_init(&st, NULL, 0, sizeof(ch->transcript));
	crypto_generichash_update(&st, (const uint8_t *)LABEL_TRANSCRIPT, sizeof(LABEL_TRANSCRIPT) - 1);
	crypto_generichash_update(&st, len, sizeof(len));
	crypto_generichash_update(&st, ch->binding, ch->binding_len);
	crypto_generichash_update(&st, hi, PTCP_CHANNEL_HELLO_BYTES);
	crypto_generichash_update(&st, hr, PTCP_CHANNEL_HELLO_BYTES);
	crypto_generichash_final(&st, ch->transcript, sizeof(ch->transcript));
}

/* The message a side signs: its role's label, then TH. */
static void signed_message(uint8_t msg[SIG_LABEL_LEN + crypto_generichash_BYTES],
                           enum ptcp_channel_role signer, const uint8_t *transcript)
{
	memcpy(msg, signer == PTCP_CHANNEL_INITIATOR ? LABEL_SIG_I : LABEL_SIG_R, SIG_LABEL_LEN);
	memcpy(msg + SIG_LABEL_LEN, transcript, crypto_generichash_BYTES);
}

/* The peer's HELLO is complete in rbuf: check it, derive the session
 * keys and queue our AUTH. */
static int on_hello(struct ptcp_channel *ch)
{
	const uint8_t *h = ch->rbuf;
	uint8_t shared[crypto_scalarmult_BYTES];
	uint8_t okm[2 * crypto_aead_chacha20poly1305_ietf_KEYBYTES];
	uint8_t msg[SIG_LABEL_LEN + crypto_generichash_BYTES];
	uint8_t *i2r = okm, *r2i = okm + crypto_aead_chacha20poly1305_ietf_KEYBYTES;
	crypto_generichash_state st;
	int rv;

	if (memcmp(h, HS_MAGIC, HS_MAGIC_LEN) != 0)
		return fail(ch, PTCP_ERR_CH_PROTOCOL);
	if (h[6] != PTCP_CHANNEL_VERSION)
		return fail(ch, PTCP_ERR_CH_VERSION);
	if (!role_valid(h[7]))
		return fail(ch, PTCP_ERR_CH_PROTOCOL);
	/* Roles come from the rendezvous (or a rule both compute), never
	 * from who spoke first; if the two disagree, stop rather than guess. */
	if (h[7] == ch->role)
		return fail(ch, PTCP_ERR_CH_ROLE);
	if (memcmp(h + 8, ch->id_pk, PTCP_CHANNEL_PK_BYTES) == 0)
		return fail(ch, PTCP_ERR_CH_SELF);
	if (ch->has_expected && memcmp(h + 8, ch->expected_pk, PTCP_CHANNEL_PK_BYTES) != 0)
		return fail(ch, PTCP_ERR_CH_WRONG_PEER);
	memcpy(ch->peer_hello, h, PTCP_CHANNEL_HELLO_BYTES);

	/* crypto_scalarmult() refuses a point that gives the all-zero secret
	 * (a low-order point), which would make the keys public. */
	if (crypto_scalarmult(shared, ch->eph_sk, h + 40) != 0) {
		sodium_memzero(shared, sizeof(shared));
		return fail(ch, PTCP_ERR_CH_WEAK_KEY);
	}
	/* Forward secrecy: the ephemeral secret is not needed again. */
	sodium_memzero(ch->eph_sk, sizeof(ch->eph_sk));
	compute_transcript(ch);

	/* Keys: BLAKE2b-512 keyed with the X25519 secret over label || TH;
	 * the first half protects initiator -> responder. */
	crypto_generichash_init(&st, shared, sizeof(shared), sizeof(okm));
	crypto_generichash_update(&st, (const uint8_t *)LABEL_KEYS, sizeof(LABEL_KEYS) - 1);
	crypto_generichash_update(&st, ch->transcript, sizeof(ch->transcript));
	crypto_generichash_final(&st, okm, sizeof(okm));
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(&st, sizeof(st));
	if (ch->role == PTCP_CHANNEL_INITIATOR) {
		memcpy(ch->tx_key, i2r, sizeof(ch->tx_key));
		memcpy(ch->rx_key, r2i, sizeof(ch->rx_key));
	} else {
		memcpy(ch->tx_key, r2i, sizeof(ch->tx_key));
		memcpy(ch->rx_key, i2r, sizeof(ch->rx_key));
	}
	sodium_memzero(okm, sizeof(okm));

	signed_message(msg, ch->role, ch->transcript);
	rv = crypto_sign_detached(ch->hs_out + ch->hs_len, NULL, msg, sizeof(msg), ch->id_sk);
	if (rv != 0)
		return fail(ch, PTCP_ERR_CH_CRYPTO);
	ch->hs_len += PTCP_CHANNEL_AUTH_BYTES;
	/* The identity key only ever signs this one message. */
	sodium_memzero(ch->id_sk, sizeof(ch->id_sk));
	ch->rx = RX_AUTH;
	return 0;
}

/* The peer's AUTH is complete in rbuf: verify it against the id its HELLO
 * claimed (which was already checked against the expected one). */
static int on_auth(struct ptcp_channel *ch)
{
	uint8_t msg[SIG_LABEL_LEN + crypto_generichash_BYTES];
	enum ptcp_channel_role peer_role = ch->role == PTCP_CHANNEL_INITIATOR ?
	                                   PTCP_CHANNEL_RESPONDER : PTCP_CHANNEL_INITIATOR;

	signed_message(msg, peer_role, ch->transcript);
	if (crypto_sign_verify_detached(ch->rbuf, msg, sizeof(msg), ch->peer_hello + 8) != 0)
		return fail(ch, PTCP_ERR_CH_AUTH);
	/* The allow check sees only an id that has just proven itself. */
	if (!ch->has_expected && !ch->allow(ch->user, ch->peer_hello + 8))
		return fail(ch, PTCP_ERR_CH_NOT_ALLOWED);
	ch->peer_authenticated = true;
	ch->rx = RX_HEADER;
	return 0;
}

static void make_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES], uint64_t seq)
{
	memset(nonce, 0, 4);
	put_be64(nonce + 4, seq);
}

/* A record header is complete in rbuf: check what can be checked before
 * waiting for the body, so a bogus length cannot make us wait for or
 * buffer bytes that will never verify. */
static int on_header(struct ptcp_channel *ch)
{
	const uint8_t *h = ch->rbuf;
	size_t len = (size_t)h[9] << 8 | h[10];

	if (h[0] != PTCP_CHANNEL_REC_DATA && h[0] != PTCP_CHANNEL_REC_END)
		return fail(ch, PTCP_ERR_CH_MALFORMED);
	if (len > PTCP_CHANNEL_RECORD_MAX || (h[0] == PTCP_CHANNEL_REC_END && len != 0))
		return fail(ch, PTCP_ERR_CH_MALFORMED);
	ch->rx_rec_len = len;
	ch->rx = RX_BODY;
	return 0;
}

/* A whole record is in rbuf: verify it with the sequence number it
 * claims, and only then compare that number with the one expected. A
 * record that verifies under another number is a genuine record of this
 * session in the wrong place, which names replay or reordering precisely;
 * one that does not verify was forged or changed. */
static int on_record(struct ptcp_channel *ch)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	uint8_t *h = ch->rbuf, *body = ch->rbuf + PTCP_CHANNEL_RECORD_HEADER;
	uint64_t seq = get_be64(h + 1);
	size_t len = ch->rx_rec_len;

	make_nonce(nonce, seq);
	/* libsodium checks the tag before it decrypts anything. */
	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(body, NULL, body, len, body + len,
	                                                      h, PTCP_CHANNEL_RECORD_HEADER,
	                                                      nonce, ch->rx_key) != 0)
		return fail(ch, PTCP_ERR_CH_TAMPERED);
	if (seq != ch->rx_seq)
		return fail(ch, seq < ch->rx_seq ? PTCP_ERR_CH_REPLAY : PTCP_ERR_CH_REORDER);
	if (ch->rx_seq == UINT64_MAX)
		return fail(ch, PTCP_ERR_CH_EXHAUSTED);
	ch->rx_seq++;
	ch->rx_have = 0;
	if (h[0] == PTCP_CHANNEL_REC_END) {
		ch->rx = RX_DONE;
		return 0;
	}
	ch->plain_off = PTCP_CHANNEL_RECORD_HEADER;
	ch->plain_end = PTCP_CHANNEL_RECORD_HEADER + len;
	ch->rx = len ? RX_PLAIN : RX_HEADER;
	return 0;
}

/* Bytes the current unit needs in rbuf. */
static size_t rx_want(const struct ptcp_channel *ch)
{
	switch (ch->rx) {
	case RX_HELLO: return PTCP_CHANNEL_HELLO_BYTES;
	case RX_AUTH: return PTCP_CHANNEL_AUTH_BYTES;
	case RX_HEADER: return PTCP_CHANNEL_RECORD_HEADER;
	case RX_BODY: return PTCP_CHANNEL_RECORD_OVERHEAD + ch->rx_rec_len;
	case RX_PLAIN:
	case RX_DONE:
		break;
	}
	return 0;
}

static int rx_unit(struct ptcp_channel *ch)
{
	int rv;

	switch (ch->rx) {
	case RX_HELLO:
		if ((rv = on_hello(ch)) != 0)
			return rv;
		ch->rx_have = 0;
		return 0;
	case RX_AUTH:
		if ((rv = on_auth(ch)) != 0)
			return rv;
		ch->rx_have = 0;
		return 0;
	case RX_HEADER:
		/* The header stays in rbuf: it is the associated data. */
		return on_header(ch);
	case RX_BODY:
		return on_record(ch);
	case RX_PLAIN:
	case RX_DONE:
		break;
	}
	return fail(ch, PTCP_ERR_STATE);
}

ptcp_ssize ptcp_channel_input(struct ptcp_channel *ch, const uint8_t *buf, size_t len)
{
	size_t used = 0;
	int rv;

	if (!ch || (!buf && len))
		return PTCP_ERR_INVAL;
	if (ch->err)
		return ch->err;
	if (len)
		ch->hs_started = true;
	while (used < len) {
		size_t want, take;

		if (ch->rx == RX_PLAIN)
			break;  /* backpressure: the plaintext must be read first */
		if (ch->rx == RX_DONE)
			return fail(ch, PTCP_ERR_CH_TRAILING);
		want = rx_want(ch);
		take = want - ch->rx_have;
		if (take > len - used)
			take = len - used;
		memcpy(ch->rbuf + ch->rx_have, buf + used, take);
		ch->rx_have += take;
		used += take;
		if (ch->rx_have < want)
			break;
		if ((rv = rx_unit(ch)) != 0)
			return rv;
	}
	return (ptcp_ssize)used;
}

int ptcp_channel_input_eof(struct ptcp_channel *ch)
{
	if (!ch)
		return PTCP_ERR_INVAL;
	if (ch->err)
		return ch->err;
	if (ch->rx == RX_DONE)
		return 0;
	return fail(ch, ch->peer_authenticated ? PTCP_ERR_CH_TRUNCATED : PTCP_ERR_CH_HANDSHAKE_EOF);
}

ptcp_ssize ptcp_channel_peek(const struct ptcp_channel *ch, const uint8_t **base)
{
	if (!ch || !base)
		return PTCP_ERR_INVAL;
	if (ch->err)
		return ch->err;
	if (ch->rx != RX_PLAIN)
		return 0;
	*base = ch->rbuf + ch->plain_off;
	return (ptcp_ssize)(ch->plain_end - ch->plain_off);
}

ptcp_ssize ptcp_channel_consume(struct ptcp_channel *ch, size_t n)
{
	if (!ch)
		return PTCP_ERR_INVAL;
	if (ch->err)
		return ch->err;
	if (ch->rx != RX_PLAIN || n > ch->plain_end - ch->plain_off)
		return n ? PTCP_ERR_INVAL : 0;
	ch->plain_off += n;
	if (ch->plain_off == ch->plain_end) {
		sodium_memzero(ch->rbuf, ch->plain_end);
		ch->plain_off = ch->plain_end = 0;
		ch->rx = RX_HEADER;
	}
	return (ptcp_ssize)n;
}

ptcp_ssize ptcp_channel_read(struct ptcp_channel *ch, void *buf, size_t cap)
{
	const uint8_t *base;
	ptcp_ssize n;

	if (!ch || (!buf && cap))
		return PTCP_ERR_INVAL;
	n = ptcp_channel_peek(ch, &base);
	if (n <= 0)
		return n;
	if ((size_t)n > cap)
		n = (ptcp_ssize)cap;
	memcpy(buf, base, (size_t)n);
	return ptcp_channel_consume(ch, (size_t)n);
}

bool ptcp_channel_read_eof(const struct ptcp_channel *ch)
{
	return ch && !ch->err && ch->rx == RX_DONE;
}

bool ptcp_channel_is_established(const struct ptcp_channel *ch)
{
	return ch && !ch->err && ch->peer_authenticated && ch->hs_sent == ch->hs_len;
}

size_t ptcp_channel_sealed_size(size_t len)
{
	size_t full = len / PTCP_CHANNEL_RECORD_MAX, rest = len % PTCP_CHANNEL_RECORD_MAX;

	return full * PTCP_CHANNEL_RECORD_WIRE_MAX + (rest ? rest + PTCP_CHANNEL_RECORD_OVERHEAD : 0);
}

/* Writes one record of type with len plaintext bytes at out (which has
 * room for len + PTCP_CHANNEL_RECORD_OVERHEAD). */
static int seal_one(struct ptcp_channel *ch, uint8_t type, const uint8_t *in, size_t len,
                    uint8_t *out)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	uint8_t *body = out + PTCP_CHANNEL_RECORD_HEADER;

	/* The nonce must never repeat under one key: stop before it wraps. */
	if (ch->tx_seq == UINT64_MAX)
		return fail(ch, PTCP_ERR_CH_EXHAUSTED);
	out[0] = type;
	put_be64(out + 1, ch->tx_seq);
	out[9] = (uint8_t)(len >> 8);
	out[10] = (uint8_t)len;
	make_nonce(nonce, ch->tx_seq);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(body, body + len, NULL, in, len,
	                                                  out, PTCP_CHANNEL_RECORD_HEADER,
	                                                  NULL, nonce, ch->tx_key);
	ch->tx_seq++;
	return 0;
}

static int tx_check(const struct ptcp_channel *ch)
{
	if (ch->err)
		return ch->err;
	if (!ptcp_channel_is_established(ch))
		return PTCP_ERR_STATE;
	if (ch->tx_closed)
		return PTCP_ERR_CLOSED;
	return 0;
}

ptcp_ssize ptcp_channel_seal(struct ptcp_channel *ch, const void *in, size_t len,
                             size_t *taken, uint8_t *out, size_t cap)
{
	const uint8_t *p = in;
	size_t used = 0, written = 0;
	int rv;

	if (!ch || !taken || (!in && len) || (!out && cap))
		return PTCP_ERR_INVAL;
	*taken = 0;
	if ((rv = tx_check(ch)) != 0)
		return rv;
	while (used < len && cap - written > PTCP_CHANNEL_RECORD_OVERHEAD) {
		size_t n = len - used;

		if (n > PTCP_CHANNEL_RECORD_MAX)
			n = PTCP_CHANNEL_RECORD_MAX;
		if (n > cap - written - PTCP_CHANNEL_RECORD_OVERHEAD)
			n = cap - written - PTCP_CHANNEL_RECORD_OVERHEAD;
		if ((rv = seal_one(ch, PTCP_CHANNEL_REC_DATA, p + used, n, out + written)) != 0)
			return rv;
		used += n;
		written += n + PTCP_CHANNEL_RECORD_OVERHEAD;
	}
	if (len && !used)
		return PTCP_ERR_NOBUF;
	*taken = used;
	return (ptcp_ssize)written;
}

ptcp_ssize ptcp_channel_close(struct ptcp_channel *ch, uint8_t *out, size_t cap)
{
	int rv;

	if (!ch || (!out && cap))
		return PTCP_ERR_INVAL;
	if ((rv = tx_check(ch)) != 0)
		return rv;
	if (cap < PTCP_CHANNEL_RECORD_OVERHEAD)
		return PTCP_ERR_NOBUF;
	if ((rv = seal_one(ch, PTCP_CHANNEL_REC_END, (const uint8_t *)"", 0, out)) != 0)
		return rv;
	ch->tx_closed = true;
	sodium_memzero(ch->tx_key, sizeof(ch->tx_key));
	return PTCP_CHANNEL_RECORD_OVERHEAD;
}

int ptcp_channel_error(const struct ptcp_channel *ch)
{
	return ch ? ch->err : PTCP_ERR_INVAL;
}

const uint8_t *ptcp_channel_peer_pk(const struct ptcp_channel *ch)
{
	return ch && ch->peer_authenticated ? ch->peer_hello + 8 : NULL;
}

enum ptcp_channel_role ptcp_channel_role(const struct ptcp_channel *ch)
{
	return ch ? ch->role : (enum ptcp_channel_role)0;
}
