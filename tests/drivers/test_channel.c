/* Tests of the secure channel (core/secure/channel.c): the handshake and
 * the record layer between two in-memory channels, with every byte moved
 * by hand so the tests can split, drop, swap, replay or change any of
 * them. The known-answer vectors are checked twice: against stored hex
 * and against an independent computation from docs/security.md with
 * libsodium called directly. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "channel.h"
#include "check.h"
#include "error.h"

#define FLIGHT (PTCP_CHANNEL_HELLO_BYTES + PTCP_CHANNEL_AUTH_BYTES)

/* --- fixtures ------------------------------------------------------------ */

struct id {
	uint8_t pk[PTCP_CHANNEL_PK_BYTES];
	uint8_t sk[PTCP_CHANNEL_SK_BYTES];
};

static struct id id_from(uint8_t seed_byte)
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	struct id id;

	memset(seed, seed_byte, sizeof(seed));
	crypto_sign_seed_keypair(id.pk, id.sk, seed);
	return id;
}

static const uint8_t BINDING[8] = { 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0 };

static struct ptcp_channel *chan(const struct id *me, const uint8_t *peer_pk,
                                 enum ptcp_channel_role role)
{
	struct ptcp_channel_config cfg = {
		.identity_sk = me->sk,
		.peer_pk = peer_pk,
		.role = role,
		.binding = BINDING,
		.binding_len = sizeof(BINDING),
	};
	struct ptcp_channel *ch = NULL;

	CHECK_INT(ptcp_channel_new(&ch, &cfg), 0);
	return ch;
}

/* Alice (seed 0xa1) and Bob (seed 0xb0), each expecting the other. */
struct pair {
	struct id ia, ib;
	struct ptcp_channel *a, *b;
};

static void pair_new(struct pair *p, enum ptcp_channel_role role_a)
{
	p->ia = id_from(0xa1);
	p->ib = id_from(0xb0);
	p->a = chan(&p->ia, p->ib.pk, role_a);
	p->b = chan(&p->ib, p->ia.pk,
	            role_a == PTCP_CHANNEL_INITIATOR ? PTCP_CHANNEL_RESPONDER : PTCP_CHANNEL_INITIATOR);
}

static void pair_free(struct pair *p)
{
	ptcp_channel_free(p->a);
	ptcp_channel_free(p->b);
	p->a = p->b = NULL;
}

/* Runs the handshake as two peers do after a simultaneous open: each
 * round, both sides send what they have, then both receive, in pieces of
 * chunk bytes. Stops when nothing moves or either side fails. */
static void handshake(struct ptcp_channel *a, struct ptcp_channel *b, size_t chunk)
{
	for (int round = 0; round < 4 * FLIGHT; round++) {
		uint8_t fa[FLIGHT], fb[FLIGHT];
		ptcp_ssize na, nb;
		size_t c = chunk < FLIGHT ? chunk : FLIGHT;

		na = ptcp_channel_handshake_output(a, fa, c);
		nb = ptcp_channel_handshake_output(b, fb, c);
		if (na < 0 || nb < 0 || (na == 0 && nb == 0))
			return;
		if (na > 0 && ptcp_channel_input(b, fa, (size_t)na) != na)
			CHECK(ptcp_channel_error(b) != 0);
		if (nb > 0 && ptcp_channel_input(a, fb, (size_t)nb) != nb)
			CHECK(ptcp_channel_error(a) != 0);
	}
	CHECK(!"handshake did not finish");
}

static void pair_up(struct pair *p, enum ptcp_channel_role role_a)
{
	pair_new(p, role_a);
	handshake(p->a, p->b, FLIGHT);
	CHECK(ptcp_channel_is_established(p->a));
	CHECK(ptcp_channel_is_established(p->b));
}

/* A growing byte buffer: the wire, or received plaintext. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	b->cap = (b->len + more) * 2;
	b->p = realloc(b->p, b->cap);
	if (!b->p)
		abort();
}

static void buf_add(struct buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Seals data into records appended to wire; each call to the channel
 * gets at most `piece` plaintext bytes. Returns the wire bytes added. */
static size_t seal_into(struct ptcp_channel *ch, const uint8_t *data, size_t len, size_t piece,
                        struct buf *wire)
{
	size_t before = wire->len, off = 0;

	while (off < len) {
		size_t n = len - off < piece ? len - off : piece;
		size_t taken = 0;
		ptcp_ssize w;

		buf_reserve(wire, ptcp_channel_sealed_size(n));
		w = ptcp_channel_seal(ch, data + off, n, &taken, wire->p + wire->len,
		                      wire->cap - wire->len);
		CHECK(w > 0);
		if (w <= 0)
			break;
		CHECK_EQ(taken, n);
		wire->len += (size_t)w;
		off += taken;
	}
	return wire->len - before;
}

static size_t seal_close(struct ptcp_channel *ch, struct buf *wire)
{
	buf_reserve(wire, PTCP_CHANNEL_RECORD_OVERHEAD);
	ptcp_ssize w = ptcp_channel_close(ch, wire->p + wire->len, wire->cap - wire->len);
	CHECK_INT(w, PTCP_CHANNEL_RECORD_OVERHEAD);
	if (w > 0)
		wire->len += (size_t)w;
	return w > 0 ? (size_t)w : 0;
}

/* Reads every plaintext byte ready into out. Returns 0 or the error. */
static int drain(struct ptcp_channel *ch, struct buf *out)
{
	uint8_t tmp[5000];
	ptcp_ssize n;

	while ((n = ptcp_channel_read(ch, tmp, sizeof(tmp))) > 0)
		buf_add(out, tmp, (size_t)n);
	return (int)n;
}

/* Feeds wire[0..len) to ch in pieces of `chunk` bytes (0 = pseudo-random
 * sizes from *rng), reading plaintext as it becomes ready, then the EOF if
 * eof. Returns 0 or the first error. */
static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static int deliver(struct ptcp_channel *ch, const uint8_t *wire, size_t len, size_t chunk,
                   uint32_t *rng, bool eof, struct buf *out)
{
	size_t off = 0;
	int rv;

	while (off < len) {
		size_t n = chunk ? chunk : 1 + xorshift(rng) % 20000;
		ptcp_ssize m;

		if (n > len - off)
			n = len - off;
		while (n) {
			size_t before = out->len;

			m = ptcp_channel_input(ch, wire + off, n);
			if (m < 0)
				return (int)m;
			off += (size_t)m;
			n -= (size_t)m;
			if ((rv = drain(ch, out)) < 0)
				return rv;
			/* Nothing taken and nothing to read: a stuck channel. */
			if (m == 0 && out->len == before) {
				CHECK(!"channel stopped taking input");
				return PTCP_ERR_STATE;
			}
		}
	}
	if ((rv = drain(ch, out)) < 0)
		return rv;
	return eof ? ptcp_channel_input_eof(ch) : 0;
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)xorshift(&seed);
}

static void hex(char *out, const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = 0;
}

/* --- roles and setup ------------------------------------------------------ */

static void test_role_from_keys(void)
{
	uint8_t x[32], y[32];
	uint32_t rng = 12345;
	int initiators = 0;

	for (int i = 0; i < 2000; i++) {
		fill(x, 32, xorshift(&rng));
		memcpy(y, x, 32);
		/* Some pairs differ only in one late byte, to catch a rule that
		 * looks at a prefix. */
		if (i % 2)
			fill(y, 32, xorshift(&rng));
		else
			y[31 - i % 32] ^= (uint8_t)(1 + i % 255);
		int rx = ptcp_channel_role_from_keys(x, y);
		int ry = ptcp_channel_role_from_keys(y, x);
		CHECK(rx == PTCP_CHANNEL_INITIATOR || rx == PTCP_CHANNEL_RESPONDER);
		CHECK(ry == PTCP_CHANNEL_INITIATOR || ry == PTCP_CHANNEL_RESPONDER);
		CHECK(rx != ry);
		initiators += rx == PTCP_CHANNEL_INITIATOR;
	}
	/* The rule is not "always initiator" nor "always responder". */
	CHECK(initiators > 500 && initiators < 1500);

	memset(x, 0, 32);
	memset(y, 0, 32);
	y[31] = 1;
	CHECK_INT(ptcp_channel_role_from_keys(x, y), PTCP_CHANNEL_INITIATOR);
	CHECK_INT(ptcp_channel_role_from_keys(y, x), PTCP_CHANNEL_RESPONDER);
	CHECK_INT(ptcp_channel_role_from_keys(x, x), PTCP_ERR_CH_SELF);
	memcpy(y, x, 32);
	CHECK_INT(ptcp_channel_role_from_keys(x, y), PTCP_ERR_CH_SELF);
	CHECK_INT(ptcp_channel_role_from_keys(NULL, y), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_channel_role_from_keys(x, NULL), PTCP_ERR_INVAL);
}

/* Two real channels given roles by the rule always complete the handshake. */
static void test_role_rule_handshakes(void)
{
	for (uint8_t s = 1; s < 20; s++) {
		struct id a = id_from(s), b = id_from((uint8_t)(s + 100));
		int ra = ptcp_channel_role_from_keys(a.pk, b.pk);
		int rb = ptcp_channel_role_from_keys(b.pk, a.pk);
		struct ptcp_channel *ca = chan(&a, b.pk, (enum ptcp_channel_role)ra);
		struct ptcp_channel *cb = chan(&b, a.pk, (enum ptcp_channel_role)rb);

		handshake(ca, cb, FLIGHT);
		CHECK(ptcp_channel_is_established(ca));
		CHECK(ptcp_channel_is_established(cb));
		CHECK(ptcp_channel_role(ca) != ptcp_channel_role(cb));
		ptcp_channel_free(ca);
		ptcp_channel_free(cb);
	}
}

static void test_binding_isns(void)
{
	uint8_t bi[8], br[8];
	const uint8_t want[8] = { 0x11, 0x22, 0x33, 0x44, 0xde, 0xad, 0xbe, 0xef };

	CHECK_INT(ptcp_channel_binding_isns(bi, PTCP_CHANNEL_INITIATOR, 0x11223344, 0xdeadbeef), 8);
	CHECK_INT(ptcp_channel_binding_isns(br, PTCP_CHANNEL_RESPONDER, 0xdeadbeef, 0x11223344), 8);
	CHECK(memcmp(bi, want, 8) == 0);
	CHECK(memcmp(br, want, 8) == 0);
	CHECK_INT(ptcp_channel_binding_isns(bi, (enum ptcp_channel_role)0, 1, 2), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_channel_binding_isns(NULL, PTCP_CHANNEL_INITIATOR, 1, 2), PTCP_ERR_INVAL);
}

static bool allow_all(void *user, const uint8_t *pk)
{
	(void)user;
	(void)pk;
	return true;
}

static void test_new_invalid(void)
{
	struct id a = id_from(1), b = id_from(2);
	uint8_t bad_sk[64], long_binding[PTCP_CHANNEL_BINDING_MAX + 1];
	struct ptcp_channel *ch = NULL;
	struct ptcp_channel_config cfg = {
		.identity_sk = a.sk, .peer_pk = b.pk, .role = PTCP_CHANNEL_INITIATOR,
	};

	CHECK_INT(ptcp_channel_new(&ch, &cfg), 0);
	ptcp_channel_free(ch);
	ch = NULL;
	CHECK_INT(ptcp_channel_new(NULL, &cfg), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_channel_new(&ch, NULL), PTCP_ERR_INVAL);

	cfg.role = (enum ptcp_channel_role)3;
	CHECK_INT(ptcp_channel_new(&ch, &cfg), PTCP_ERR_INVAL);
	cfg.role = PTCP_CHANNEL_RESPONDER;

	cfg.identity_sk = NULL;
	CHECK_INT(ptcp_channel_new(&ch, &cfg), PTCP_ERR_INVAL);
	/* A secret key whose public half belongs to another seed. */
	memcpy(bad_sk, a.sk, 32);
	memcpy(bad_sk + 32, b.pk, 32);
	cfg.identity_sk = bad_sk;
	CHECK_INT(ptcp_channel_new(&ch, &cfg), PTCP_ERR_INVAL);
	cfg.identity_sk = a.sk;

	memset(long_binding, 7, sizeof(long_binding));
	cfg.binding = long_binding;
	cfg.binding_len = sizeof(long_binding);
	CHECK_INT(ptcp_channel_new(&ch, &cfg), PTCP_ERR_INVAL);
	cfg.binding_len = PTCP_CHANNEL_BINDING_MAX;
	CHECK_INT(ptcp_channel_new(&ch, &cfg), 0);
	ptcp_channel_free(ch);
	ch = NULL;
	cfg.binding = NULL;
	CHECK_INT(ptcp_channel_new(&ch, &cfg), PTCP_ERR_INVAL);
	cfg.binding_len = 0;

	cfg.peer_pk = NULL;
	CHECK_INT(ptcp_channel_new(&ch, &cfg), PTCP_ERR_INVAL);
	cfg.allow = allow_all;
	CHECK_INT(ptcp_channel_new(&ch, &cfg), 0);
	ptcp_channel_free(ch);
	ch = NULL;

	cfg.peer_pk = a.pk;
	CHECK_INT(ptcp_channel_new(&ch, &cfg), PTCP_ERR_CH_SELF);
	CHECK(ch == NULL);
	ptcp_channel_free(NULL);
}

static void test_strerror(void)
{
	const char *seen[32];
	int n = 0;

	for (int e = PTCP_ERR_CH_CRYPTO; e <= PTCP_ERR_CH_PROTOCOL; e++) {
		const char *s = ptcp_strerror(e);

		CHECK(s && strcmp(s, "unknown error") != 0);
		for (int i = 0; i < n; i++)
			CHECK(strcmp(seen[i], s) != 0);
		seen[n++] = s;
	}
	CHECK(strcmp(ptcp_strerror(PTCP_ERR_NOBUF), ptcp_strerror(PTCP_ERR_NOBUF)) == 0);
	CHECK(strcmp(ptcp_strerror(-1000), "unknown error") == 0);
	CHECK(strcmp(ptcp_channel_role_name(PTCP_CHANNEL_INITIATOR), "initiator") == 0);
	CHECK(strcmp(ptcp_channel_role_name(PTCP_CHANNEL_RESPONDER), "responder") == 0);
	CHECK(strcmp(ptcp_channel_role_name((enum ptcp_channel_role)9), "?") == 0);
}

/* --- the handshake ------------------------------------------------------- */

static void test_handshake(void)
{
	struct pair p;
	uint8_t buf[200];

	pair_new(&p, PTCP_CHANNEL_INITIATOR);
	CHECK(!ptcp_channel_is_established(p.a));
	CHECK(ptcp_channel_peer_pk(p.a) == NULL);
	CHECK_EQ(ptcp_channel_handshake_pending(p.a), PTCP_CHANNEL_HELLO_BYTES);
	/* Nothing can be sealed or closed before the handshake. */
	size_t taken = 99;
	CHECK_INT(ptcp_channel_seal(p.a, "x", 1, &taken, buf, sizeof(buf)), PTCP_ERR_STATE);
	CHECK_EQ(taken, 0);
	CHECK_INT(ptcp_channel_close(p.a, buf, sizeof(buf)), PTCP_ERR_STATE);

	handshake(p.a, p.b, FLIGHT);
	CHECK(ptcp_channel_is_established(p.a));
	CHECK(ptcp_channel_is_established(p.b));
	CHECK_INT(ptcp_channel_error(p.a), 0);
	CHECK_INT(ptcp_channel_error(p.b), 0);
	CHECK(ptcp_channel_peer_pk(p.a) && memcmp(ptcp_channel_peer_pk(p.a), p.ib.pk, 32) == 0);
	CHECK(ptcp_channel_peer_pk(p.b) && memcmp(ptcp_channel_peer_pk(p.b), p.ia.pk, 32) == 0);
	CHECK_EQ(ptcp_channel_handshake_pending(p.a), 0);
	CHECK_INT(ptcp_channel_handshake_output(p.a, buf, sizeof(buf)), 0);
	CHECK_INT(ptcp_channel_role(p.a), PTCP_CHANNEL_INITIATOR);
	CHECK_INT(ptcp_channel_role(p.b), PTCP_CHANNEL_RESPONDER);
	CHECK(!ptcp_channel_read_eof(p.a));
	pair_free(&p);
}

/* Every handshake byte moved on its own, in both role assignments. */
static void test_handshake_byte_by_byte(void)
{
	for (int r = 1; r <= 2; r++) {
		struct pair p;

		pair_new(&p, (enum ptcp_channel_role)r);
		handshake(p.a, p.b, 1);
		CHECK(ptcp_channel_is_established(p.a));
		CHECK(ptcp_channel_is_established(p.b));
		pair_free(&p);
	}
}

/* The peer is authenticated before our own AUTH left: we must not seal
 * yet (the caller would put records before our AUTH on the wire). */
static void test_established_needs_own_auth_out(void)
{
	struct pair p;
	uint8_t fa[FLIGHT], fb[FLIGHT], out[100];
	size_t taken;

	pair_new(&p, PTCP_CHANNEL_INITIATOR);
	CHECK_INT(ptcp_channel_handshake_output(p.a, fa, sizeof(fa)), PTCP_CHANNEL_HELLO_BYTES);
	CHECK_INT(ptcp_channel_handshake_output(p.b, fb, sizeof(fb)), PTCP_CHANNEL_HELLO_BYTES);
	CHECK_INT(ptcp_channel_input(p.b, fa, PTCP_CHANNEL_HELLO_BYTES), PTCP_CHANNEL_HELLO_BYTES);
	CHECK_INT(ptcp_channel_handshake_output(p.b, fb + 72, 64), 64);
	/* a gets b's whole flight at once before its own AUTH was taken. */
	CHECK_INT(ptcp_channel_input(p.a, fb, FLIGHT), FLIGHT);
	CHECK(ptcp_channel_peer_pk(p.a) != NULL);
	CHECK(!ptcp_channel_is_established(p.a));
	CHECK_INT(ptcp_channel_seal(p.a, "x", 1, &taken, out, sizeof(out)), PTCP_ERR_STATE);
	CHECK_EQ(ptcp_channel_handshake_pending(p.a), PTCP_CHANNEL_AUTH_BYTES);
	/* Taken in two pieces. */
	CHECK_INT(ptcp_channel_handshake_output(p.a, fa + 72, 10), 10);
	CHECK(!ptcp_channel_is_established(p.a));
	CHECK_INT(ptcp_channel_handshake_output(p.a, fa + 82, 100), 54);
	CHECK(ptcp_channel_is_established(p.a));
	CHECK_INT(ptcp_channel_input(p.b, fa + 72, 64), 64);
	CHECK(ptcp_channel_is_established(p.b));
	pair_free(&p);
}

static void test_set_ephemeral_state(void)
{
	struct pair p;
	uint8_t e[32] = { 9 }, buf[8];

	pair_new(&p, PTCP_CHANNEL_INITIATOR);
	CHECK_INT(ptcp_channel_set_ephemeral(p.a, e), 0);
	CHECK_INT(ptcp_channel_handshake_output(p.a, buf, 1), 1);
	CHECK_INT(ptcp_channel_set_ephemeral(p.a, e), PTCP_ERR_STATE);
	/* Input counts as started too. */
	CHECK_INT(ptcp_channel_input(p.b, buf, 1), 1);
	CHECK_INT(ptcp_channel_set_ephemeral(p.b, e), PTCP_ERR_STATE);
	pair_free(&p);
}

static void test_wrong_peer(void)
{
	struct id a = id_from(1), b = id_from(2), c = id_from(3);
	struct ptcp_channel *ca = chan(&a, c.pk, PTCP_CHANNEL_INITIATOR); /* wants c */
	struct ptcp_channel *cb = chan(&b, a.pk, PTCP_CHANNEL_RESPONDER); /* b answers */
	struct buf got = { 0 };
	size_t taken;
	uint8_t out[64];

	handshake(ca, cb, FLIGHT);
	CHECK_INT(ptcp_channel_error(ca), PTCP_ERR_CH_WRONG_PEER);
	CHECK(!ptcp_channel_is_established(ca));
	CHECK(ptcp_channel_peer_pk(ca) == NULL);
	/* a stopped before signing: b never authenticates a and sees the
	 * stream end during the handshake. */
	CHECK(!ptcp_channel_is_established(cb));
	CHECK_INT(ptcp_channel_input_eof(cb), PTCP_ERR_CH_HANDSHAKE_EOF);
	CHECK_INT(ptcp_channel_seal(cb, "x", 1, &taken, out, sizeof(out)), PTCP_ERR_CH_HANDSHAKE_EOF);
	CHECK_INT(drain(ca, &got), PTCP_ERR_CH_WRONG_PEER);
	CHECK_EQ(got.len, 0);
	ptcp_channel_free(ca);
	ptcp_channel_free(cb);
}

/* Someone who knows b's id but not b's key claims to be b. */
static void test_impostor(void)
{
	struct id a = id_from(1), b = id_from(2), m = id_from(6);
	struct ptcp_channel *ca = chan(&a, b.pk, PTCP_CHANNEL_INITIATOR);
	struct ptcp_channel *cm = chan(&m, a.pk, PTCP_CHANNEL_RESPONDER);
	uint8_t fm[FLIGHT], fa[FLIGHT];

	CHECK_INT(ptcp_channel_handshake_output(ca, fa, sizeof(fa)), 72);
	CHECK_INT(ptcp_channel_handshake_output(cm, fm, sizeof(fm)), 72);
	memcpy(fm + 8, b.pk, 32);  /* m's HELLO claims b's id */
	CHECK_INT(ptcp_channel_input(cm, fa, 72), 72);
	CHECK_INT(ptcp_channel_handshake_output(cm, fm + 72, 64), 64);
	CHECK_INT(ptcp_channel_input(ca, fm, 72), 72);  /* the id matches... */
	CHECK_INT(ptcp_channel_input(ca, fm + 72, 64), PTCP_ERR_CH_AUTH); /* ...the signature cannot */
	CHECK(!ptcp_channel_is_established(ca));
	ptcp_channel_free(ca);
	ptcp_channel_free(cm);
}

struct allow_log {
	int calls;
	bool answer;
	uint8_t seen[32];
};

static bool allow_log(void *user, const uint8_t *pk)
{
	struct allow_log *l = user;

	l->calls++;
	memcpy(l->seen, pk, 32);
	return l->answer;
}

static struct ptcp_channel *chan_allow(const struct id *me, enum ptcp_channel_role role,
                                       struct allow_log *log)
{
	struct ptcp_channel_config cfg = {
		.identity_sk = me->sk, .allow = allow_log, .user = log, .role = role,
		.binding = BINDING, .binding_len = sizeof(BINDING),
	};
	struct ptcp_channel *ch = NULL;

	CHECK_INT(ptcp_channel_new(&ch, &cfg), 0);
	return ch;
}

static void test_allow_callback(void)
{
	struct id a = id_from(1), b = id_from(2);
	struct allow_log yes = { .answer = true }, no = { .answer = false }, tam = { .answer = true };
	struct ptcp_channel *ca, *cb;
	struct buf wire = { 0 }, got = { 0 };
	uint8_t fa[FLIGHT], fb[FLIGHT];

	/* Accepted: the callback saw b's authenticated id once. */
	ca = chan_allow(&a, PTCP_CHANNEL_RESPONDER, &yes);
	cb = chan(&b, a.pk, PTCP_CHANNEL_INITIATOR);
	handshake(ca, cb, FLIGHT);
	CHECK(ptcp_channel_is_established(ca));
	CHECK_INT(yes.calls, 1);
	CHECK(memcmp(yes.seen, b.pk, 32) == 0);
	CHECK(memcmp(ptcp_channel_peer_pk(ca), b.pk, 32) == 0);
	ptcp_channel_free(ca);
	ptcp_channel_free(cb);

	/* Refused: no plaintext from the refused peer, ever. Here a's AUTH
	 * left before b's arrived, so b believes the channel is up. */
	ca = chan_allow(&a, PTCP_CHANNEL_RESPONDER, &no);
	cb = chan(&b, a.pk, PTCP_CHANNEL_INITIATOR);
	CHECK_INT(ptcp_channel_handshake_output(ca, fa, sizeof(fa)), 72);
	CHECK_INT(ptcp_channel_handshake_output(cb, fb, sizeof(fb)), 72);
	CHECK_INT(ptcp_channel_input(cb, fa, 72), 72);
	CHECK_INT(ptcp_channel_input(ca, fb, 72), 72);
	CHECK_INT(ptcp_channel_handshake_output(ca, fa + 72, 64), 64);
	CHECK_INT(ptcp_channel_handshake_output(cb, fb + 72, 64), 64);
	CHECK_INT(ptcp_channel_input(cb, fa + 72, 64), 64);
	CHECK_INT(ptcp_channel_input(ca, fb + 72, 64), PTCP_ERR_CH_NOT_ALLOWED);
	CHECK_INT(ptcp_channel_error(ca), PTCP_ERR_CH_NOT_ALLOWED);
	CHECK_INT(no.calls, 1);
	CHECK(ptcp_channel_peer_pk(ca) == NULL);
	CHECK(ptcp_channel_is_established(cb));  /* b cannot know; a will abort */
	seal_into(cb, (const uint8_t *)"let me in", 9, 100, &wire);
	CHECK_INT(deliver(ca, wire.p, wire.len, 0, &(uint32_t){ 1 }, true, &got),
	          PTCP_ERR_CH_NOT_ALLOWED);
	CHECK_EQ(got.len, 0);
	ptcp_channel_free(ca);
	ptcp_channel_free(cb);

	/* A forged AUTH never reaches the callback. */
	ca = chan_allow(&a, PTCP_CHANNEL_RESPONDER, &tam);
	cb = chan(&b, a.pk, PTCP_CHANNEL_INITIATOR);
	CHECK_INT(ptcp_channel_handshake_output(ca, fa, sizeof(fa)), 72);
	CHECK_INT(ptcp_channel_handshake_output(cb, fb, sizeof(fb)), 72);
	CHECK_INT(ptcp_channel_input(cb, fa, 72), 72);
	CHECK_INT(ptcp_channel_handshake_output(cb, fb + 72, 64), 64);
	fb[100] ^= 4;
	CHECK_INT(ptcp_channel_input(ca, fb, FLIGHT), PTCP_ERR_CH_AUTH);
	CHECK_INT(tam.calls, 0);
	ptcp_channel_free(ca);
	ptcp_channel_free(cb);
	buf_free(&wire);
	buf_free(&got);
}

static void test_same_role(void)
{
	for (int r = 1; r <= 2; r++) {
		struct id a = id_from(1), b = id_from(2);
		struct ptcp_channel *ca = chan(&a, b.pk, (enum ptcp_channel_role)r);
		struct ptcp_channel *cb = chan(&b, a.pk, (enum ptcp_channel_role)r);

		handshake(ca, cb, FLIGHT);
		/* Both sides notice, whichever role both picked: no side waits
		 * for the other to speak first. */
		CHECK_INT(ptcp_channel_error(ca), PTCP_ERR_CH_ROLE);
		CHECK_INT(ptcp_channel_error(cb), PTCP_ERR_CH_ROLE);
		CHECK(!ptcp_channel_is_established(ca));
		CHECK(!ptcp_channel_is_established(cb));
		ptcp_channel_free(ca);
		ptcp_channel_free(cb);
	}
}

/* Our own HELLO reflected back, and a peer with our own identity. */
static void test_self(void)
{
	struct id a = id_from(1);
	struct allow_log log = { .answer = true };
	struct ptcp_channel *c1 = chan_allow(&a, PTCP_CHANNEL_INITIATOR, &log);
	struct ptcp_channel *c2 = chan_allow(&a, PTCP_CHANNEL_RESPONDER, &log);
	uint8_t f[FLIGHT];

	CHECK_INT(ptcp_channel_handshake_output(c1, f, sizeof(f)), 72);
	CHECK_INT(ptcp_channel_input(c2, f, 72), PTCP_ERR_CH_SELF);
	CHECK_INT(ptcp_channel_input(c1, f, 72), PTCP_ERR_CH_ROLE);
	CHECK_INT(log.calls, 0);
	ptcp_channel_free(c1);
	ptcp_channel_free(c2);
}

static void test_not_a_channel(void)
{
	const char *http = "GET / HTTP/1.1\r\nHost: example.org\r\n\r\nand some more bytes to fill a hello";
	struct pair p;
	uint8_t f[FLIGHT];

	pair_new(&p, PTCP_CHANNEL_INITIATOR);
	CHECK_INT(ptcp_channel_input(p.a, (const uint8_t *)http, 71), 71);  /* not a whole HELLO yet */
	CHECK_INT(ptcp_channel_input(p.a, (const uint8_t *)http + 71, 1), PTCP_ERR_CH_PROTOCOL);
	pair_free(&p);

	/* Version 2 of the protocol. */
	pair_new(&p, PTCP_CHANNEL_INITIATOR);
	CHECK_INT(ptcp_channel_handshake_output(p.b, f, sizeof(f)), 72);
	f[6] = 2;
	CHECK_INT(ptcp_channel_input(p.a, f, 72), PTCP_ERR_CH_VERSION);
	pair_free(&p);
}

/* A low-order X25519 point would give an all-zero, public secret. */
static void test_weak_ephemeral(void)
{
	/* u = 0 and u = 1 (orders 4 and 1) and a point of order 8. */
	static const uint8_t order8[32] = {
		0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
		0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
		0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
	};
	for (int k = 0; k < 3; k++) {
		struct pair p;
		uint8_t f[FLIGHT];

		pair_new(&p, PTCP_CHANNEL_INITIATOR);
		CHECK_INT(ptcp_channel_handshake_output(p.b, f, sizeof(f)), 72);
		memset(f + 40, 0, 32);
		if (k == 1)
			f[40] = 1;
		if (k == 2)
			memcpy(f + 40, order8, 32);
		CHECK_INT(ptcp_channel_input(p.a, f, 72), PTCP_ERR_CH_WEAK_KEY);
		CHECK_EQ(ptcp_channel_handshake_pending(p.a), 0);  /* no AUTH for it */
		pair_free(&p);
	}
}

static void test_binding_mismatch(void)
{
	struct id a = id_from(1), b = id_from(2);
	uint8_t other[8];
	struct ptcp_channel_config cfg = {
		.identity_sk = b.sk, .peer_pk = a.pk, .role = PTCP_CHANNEL_RESPONDER,
		.binding = other, .binding_len = sizeof(other),
	};
	struct ptcp_channel *ca = chan(&a, b.pk, PTCP_CHANNEL_INITIATOR), *cb = NULL;

	/* b saw another ISN (say, a middlebox rewrote it and b bound what it
	 * observed): the handshake must fail on both sides. */
	memcpy(other, BINDING, 8);
	other[7] ^= 1;
	CHECK_INT(ptcp_channel_new(&cb, &cfg), 0);
	handshake(ca, cb, FLIGHT);
	CHECK_INT(ptcp_channel_error(ca), PTCP_ERR_CH_AUTH);
	CHECK_INT(ptcp_channel_error(cb), PTCP_ERR_CH_AUTH);
	ptcp_channel_free(ca);
	ptcp_channel_free(cb);
}

/* An earlier session's flight, replayed into a new one. */
static void test_replayed_handshake(void)
{
	struct pair old, now;
	uint8_t fa[FLIGHT], fb[FLIGHT];

	pair_new(&old, PTCP_CHANNEL_INITIATOR);
	CHECK_INT(ptcp_channel_handshake_output(old.a, fa, sizeof(fa)), 72);
	CHECK_INT(ptcp_channel_handshake_output(old.b, fb, sizeof(fb)), 72);
	CHECK_INT(ptcp_channel_input(old.a, fb, 72), 72);
	CHECK_INT(ptcp_channel_handshake_output(old.a, fa + 72, 64), 64);

	pair_new(&now, PTCP_CHANNEL_INITIATOR);
	CHECK_INT(ptcp_channel_input(now.b, fa, FLIGHT), PTCP_ERR_CH_AUTH);
	pair_free(&old);
	pair_free(&now);
}

/* Expected error for a tampered byte at pos of a HELLO+AUTH flight from a
 * side playing role, xor x. */
static int hs_tamper_expect(size_t pos, enum ptcp_channel_role role, uint8_t x)
{
	if (pos < 6)
		return PTCP_ERR_CH_PROTOCOL;
	if (pos == 6)
		return PTCP_ERR_CH_VERSION;
	if (pos == 7) {
		int r = role ^ x;
		return r == 1 || r == 2 ? PTCP_ERR_CH_ROLE : PTCP_ERR_CH_PROTOCOL;
	}
	if (pos < 40)
		return PTCP_ERR_CH_WRONG_PEER;
	return PTCP_ERR_CH_AUTH;
}

/* Every byte of one side's flight changed in turn, with three patterns;
 * the receiver must name the right error and never give plaintext, and
 * the sender must never be able to get data through. */
static void test_tamper_handshake_every_byte(void)
{
	static const uint8_t xs[] = { 0x01, 0x80, 0xff };
	int cases = 0;

	for (int r = 1; r <= 2; r++) {
		for (size_t pos = 0; pos < FLIGHT; pos++) {
			for (size_t k = 0; k < sizeof(xs); k++) {
				struct pair p;
				uint8_t fa[FLIGHT], fb[FLIGHT];
				struct buf wire = { 0 }, got = { 0 };
				int want = hs_tamper_expect(pos, (enum ptcp_channel_role)r, xs[k]), err;

				pair_new(&p, (enum ptcp_channel_role)r);
				/* a's whole flight, before b has received anything. */
				CHECK_INT(ptcp_channel_handshake_output(p.a, fa, sizeof(fa)), 72);
				CHECK_INT(ptcp_channel_handshake_output(p.b, fb, sizeof(fb)), 72);
				CHECK_INT(ptcp_channel_input(p.a, fb, 72), 72);
				CHECK_INT(ptcp_channel_handshake_output(p.a, fa + 72, 64), 64);
				fa[pos] ^= xs[k];
				/* b answers a's HELLO before a's AUTH arrives, so a can
				 * finish when only its AUTH was changed. */
				err = (int)ptcp_channel_input(p.b, fa, 72);
				if (err >= 0) {
					CHECK_INT(err, 72);
					if (ptcp_channel_handshake_output(p.b, fb + 72, 64) == 64)
						ptcp_channel_input(p.a, fb + 72, 64);
					err = (int)ptcp_channel_input(p.b, fa + 72, 64);
				}
				CHECK_INT(err, want);
				CHECK_INT(ptcp_channel_error(p.b), want);
				CHECK(!ptcp_channel_is_established(p.b));
				CHECK(ptcp_channel_peer_pk(p.b) == NULL);
				if (pos < 40) {
					/* b stopped at the HELLO: no AUTH from it. */
					CHECK(!ptcp_channel_is_established(p.a));
					CHECK_INT(ptcp_channel_error(p.a), 0);
				} else if (pos < 72) {
					/* b signed the changed HELLO: a cannot verify that. */
					CHECK_INT(ptcp_channel_error(p.a), PTCP_ERR_CH_AUTH);
				} else {
					/* Only a's AUTH changed: a is satisfied, but whatever it
					 * sends is refused. */
					CHECK(ptcp_channel_is_established(p.a));
					seal_into(p.a, (const uint8_t *)"secret", 6, 6, &wire);
					err = deliver(p.b, wire.p, wire.len, 1, NULL, true, &got);
					CHECK_INT(err, want);
				}
				CHECK_EQ(got.len, 0);
				CHECK_INT(ptcp_channel_input_eof(p.b), want);
				pair_free(&p);
				buf_free(&wire);
				buf_free(&got);
				cases++;
				if (check_failed())
					return;
			}
		}
	}
	CHECK_INT(cases, 2 * FLIGHT * 3);
}

static void test_eof_during_handshake(void)
{
	struct pair p;
	uint8_t f[FLIGHT];

	pair_new(&p, PTCP_CHANNEL_INITIATOR);
	CHECK_INT(ptcp_channel_input_eof(p.a), PTCP_ERR_CH_HANDSHAKE_EOF);
	pair_free(&p);

	/* After the HELLO, before the AUTH. */
	pair_new(&p, PTCP_CHANNEL_INITIATOR);
	CHECK_INT(ptcp_channel_handshake_output(p.b, f, sizeof(f)), 72);
	CHECK_INT(ptcp_channel_input(p.a, f, 72), 72);
	CHECK_INT(ptcp_channel_input_eof(p.a), PTCP_ERR_CH_HANDSHAKE_EOF);
	CHECK_INT(ptcp_channel_input_eof(p.a), PTCP_ERR_CH_HANDSHAKE_EOF);
	pair_free(&p);
}

/* --- records --------------------------------------------------------------- */

/* Sizes around the record limit, sealed and fed in odd chunk sizes. */
static void test_data_both_ways(void)
{
	static const size_t sizes[] = { 1, 2, 7, 26, 27, 28, 1000, 16383, 16384, 16385, 32768, 50001 };
	static const size_t chunks[] = { 1, 3, 11, 12, 27, 28, 1000, 16411, 16412, 0 };
	uint32_t rng = 777;

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			struct pair p;
			struct buf wab = { 0 }, wba = { 0 }, gab = { 0 }, gba = { 0 };
			uint8_t *da = malloc(sizes[s]), *db = malloc(sizes[s]);

			fill(da, sizes[s], (uint32_t)(s * 100 + c + 1));
			fill(db, sizes[s], (uint32_t)(s * 100 + c + 5000));
			pair_up(&p, c % 2 ? PTCP_CHANNEL_RESPONDER : PTCP_CHANNEL_INITIATOR);
			/* Plaintext offered in pieces of odd sizes too. */
			seal_into(p.a, da, sizes[s], 1 + (c * 7919) % 20000, &wab);
			seal_into(p.b, db, sizes[s], 3 + (s * 104729) % 17000, &wba);
			seal_close(p.a, &wab);
			seal_close(p.b, &wba);
			CHECK_INT(deliver(p.b, wab.p, wab.len, chunks[c], &rng, true, &gab), 0);
			CHECK_INT(deliver(p.a, wba.p, wba.len, chunks[c], &rng, true, &gba), 0);
			CHECK_EQ(gab.len, sizes[s]);
			CHECK_EQ(gba.len, sizes[s]);
			CHECK(gab.len == sizes[s] && memcmp(gab.p, da, sizes[s]) == 0);
			CHECK(gba.len == sizes[s] && memcmp(gba.p, db, sizes[s]) == 0);
			CHECK(ptcp_channel_read_eof(p.a));
			CHECK(ptcp_channel_read_eof(p.b));
			pair_free(&p);
			buf_free(&wab);
			buf_free(&wba);
			buf_free(&gab);
			buf_free(&gba);
			free(da);
			free(db);
		}
	}
}

/* 8 MiB each way, interleaved: the two directions use separate keys
 * and sequence numbers. */
static void test_large_transfer(void)
{
	const size_t total = 8u << 20;
	uint8_t *da = malloc(total), *db = malloc(total);
	struct buf gab = { 0 }, gba = { 0 };
	uint32_t rng = 4242;
	size_t off = 0;
	struct pair p;

	fill(da, total, 1);
	fill(db, total, 2);
	pair_up(&p, PTCP_CHANNEL_INITIATOR);
	while (off < total) {
		size_t n = 1 + xorshift(&rng) % 70000;
		struct buf wab = { 0 }, wba = { 0 };

		if (n > total - off)
			n = total - off;
		seal_into(p.a, da + off, n, 1 + xorshift(&rng) % 40000, &wab);
		seal_into(p.b, db + off, n, 1 + xorshift(&rng) % 40000, &wba);
		if (off + n == total) {
			seal_close(p.a, &wab);
			seal_close(p.b, &wba);
		}
		CHECK_INT(deliver(p.b, wab.p, wab.len, 0, &rng, off + n == total, &gab), 0);
		CHECK_INT(deliver(p.a, wba.p, wba.len, 0, &rng, off + n == total, &gba), 0);
		buf_free(&wab);
		buf_free(&wba);
		off += n;
		if (check_failed())
			break;
	}
	CHECK_EQ(gab.len, total);
	CHECK_EQ(gba.len, total);
	CHECK(gab.len == total && memcmp(gab.p, da, total) == 0);
	CHECK(gba.len == total && memcmp(gba.p, db, total) == 0);
	CHECK(ptcp_channel_read_eof(p.a) && ptcp_channel_read_eof(p.b));
	pair_free(&p);
	buf_free(&gab);
	buf_free(&gba);
	free(da);
	free(db);
}

static void test_seal_sizes(void)
{
	struct pair p;
	uint8_t data[40000], out[40000];
	size_t taken;
	ptcp_ssize w;

	fill(data, sizeof(data), 3);
	pair_up(&p, PTCP_CHANNEL_INITIATOR);
	CHECK_EQ(ptcp_channel_sealed_size(0), 0);
	CHECK_EQ(ptcp_channel_sealed_size(1), 28);
	CHECK_EQ(ptcp_channel_sealed_size(16384), 16411);
	CHECK_EQ(ptcp_channel_sealed_size(16385), 16411 + 28);
	/* Too small for a record with one byte. */
	CHECK_INT(ptcp_channel_seal(p.a, data, 10, &taken, out, 27), PTCP_ERR_NOBUF);
	CHECK_EQ(taken, 0);
	/* Nothing to seal, nothing written. */
	CHECK_INT(ptcp_channel_seal(p.a, data, 0, &taken, out, sizeof(out)), 0);
	/* The buffer bounds the record: 3 bytes in 30. */
	CHECK_INT(ptcp_channel_seal(p.a, data, 10, &taken, out, 30), 30);
	CHECK_EQ(taken, 3);
	CHECK_EQ(out[0], PTCP_CHANNEL_REC_DATA);
	CHECK_EQ(out[10], 3);
	/* Two records: a full one and the rest. */
	w = ptcp_channel_seal(p.a, data, 20000, &taken, out, sizeof(out));
	CHECK_INT(w, (ptcp_ssize)ptcp_channel_sealed_size(20000));
	CHECK_EQ(taken, 20000);
	CHECK_EQ(out[9], 0x40);  /* 16384 */
	CHECK_EQ(out[10], 0);
	CHECK_EQ(out[16411 + 8], 2);  /* second record has sequence 2 */
	/* Output full after one full record: the rest stays with the caller. */
	w = ptcp_channel_seal(p.a, data, 40000, &taken, out, 16411 + 27);
	CHECK_INT(w, 16411);
	CHECK_EQ(taken, 16384);
	CHECK_INT(ptcp_channel_seal(p.a, NULL, 1, &taken, out, 100), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_channel_seal(p.a, data, 1, NULL, out, 100), PTCP_ERR_INVAL);
	pair_free(&p);
}

/* A record's plaintext must be read before more input is taken. */
static void test_read_backpressure(void)
{
	struct pair p;
	struct buf wire = { 0 };
	uint8_t small[3];

	pair_up(&p, PTCP_CHANNEL_INITIATOR);
	seal_into(p.a, (const uint8_t *)"abcdef", 6, 6, &wire);
	seal_into(p.a, (const uint8_t *)"ghi", 3, 3, &wire);
	CHECK_INT(ptcp_channel_input(p.b, wire.p, wire.len), 33);
	CHECK_INT(ptcp_channel_input(p.b, wire.p + 33, wire.len - 33), 0);
	CHECK_INT(ptcp_channel_read(p.b, small, 3), 3);
	CHECK(memcmp(small, "abc", 3) == 0);
	CHECK_INT(ptcp_channel_input(p.b, wire.p + 33, wire.len - 33), 0);
	CHECK_INT(ptcp_channel_read(p.b, small, 3), 3);
	CHECK(memcmp(small, "def", 3) == 0);
	CHECK_INT(ptcp_channel_input(p.b, wire.p + 33, wire.len - 33), 30);
	CHECK_INT(ptcp_channel_read(p.b, small, 3), 3);
	CHECK(memcmp(small, "ghi", 3) == 0);
	CHECK_INT(ptcp_channel_read(p.b, small, 3), 0);
	CHECK(!ptcp_channel_read_eof(p.b));
	pair_free(&p);
	buf_free(&wire);
}

/* peek lends one record's plaintext where it is, consume takes it as a
 * read would (all of it: the next record may come in); no more than it
 * holds, none before a record verified. */
static void test_peek_consume(void)
{
	struct pair p;
	struct buf wire = { 0 };
	const uint8_t *base = NULL;
	uint8_t small[3];

	pair_up(&p, PTCP_CHANNEL_INITIATOR);
	seal_into(p.a, (const uint8_t *)"abcdef", 6, 6, &wire);
	seal_into(p.a, (const uint8_t *)"ghi", 3, 3, &wire);
	CHECK_INT(ptcp_channel_peek(p.b, &base), 0);
	CHECK_INT(ptcp_channel_consume(p.b, 1), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_channel_input(p.b, wire.p, wire.len), 33);
	CHECK_INT(ptcp_channel_peek(p.b, &base), 6);
	CHECK(memcmp(base, "abcdef", 6) == 0);
	CHECK_INT(ptcp_channel_consume(p.b, 7), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_channel_consume(p.b, 2), 2);
	CHECK_INT(ptcp_channel_peek(p.b, &base), 4);
	CHECK(memcmp(base, "cdef", 4) == 0);
	CHECK_INT(ptcp_channel_input(p.b, wire.p + 33, wire.len - 33), 0);
	CHECK_INT(ptcp_channel_read(p.b, small, 3), 3);
	CHECK(memcmp(small, "cde", 3) == 0);
	CHECK_INT(ptcp_channel_consume(p.b, 1), 1);
	CHECK_INT(ptcp_channel_peek(p.b, &base), 0);
	CHECK_INT(ptcp_channel_input(p.b, wire.p + 33, wire.len - 33), 30);
	CHECK_INT(ptcp_channel_peek(p.b, &base), 3);
	CHECK(memcmp(base, "ghi", 3) == 0);
	CHECK_INT(ptcp_channel_consume(p.b, 0), 0);
	CHECK_INT(ptcp_channel_consume(p.b, 3), 3);
	CHECK_INT(ptcp_channel_read(p.b, small, 3), 0);
	CHECK_INT(ptcp_channel_peek(NULL, &base), PTCP_ERR_INVAL);
	pair_free(&p);
	buf_free(&wire);
}

static void test_close(void)
{
	struct pair p;
	struct buf wire = { 0 }, got = { 0 };
	uint8_t out[64];
	size_t taken;

	pair_up(&p, PTCP_CHANNEL_INITIATOR);
	seal_into(p.a, (const uint8_t *)"last words", 10, 100, &wire);
	CHECK_INT(ptcp_channel_close(p.a, out, 26), PTCP_ERR_NOBUF);
	seal_close(p.a, &wire);
	CHECK_EQ(wire.p[37], PTCP_CHANNEL_REC_END);
	CHECK_INT(ptcp_channel_close(p.a, out, sizeof(out)), PTCP_ERR_CLOSED);
	CHECK_INT(ptcp_channel_seal(p.a, "x", 1, &taken, out, sizeof(out)), PTCP_ERR_CLOSED);
	/* The receiver sees the data, then a clean end; its own direction
	 * stays open (half close). */
	CHECK_INT(deliver(p.b, wire.p, wire.len, 5, NULL, false, &got), 0);
	CHECK(got.len == 10 && memcmp(got.p, "last words", 10) == 0);
	CHECK(ptcp_channel_read_eof(p.b));
	CHECK_INT(ptcp_channel_input_eof(p.b), 0);
	CHECK_INT(ptcp_channel_error(p.b), 0);
	buf_free(&wire);
	seal_into(p.b, (const uint8_t *)"reply", 5, 100, &wire);
	seal_close(p.b, &wire);
	buf_free(&got);
	CHECK_INT(deliver(p.a, wire.p, wire.len, 0, &(uint32_t){ 9 }, true, &got), 0);
	CHECK(got.len == 5 && memcmp(got.p, "reply", 5) == 0);
	CHECK(ptcp_channel_read_eof(p.a));
	pair_free(&p);
	buf_free(&wire);
	buf_free(&got);
}

/* Three records r0 r1 r2 of distinct text and the end record e. */
struct recs {
	struct pair p;
	struct buf wire;
	size_t off[5];  /* start of r0, r1, r2, e, end */
};

static const char *const TEXT[3] = { "record zero", "record one!", "record two, longer" };

static void recs_new(struct recs *r)
{
	memset(r, 0, sizeof(*r));
	pair_up(&r->p, PTCP_CHANNEL_INITIATOR);
	for (int i = 0; i < 3; i++) {
		r->off[i] = r->wire.len;
		seal_into(r->p.a, (const uint8_t *)TEXT[i], strlen(TEXT[i]), 100, &r->wire);
	}
	r->off[3] = r->wire.len;
	seal_close(r->p.a, &r->wire);
	r->off[4] = r->wire.len;
}

static void recs_free(struct recs *r)
{
	pair_free(&r->p);
	buf_free(&r->wire);
}

/* The wire made of the given records (0..2, 3 = end), in that order. */
static int feed_recs(struct recs *r, const int *order, size_t n, bool eof, struct buf *got)
{
	struct buf w = { 0 };
	int rv;

	for (size_t i = 0; i < n; i++)
		buf_add(&w, r->wire.p + r->off[order[i]], r->off[order[i] + 1] - r->off[order[i]]);
	rv = deliver(r->p.b, w.p, w.len, 0, &(uint32_t){ 99 }, eof, got);
	buf_free(&w);
	return rv;
}

static void test_records_in_order(void)
{
	struct recs r;
	struct buf got = { 0 };

	recs_new(&r);
	CHECK_INT(feed_recs(&r, (const int[]){ 0, 1, 2, 3 }, 4, true, &got), 0);
	CHECK_EQ(got.len, strlen(TEXT[0]) + strlen(TEXT[1]) + strlen(TEXT[2]));
	CHECK(ptcp_channel_read_eof(r.p.b));
	recs_free(&r);
	buf_free(&got);
}

static void test_replay(void)
{
	struct recs r;
	struct buf got = { 0 };

	recs_new(&r);
	CHECK_INT(feed_recs(&r, (const int[]){ 0, 0 }, 2, false, &got), PTCP_ERR_CH_REPLAY);
	CHECK(got.len == strlen(TEXT[0]) && memcmp(got.p, TEXT[0], got.len) == 0);
	recs_free(&r);
	buf_free(&got);

	/* An older record much later. */
	recs_new(&r);
	CHECK_INT(feed_recs(&r, (const int[]){ 0, 1, 2, 1 }, 4, false, &got), PTCP_ERR_CH_REPLAY);
	CHECK_EQ(got.len, strlen(TEXT[0]) + strlen(TEXT[1]) + strlen(TEXT[2]));
	recs_free(&r);
	buf_free(&got);
}

static void test_swapped(void)
{
	struct recs r;
	struct buf got = { 0 };

	recs_new(&r);
	CHECK_INT(feed_recs(&r, (const int[]){ 1, 0 }, 2, false, &got), PTCP_ERR_CH_REORDER);
	CHECK_EQ(got.len, 0);
	recs_free(&r);
	buf_free(&got);

	recs_new(&r);
	CHECK_INT(feed_recs(&r, (const int[]){ 0, 2, 1 }, 3, false, &got), PTCP_ERR_CH_REORDER);
	CHECK(got.len == strlen(TEXT[0]) && memcmp(got.p, TEXT[0], got.len) == 0);
	recs_free(&r);
	buf_free(&got);
}

static void test_dropped(void)
{
	struct recs r;
	struct buf got = { 0 };

	recs_new(&r);
	CHECK_INT(feed_recs(&r, (const int[]){ 1, 2, 3 }, 3, true, &got), PTCP_ERR_CH_REORDER);
	CHECK_EQ(got.len, 0);
	recs_free(&r);
	buf_free(&got);

	recs_new(&r);
	CHECK_INT(feed_recs(&r, (const int[]){ 0, 1, 3 }, 3, true, &got), PTCP_ERR_CH_REORDER);
	CHECK_EQ(got.len, strlen(TEXT[0]) + strlen(TEXT[1]));
	CHECK(!ptcp_channel_read_eof(r.p.b));
	recs_free(&r);
	buf_free(&got);
}

static void test_truncated(void)
{
	struct recs r;
	struct buf got = { 0 };

	/* FIN where the end record should be. */
	recs_new(&r);
	CHECK_INT(feed_recs(&r, (const int[]){ 0, 1, 2 }, 3, true, &got), PTCP_ERR_CH_TRUNCATED);
	CHECK_EQ(got.len, strlen(TEXT[0]) + strlen(TEXT[1]) + strlen(TEXT[2]));
	CHECK(!ptcp_channel_read_eof(r.p.b));
	recs_free(&r);
	buf_free(&got);

	/* FIN in the middle of a record (in its header, and in its body):
	 * none of that record's bytes come out. */
	for (size_t cut = 1; cut < 30; cut += 9) {
		recs_new(&r);
		CHECK_INT(deliver(r.p.b, r.wire.p, r.off[1] + cut, 0, &(uint32_t){ 5 }, true, &got),
		          PTCP_ERR_CH_TRUNCATED);
		CHECK(got.len == strlen(TEXT[0]) && memcmp(got.p, TEXT[0], got.len) == 0);
		recs_free(&r);
		buf_free(&got);
	}

	/* FIN right after the handshake. */
	recs_new(&r);
	CHECK_INT(ptcp_channel_input_eof(r.p.b), PTCP_ERR_CH_TRUNCATED);
	recs_free(&r);
}

static void test_trailing(void)
{
	static const char *const tails[] = { "x", "more plaintext after the end" };
	struct buf wire = { 0 }, got = { 0 };
	struct pair p;
	size_t first;

	for (int i = 0; i < 3; i++) {
		pair_up(&p, PTCP_CHANNEL_INITIATOR);
		seal_into(p.a, (const uint8_t *)"data", 4, 100, &wire);
		first = wire.len;
		seal_close(p.a, &wire);
		if (i < 2)
			buf_add(&wire, tails[i], strlen(tails[i]));
		else {
			uint8_t again[64];  /* the data record again */

			memcpy(again, wire.p, first);
			buf_add(&wire, again, first);
		}
		CHECK_INT(deliver(p.b, wire.p, wire.len, 0, &(uint32_t){ 8 }, false, &got),
		          PTCP_ERR_CH_TRAILING);
		CHECK(got.len == 4 && memcmp(got.p, "data", 4) == 0);
		CHECK(!ptcp_channel_read_eof(p.b));
		pair_free(&p);
		buf_free(&wire);
		buf_free(&got);
	}
}

/* a's own record sent back to a, and a record of another session. */
static void test_reflected_and_foreign(void)
{
	struct recs r, s;
	struct buf got = { 0 };

	recs_new(&r);
	CHECK_INT(deliver(r.p.a, r.wire.p, r.off[1], 0, &(uint32_t){ 1 }, false, &got),
	          PTCP_ERR_CH_TAMPERED);
	CHECK_EQ(got.len, 0);
	recs_free(&r);

	/* Same identities, same plaintext, fresh ephemerals: different
	 * keys, different bytes, and nothing crosses over. */
	recs_new(&r);
	recs_new(&s);
	CHECK_EQ(r.wire.len, s.wire.len);
	CHECK(memcmp(r.wire.p + 11, s.wire.p + 11, r.off[1] - 11) != 0);
	CHECK_INT(deliver(s.p.b, r.wire.p, r.off[1], 0, &(uint32_t){ 1 }, false, &got),
	          PTCP_ERR_CH_TAMPERED);
	CHECK_EQ(got.len, 0);
	recs_free(&r);
	recs_free(&s);
	buf_free(&got);
}

static void test_bad_headers(void)
{
	struct pair p;
	uint8_t h[11] = { PTCP_CHANNEL_REC_DATA, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x01 };

	/* Length 16385: refused as soon as the header is in, not after
	 * waiting for 16 KiB that cannot verify. */
	pair_up(&p, PTCP_CHANNEL_INITIATOR);
	CHECK_INT(ptcp_channel_input(p.b, h, 10), 10);
	CHECK_INT(ptcp_channel_input(p.b, h + 10, 1), PTCP_ERR_CH_MALFORMED);
	pair_free(&p);

	pair_up(&p, PTCP_CHANNEL_INITIATOR);
	h[9] = 0xff;
	h[10] = 0xff;
	CHECK_INT(ptcp_channel_input(p.b, h, 11), PTCP_ERR_CH_MALFORMED);
	pair_free(&p);

	/* An end record that claims content. */
	pair_up(&p, PTCP_CHANNEL_INITIATOR);
	h[0] = PTCP_CHANNEL_REC_END;
	h[9] = 0;
	h[10] = 1;
	CHECK_INT(ptcp_channel_input(p.b, h, 11), PTCP_ERR_CH_MALFORMED);
	pair_free(&p);

	/* Unknown types. */
	for (int t = 0; t < 256; t += 17) {
		pair_up(&p, PTCP_CHANNEL_INITIATOR);
		h[0] = (uint8_t)t;
		h[10] = 0;
		CHECK_INT(ptcp_channel_input(p.b, h, 11),
		          t == PTCP_CHANNEL_REC_DATA || t == PTCP_CHANNEL_REC_END ? 11 : PTCP_ERR_CH_MALFORMED);
		pair_free(&p);
	}

	/* A well-formed header and a forged body. */
	pair_up(&p, PTCP_CHANNEL_INITIATOR);
	uint8_t forged[11 + 4 + 16] = { PTCP_CHANNEL_REC_DATA, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 'e', 'v', 'i', 'l' };
	CHECK_INT(ptcp_channel_input(p.b, forged, sizeof(forged)), PTCP_ERR_CH_TAMPERED);
	pair_free(&p);
}

/* Every byte of a record changed, with three patterns, and the record
 * after it intact: an error, and not one byte of plaintext. */
static void test_tamper_record_every_byte(void)
{
	static const uint8_t xs[] = { 0x01, 0x80, 0xff };
	uint32_t rng = 31;

	for (size_t k = 0; k < sizeof(xs); k++) {
		for (size_t pos = 0; pos < 11 + 100 + 16; pos++) {
			struct pair p;
			struct buf wire = { 0 }, got = { 0 };
			uint8_t data[150];
			int err;

			fill(data, sizeof(data), (uint32_t)pos + 1);
			pair_up(&p, k == 1 ? PTCP_CHANNEL_RESPONDER : PTCP_CHANNEL_INITIATOR);
			seal_into(p.a, data, 100, 100, &wire);
			seal_into(p.a, data + 100, 50, 50, &wire);
			seal_close(p.a, &wire);
			wire.p[pos] ^= xs[k];
			err = deliver(p.b, wire.p, wire.len, pos % 2 ? 1 : 0, &rng, true, &got);
			if (pos == 0)
				CHECK_INT(err, PTCP_ERR_CH_MALFORMED);
			else if (pos == 9 || pos == 10)
				CHECK(err == PTCP_ERR_CH_MALFORMED || err == PTCP_ERR_CH_TAMPERED ||
				      err == PTCP_ERR_CH_TRUNCATED);
			else
				CHECK_INT(err, PTCP_ERR_CH_TAMPERED);
			CHECK_EQ(got.len, 0);
			CHECK(!ptcp_channel_read_eof(p.b));
			pair_free(&p);
			buf_free(&wire);
			buf_free(&got);
			if (check_failed())
				return;
		}
	}
}

/* The same for every byte of the end record: the data before it is
 * genuine and delivered, the stream's end is not. */
static void test_tamper_end_record(void)
{
	for (size_t pos = 0; pos < PTCP_CHANNEL_RECORD_OVERHEAD; pos++) {
		struct pair p;
		struct buf wire = { 0 }, got = { 0 };
		size_t at;
		int err;

		pair_up(&p, PTCP_CHANNEL_INITIATOR);
		seal_into(p.a, (const uint8_t *)"payload", 7, 100, &wire);
		at = wire.len;
		seal_close(p.a, &wire);
		wire.p[at + pos] ^= 0x01;
		err = deliver(p.b, wire.p, wire.len, 0, &(uint32_t){ 3 }, true, &got);
		CHECK(err == PTCP_ERR_CH_TAMPERED || err == PTCP_ERR_CH_MALFORMED ||
		      err == PTCP_ERR_CH_TRUNCATED);
		CHECK_EQ(got.len, 7);
		CHECK(!ptcp_channel_read_eof(p.b));
		pair_free(&p);
		buf_free(&wire);
		buf_free(&got);
	}
}

/* After an error every call returns it, even with genuine input. */
static void test_failed_stays_failed(void)
{
	struct recs r;
	struct buf got = { 0 };
	uint8_t out[100];
	size_t taken;

	recs_new(&r);
	CHECK_INT(feed_recs(&r, (const int[]){ 1 }, 1, false, &got), PTCP_ERR_CH_REORDER);
	CHECK_INT(feed_recs(&r, (const int[]){ 0 }, 1, false, &got), PTCP_ERR_CH_REORDER);
	CHECK_EQ(got.len, 0);
	CHECK_INT(ptcp_channel_read(r.p.b, out, sizeof(out)), PTCP_ERR_CH_REORDER);
	CHECK_INT(ptcp_channel_seal(r.p.b, "x", 1, &taken, out, sizeof(out)), PTCP_ERR_CH_REORDER);
	CHECK_INT(ptcp_channel_close(r.p.b, out, sizeof(out)), PTCP_ERR_CH_REORDER);
	CHECK_INT(ptcp_channel_handshake_output(r.p.b, out, sizeof(out)), PTCP_ERR_CH_REORDER);
	CHECK_INT(ptcp_channel_input_eof(r.p.b), PTCP_ERR_CH_REORDER);
	CHECK_INT(ptcp_channel_error(r.p.b), PTCP_ERR_CH_REORDER);
	CHECK(!ptcp_channel_is_established(r.p.b));
	CHECK(!ptcp_channel_read_eof(r.p.b));
	recs_free(&r);
	buf_free(&got);

	/* A failure while plaintext waits: the plaintext is dropped. */
	recs_new(&r);
	CHECK_INT(ptcp_channel_input(r.p.b, r.wire.p, r.off[1]), (ptcp_ssize)r.off[1]);
	CHECK_INT(ptcp_channel_input_eof(r.p.b), PTCP_ERR_CH_TRUNCATED);
	CHECK_INT(ptcp_channel_read(r.p.b, out, sizeof(out)), PTCP_ERR_CH_TRUNCATED);
	recs_free(&r);
}

/* --- known answers ----------------------------------------------------------
 *
 * Fixed identities (seeds of 0x11 and 0x22 bytes), fixed ephemeral keys
 * (bytes 0x20 + i and 0x40 + i), the binding of ISNs 0x01020304 and
 * 0xa0b0c0d0, and the plaintext "hello, p2ptcp": the flights, each
 * side's first record and the initiator's end record. Regenerate with
 * CHANNEL_KAT_PRINT=1 only if the protocol version changes. */

static const char KAT_FLIGHT_I[] =
	"5032505443500101d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332"
	"c9778737358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254"
	"5958cd9dce21830c8b2379c75c867e032407d8d5575a742a89b93e73d91bbba52f886507"
	"79710b8142c09ab414653d465cd345280f0df1ab71bd7f42ba71710b";
static const char KAT_FLIGHT_R[] =
	"5032505443500102a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff938"
	"3455a4f079a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a"
	"a054befddd668ee7256b0c9756e26d0f580669894f2224b9174b546204360e44fb4d3116"
	"71f2694b13ce3ba255b2e01ae251c141c2dcb5d6367c7bc55187d701";
static const char KAT_RECORD_I[] =
	"440000000000000000000d0f90a5c9562d3dad3cc01f7bfd1197dc730d23c245e451433f"
	"5097b26a";
static const char KAT_RECORD_R[] =
	"440000000000000000000dbb890e91056364684e2552c8b47dc3895b13dd60d8e9f100d4"
	"09bd4366";
static const char KAT_END_I[] =
	"4500000000000000010000cb759f87b095d6af6bc02574f8ee41d2";

struct kat_in {
	uint8_t seed_i, seed_r;      /* identity seeds (every byte) */
	uint8_t eph_i, eph_r;        /* first byte of the ephemeral keys */
	uint32_t isn_i, isn_r;
	const char *text;
};

struct kat_out {
	uint8_t fi[FLIGHT], fr[FLIGHT];
	uint8_t ri[64], rr[64];      /* first records: 27 + 13 bytes */
	uint8_t ei[PTCP_CHANNEL_RECORD_OVERHEAD];
	size_t rlen;
};

static const struct kat_in KAT_IN = { 0x11, 0x22, 0x20, 0x40, 0x01020304, 0xa0b0c0d0, "hello, p2ptcp" };

static void kat_run(const struct kat_in *in, struct kat_out *out)
{
	struct id ii = id_from(in->seed_i), ir = id_from(in->seed_r);
	uint8_t bi[8], br[8], ei[32], er[32];
	struct ptcp_channel_config ci = {
		.identity_sk = ii.sk, .peer_pk = ir.pk, .role = PTCP_CHANNEL_INITIATOR,
		.binding = bi, .binding_len = 8,
	};
	struct ptcp_channel_config cr = {
		.identity_sk = ir.sk, .peer_pk = ii.pk, .role = PTCP_CHANNEL_RESPONDER,
		.binding = br, .binding_len = 8,
	};
	struct ptcp_channel *a = NULL, *b = NULL;
	size_t taken, len = strlen(in->text);

	memset(out, 0, sizeof(*out));
	ptcp_channel_binding_isns(bi, PTCP_CHANNEL_INITIATOR, in->isn_i, in->isn_r);
	ptcp_channel_binding_isns(br, PTCP_CHANNEL_RESPONDER, in->isn_r, in->isn_i);
	for (int i = 0; i < 32; i++) {
		ei[i] = (uint8_t)(in->eph_i + i);
		er[i] = (uint8_t)(in->eph_r + i);
	}
	CHECK_INT(ptcp_channel_new(&a, &ci), 0);
	CHECK_INT(ptcp_channel_new(&b, &cr), 0);
	if (!a || !b)
		return;
	CHECK_INT(ptcp_channel_set_ephemeral(a, ei), 0);
	CHECK_INT(ptcp_channel_set_ephemeral(b, er), 0);
	CHECK_INT(ptcp_channel_handshake_output(a, out->fi, FLIGHT), 72);
	CHECK_INT(ptcp_channel_handshake_output(b, out->fr, FLIGHT), 72);
	CHECK_INT(ptcp_channel_input(a, out->fr, 72), 72);
	CHECK_INT(ptcp_channel_input(b, out->fi, 72), 72);
	CHECK_INT(ptcp_channel_handshake_output(a, out->fi + 72, 64), 64);
	CHECK_INT(ptcp_channel_handshake_output(b, out->fr + 72, 64), 64);
	CHECK_INT(ptcp_channel_input(a, out->fr + 72, 64), 64);
	CHECK_INT(ptcp_channel_input(b, out->fi + 72, 64), 64);
	out->rlen = len + PTCP_CHANNEL_RECORD_OVERHEAD;
	CHECK_INT(ptcp_channel_seal(a, in->text, len, &taken, out->ri, sizeof(out->ri)), (ptcp_ssize)out->rlen);
	CHECK_INT(ptcp_channel_seal(b, in->text, len, &taken, out->rr, sizeof(out->rr)), (ptcp_ssize)out->rlen);
	CHECK_INT(ptcp_channel_close(a, out->ei, sizeof(out->ei)), PTCP_CHANNEL_RECORD_OVERHEAD);
	ptcp_channel_free(a);
	ptcp_channel_free(b);
}

static void check_hex(const uint8_t *p, size_t len, const char *want, const char *name)
{
	char got[2 * FLIGHT + 1];

	hex(got, p, len);
	if (getenv("CHANNEL_KAT_PRINT"))
		printf("%s = %s\n", name, got);
	if (strcmp(got, want) != 0)
		check_fail(__FILE__, __LINE__, "%s:\n  got  %s\n  want %s", name, got, want);
}

static void test_known_answers(void)
{
	struct kat_out o1, o2;

	kat_run(&KAT_IN, &o1);
	check_hex(o1.fi, FLIGHT, KAT_FLIGHT_I, "KAT_FLIGHT_I");
	check_hex(o1.fr, FLIGHT, KAT_FLIGHT_R, "KAT_FLIGHT_R");
	check_hex(o1.ri, o1.rlen, KAT_RECORD_I, "KAT_RECORD_I");
	check_hex(o1.rr, o1.rlen, KAT_RECORD_R, "KAT_RECORD_R");
	check_hex(o1.ei, sizeof(o1.ei), KAT_END_I, "KAT_END_I");
	/* Stable: a second run gives the same bytes. */
	kat_run(&KAT_IN, &o2);
	CHECK(memcmp(&o1, &o2, sizeof(o1)) == 0);
}

/* Any changed input changes the bytes after the HELLOs. */
static void test_known_answers_depend_on_inputs(void)
{
	struct kat_out base, o;

	kat_run(&KAT_IN, &base);
	for (int v = 0; v < 7; v++) {
		struct kat_in in = KAT_IN;

		switch (v) {
		case 0: in.seed_i++; break;
		case 1: in.seed_r++; break;
		case 2: in.eph_i++; break;
		case 3: in.eph_r++; break;
		case 4: in.isn_i ^= 0x80000000u; break;
		case 5: in.isn_r ^= 1; break;
		case 6: in.text = "hello, p2ptcq"; break;
		}
		kat_run(&in, &o);
		if (v < 6) {
			/* The signatures and both sides' records change. */
			CHECK(memcmp(o.fi + 72, base.fi + 72, 64) != 0);
			CHECK(memcmp(o.fr + 72, base.fr + 72, 64) != 0);
			CHECK(memcmp(o.ri, base.ri, base.rlen) != 0);
			CHECK(memcmp(o.rr, base.rr, base.rlen) != 0);
			CHECK(memcmp(o.ei, base.ei, sizeof(o.ei)) != 0);
		} else {
			CHECK(memcmp(o.fi, base.fi, FLIGHT) == 0);
			CHECK(memcmp(o.ri + 11, base.ri + 11, base.rlen - 11) != 0);
			CHECK(memcmp(o.ei, base.ei, sizeof(o.ei)) == 0);
		}
	}
}

/* The protocol as docs/security.md writes it, with libsodium called
 * directly: the channel's bytes must be exactly these. */
static void test_known_answers_from_spec(void)
{
	static const char tlabel[] = "p2ptcp channel v1 transcript";
	static const char klabel[] = "p2ptcp channel v1 session keys";
	static const char ilabel[] = "p2ptcp channel v1 initiator auth";
	static const char rlabel[] = "p2ptcp channel v1 responder auth";
	struct kat_out o;
	struct id ii = id_from(KAT_IN.seed_i), ir = id_from(KAT_IN.seed_r);
	uint8_t ei[32], er[32], epi[32], epr[32], shared[32], th[32], okm[64], msg[64];
	uint8_t hello[72], nonce[12] = { 0 }, plain[64], sig[64];
	crypto_generichash_state st;
	const uint8_t binding[10] = { 0, 8, 0x01, 0x02, 0x03, 0x04, 0xa0, 0xb0, 0xc0, 0xd0 };
	size_t len = strlen(KAT_IN.text);
	unsigned long long plen;

	kat_run(&KAT_IN, &o);
	for (int i = 0; i < 32; i++) {
		ei[i] = (uint8_t)(KAT_IN.eph_i + i);
		er[i] = (uint8_t)(KAT_IN.eph_r + i);
	}
	crypto_scalarmult_base(epi, ei);
	crypto_scalarmult_base(epr, er);

	/* HELLO = "P2PTCP" 01 role id eph */
	memcpy(hello, "P2PTCP\x01\x01", 8);
	memcpy(hello + 8, ii.pk, 32);
	memcpy(hello + 40, epi, 32);
	CHECK(memcmp(o.fi, hello, 72) == 0);
	hello[7] = 2;
	memcpy(hello + 8, ir.pk, 32);
	memcpy(hello + 40, epr, 32);
	CHECK(memcmp(o.fr, hello, 72) == 0);

	/* TH, then the two signatures. */
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)tlabel, strlen(tlabel));
	crypto_generichash_update(&st, binding, sizeof(binding));
	crypto_generichash_update(&st, o.fi, 72);
	crypto_generichash_update(&st, o.fr, 72);
	crypto_generichash_final(&st, th, 32);
	memcpy(msg, ilabel, 32);
	memcpy(msg + 32, th, 32);
	CHECK(crypto_sign_verify_detached(o.fi + 72, msg, 64, ii.pk) == 0);
	crypto_sign_detached(sig, NULL, msg, 64, ii.sk);
	CHECK(memcmp(sig, o.fi + 72, 64) == 0);
	memcpy(msg, rlabel, 32);
	CHECK(crypto_sign_verify_detached(o.fr + 72, msg, 64, ir.pk) == 0);
	crypto_sign_detached(sig, NULL, msg, 64, ir.sk);
	CHECK(memcmp(sig, o.fr + 72, 64) == 0);

	/* Keys, then the records: header as associated data, nonce 0. */
	CHECK(crypto_scalarmult(shared, ei, epr) == 0);
	crypto_generichash_init(&st, shared, 32, 64);
	crypto_generichash_update(&st, (const uint8_t *)klabel, strlen(klabel));
	crypto_generichash_update(&st, th, 32);
	crypto_generichash_final(&st, okm, 64);
	CHECK(memcmp(o.ri, "D\0\0\0\0\0\0\0\0\0\x0d", 11) == 0);
	CHECK(crypto_aead_chacha20poly1305_ietf_decrypt(plain, &plen, NULL, o.ri + 11, len + 16,
	                                                o.ri, 11, nonce, okm) == 0);
	CHECK(plen == len && memcmp(plain, KAT_IN.text, len) == 0);
	CHECK(crypto_aead_chacha20poly1305_ietf_decrypt(plain, &plen, NULL, o.rr + 11, len + 16,
	                                                o.rr, 11, nonce, okm + 32) == 0);
	CHECK(plen == len && memcmp(plain, KAT_IN.text, len) == 0);
	/* The end record: type E, sequence 1, empty. */
	nonce[11] = 1;
	CHECK(memcmp(o.ei, "E\0\0\0\0\0\0\0\x01\0\0", 11) == 0);
	CHECK(crypto_aead_chacha20poly1305_ietf_decrypt(plain, &plen, NULL, o.ei + 11, 16,
	                                                o.ei, 11, nonce, okm) == 0);
	CHECK_EQ(plen, 0);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_role_from_keys);
	RUN(test_role_rule_handshakes);
	RUN(test_binding_isns);
	RUN(test_new_invalid);
	RUN(test_strerror);
	RUN(test_handshake);
	RUN(test_handshake_byte_by_byte);
	RUN(test_established_needs_own_auth_out);
	RUN(test_set_ephemeral_state);
	RUN(test_wrong_peer);
	RUN(test_impostor);
	RUN(test_allow_callback);
	RUN(test_same_role);
	RUN(test_self);
	RUN(test_not_a_channel);
	RUN(test_weak_ephemeral);
	RUN(test_binding_mismatch);
	RUN(test_replayed_handshake);
	RUN(test_tamper_handshake_every_byte);
	RUN(test_eof_during_handshake);
	RUN(test_data_both_ways);
	RUN(test_large_transfer);
	RUN(test_seal_sizes);
	RUN(test_read_backpressure);
	RUN(test_peek_consume);
	RUN(test_close);
	RUN(test_records_in_order);
	RUN(test_replay);
	RUN(test_swapped);
	RUN(test_dropped);
	RUN(test_truncated);
	RUN(test_trailing);
	RUN(test_reflected_and_foreign);
	RUN(test_bad_headers);
	RUN(test_tamper_record_every_byte);
	RUN(test_tamper_end_record);
	RUN(test_failed_stays_failed);
	RUN(test_known_answers);
	RUN(test_known_answers_depend_on_inputs);
	RUN(test_known_answers_from_spec);
	return check_summary();
}
