/* libFuzzer target for the secure channel (core/secure/channel.c).
 *
 * Everything is deterministic: both identities and both ephemeral keys
 * are fixed (through the test hook), so the initiator's genuine flight
 * and records are the same in every run and can sit in the seed corpus.
 * The initiator only ever seals the plaintext stream P(k) = PATTERN(k)
 * (k = offset in the stream), which gives the oracle: every byte the
 * responder releases, at stream offset k, must equal PATTERN(k). A byte
 * from a record that did not verify, a replayed or a reordered record
 * breaks it.
 *
 * The first byte selects a mode (mod 3):
 *   0  the rest is fed raw to a fresh responder, from its first byte;
 *   1  the initiator's genuine flight is fed first, then the rest raw;
 *   2  the rest is a script: the initiator seals, closes, and the script
 *      flips bytes, replays, drops, swaps, truncates or adds junk (see
 *      run_script); without any such change the responder must deliver
 *      the whole stream and, after a close, a clean end.
 * The responder's input is cut into pieces of sizes drawn from a PRNG
 * seeded by the input, and EOF ends every run.
 *
 * Built with -DFUZZ_CHANNEL_WRITE_SEEDS this file is instead a program
 * that writes the seed corpus into the directory given as argument:
 *   cc -DFUZZ_CHANNEL_WRITE_SEEDS -Icore/engine -Icore/secure \
 *      tests/fuzz/fuzz_channel.c core/secure/channel.c core/engine/error.c \
 *      -lsodium -o /tmp/seeds && /tmp/seeds tests/fuzz/corpus/fuzz_channel */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                         \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                              \
		}                                                             \
	} while (0)

#define FLIGHT (PTCP_CHANNEL_HELLO_BYTES + PTCP_CHANNEL_AUTH_BYTES)
#define PATTERN(k) ((uint8_t)((k) * 31u + 7u + ((k) >> 8)))
#define MAX_SEALED (256u << 10)   /* plaintext per script run */
#define MAX_PIECES 64

static const uint8_t BINDING[8] = { 0x01, 0x02, 0x03, 0x04, 0xa0, 0xb0, 0xc0, 0xd0 };

static struct {
	bool ready;
	uint8_t pk_i[32], sk_i[64], pk_r[32], sk_r[64];
	uint8_t eph_i[32], eph_r[32];
	uint8_t flight_i[FLIGHT];   /* the initiator's genuine HELLO + AUTH */
} fx;

static struct ptcp_channel *make(enum ptcp_channel_role role)
{
	bool ini = role == PTCP_CHANNEL_INITIATOR;
	struct ptcp_channel_config cfg = {
		.identity_sk = ini ? fx.sk_i : fx.sk_r,
		.peer_pk = ini ? fx.pk_r : fx.pk_i,
		.role = role,
		.binding = BINDING,
		.binding_len = sizeof(BINDING),
	};
	struct ptcp_channel *ch = NULL;

	REQUIRE(ptcp_channel_new(&ch, &cfg) == 0);
	REQUIRE(ptcp_channel_set_ephemeral(ch, ini ? fx.eph_i : fx.eph_r) == 0);
	return ch;
}

/* A responder's HELLO: the initiator needs it to sign. */
static void setup(void)
{
	uint8_t seed[32], hello_r[FLIGHT];
	struct ptcp_channel *i, *r;

	if (fx.ready)
		return;
	REQUIRE(sodium_init() >= 0);
	memset(seed, 0x11, sizeof(seed));
	crypto_sign_seed_keypair(fx.pk_i, fx.sk_i, seed);
	memset(seed, 0x22, sizeof(seed));
	crypto_sign_seed_keypair(fx.pk_r, fx.sk_r, seed);
	for (int k = 0; k < 32; k++) {
		fx.eph_i[k] = (uint8_t)(0x20 + k);
		fx.eph_r[k] = (uint8_t)(0x40 + k);
	}
	i = make(PTCP_CHANNEL_INITIATOR);
	r = make(PTCP_CHANNEL_RESPONDER);
	REQUIRE(ptcp_channel_handshake_output(i, fx.flight_i, FLIGHT) == 72);
	REQUIRE(ptcp_channel_handshake_output(r, hello_r, FLIGHT) == 72);
	REQUIRE(ptcp_channel_input(i, hello_r, 72) == 72);
	REQUIRE(ptcp_channel_handshake_output(i, fx.flight_i + 72, 64) == 64);
	ptcp_channel_free(i);
	ptcp_channel_free(r);
	fx.ready = true;
}

/* An initiator and a responder with the handshake done. */
static void pair(struct ptcp_channel **i, struct ptcp_channel **r)
{
	uint8_t fi[FLIGHT], fr[FLIGHT];

	*i = make(PTCP_CHANNEL_INITIATOR);
	*r = make(PTCP_CHANNEL_RESPONDER);
	REQUIRE(ptcp_channel_handshake_output(*i, fi, FLIGHT) == 72);
	REQUIRE(ptcp_channel_handshake_output(*r, fr, FLIGHT) == 72);
	REQUIRE(ptcp_channel_input(*i, fr, 72) == 72);
	REQUIRE(ptcp_channel_input(*r, fi, 72) == 72);
	REQUIRE(ptcp_channel_handshake_output(*i, fi + 72, 64) == 64);
	REQUIRE(ptcp_channel_handshake_output(*r, fr + 72, 64) == 64);
	REQUIRE(memcmp(fi, fx.flight_i, FLIGHT) == 0);
	REQUIRE(ptcp_channel_input(*i, fr + 72, 64) == 64);
	REQUIRE(ptcp_channel_input(*r, fi + 72, 64) == 64);
	REQUIRE(ptcp_channel_is_established(*i) && ptcp_channel_is_established(*r));
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* What the responder released. */
struct sink {
	size_t released;   /* plaintext bytes, all checked against PATTERN */
	int err;           /* the first error seen */
};

static void drain(struct ptcp_channel *r, struct sink *s)
{
	uint8_t buf[4096];
	ptcp_ssize n;

	while ((n = ptcp_channel_read(r, buf, sizeof(buf))) > 0) {
		for (ptcp_ssize k = 0; k < n; k++)
			REQUIRE(buf[k] == PATTERN(s->released + (size_t)k));
		s->released += (size_t)n;
	}
	if (n < 0) {
		REQUIRE(ptcp_channel_error(r) == n);
		if (!s->err)
			s->err = (int)n;
	}
}

/* Feeds wire to the responder in PRNG-sized pieces, then the EOF. */
static void feed(struct ptcp_channel *r, const uint8_t *wire, size_t len, uint32_t rng,
                 struct sink *s)
{
	size_t off = 0;
	int rv, idle = 0;

	while (off < len && !s->err) {
		size_t n = 1 + xorshift(&rng) % 5000;
		ptcp_ssize m;

		if (n > len - off)
			n = len - off;
		m = ptcp_channel_input(r, wire + off, n);
		if (m < 0) {
			REQUIRE(ptcp_channel_error(r) == m);
			s->err = (int)m;
			break;
		}
		REQUIRE((size_t)m <= n);
		off += (size_t)m;
		drain(r, s);
		/* Input stops only while plaintext waits, and drain read it:
		 * two calls in a row that take nothing mean a stuck channel. */
		idle = m ? 0 : idle + 1;
		REQUIRE(idle < 2);
	}
	drain(r, s);
	rv = ptcp_channel_input_eof(r);
	if (rv < 0 && !s->err)
		s->err = rv;
	if (s->err) {
		/* A failed channel stays failed and releases nothing. */
		uint8_t b[8];

		REQUIRE(ptcp_channel_error(r) == s->err);
		REQUIRE(ptcp_channel_read(r, b, sizeof(b)) == s->err);
		REQUIRE(!ptcp_channel_is_established(r));
		REQUIRE(!ptcp_channel_read_eof(r));
	}
	REQUIRE(rv == 0 || rv == s->err);
}

static uint32_t seed_of(const uint8_t *data, size_t size)
{
	uint32_t h = 2166136261u;

	for (size_t k = 0; k < size; k++)
		h = (h ^ data[k]) * 16777619u;
	return h | 1;
}

/* Modes 0 and 1. */
static void run_raw(const uint8_t *data, size_t size, bool after_flight)
{
	struct ptcp_channel *r = make(PTCP_CHANNEL_RESPONDER);
	struct sink s = { 0 };
	uint8_t *wire = malloc(FLIGHT + size + 1);

	REQUIRE(wire);
	if (after_flight)
		memcpy(wire, fx.flight_i, FLIGHT);
	memcpy(wire + (after_flight ? FLIGHT : 0), data, size);
	feed(r, wire, size + (after_flight ? FLIGHT : 0), seed_of(data, size), &s);
	/* Only the initiator's key opens the channel. */
	if (ptcp_channel_peer_pk(r))
		REQUIRE(memcmp(ptcp_channel_peer_pk(r), fx.pk_i, 32) == 0);
	ptcp_channel_free(r);
	free(wire);
}

/* Mode 2: the wire as a list of pieces (records or junk). */
struct piece {
	uint8_t *p;
	size_t len;
};

struct script {
	const uint8_t *data;
	size_t size, off;
	struct piece pc[MAX_PIECES];
	size_t n;
};

static unsigned take8(struct script *sc)
{
	return sc->off < sc->size ? sc->data[sc->off++] : 0;
}

static unsigned take16(struct script *sc)
{
	unsigned hi = take8(sc);

	return hi << 8 | take8(sc);
}

static void add_piece(struct script *sc, const uint8_t *p, size_t len)
{
	if (sc->n == MAX_PIECES || len == 0)
		return;
	sc->pc[sc->n].p = malloc(len);
	REQUIRE(sc->pc[sc->n].p);
	memcpy(sc->pc[sc->n].p, p, len);
	sc->pc[sc->n].len = len;
	sc->n++;
}

static void run_script(const uint8_t *data, size_t size)
{
	struct script sc = { .data = data, .size = size };
	struct ptcp_channel *i, *r;
	struct sink s = { 0 };
	bool changed = false, closed = false;
	size_t sealed = 0, total = 0, off = 0;
	uint8_t *plain = malloc(20000), *rec = malloc(PTCP_CHANNEL_RECORD_WIRE_MAX), *wire;

	REQUIRE(plain && rec);
	pair(&i, &r);
	while (sc.off < sc.size) {
		unsigned op = take8(&sc) % 8, a, b;

		switch (op) {
		case 0: /* seal n bytes, as records of at most m bytes */
			a = 1 + take16(&sc) % 20000;
			b = 1 + take16(&sc) % PTCP_CHANNEL_RECORD_MAX;
			if (closed || sealed + a > MAX_SEALED)
				break;
			for (unsigned k = 0; k < a; k++)
				plain[k] = PATTERN(sealed + k);
			for (unsigned done = 0; done < a;) {
				size_t taken, want = a - done < b ? a - done : b;
				ptcp_ssize w = ptcp_channel_seal(i, plain + done, want, &taken, rec,
				                                 PTCP_CHANNEL_RECORD_WIRE_MAX);

				REQUIRE(w == (ptcp_ssize)(want + PTCP_CHANNEL_RECORD_OVERHEAD));
				REQUIRE(taken == want);
				add_piece(&sc, rec, (size_t)w);
				done += (unsigned)want;
			}
			sealed += a;
			break;
		case 1: /* flip one byte */
			if (!sc.n)
				break;
			a = take8(&sc) % (unsigned)sc.n;
			b = take16(&sc);
			sc.pc[a].p[b % sc.pc[a].len] ^= (uint8_t)(take8(&sc) | 1);
			changed = true;
			break;
		case 2: /* replay a piece */
			if (!sc.n)
				break;
			a = take8(&sc) % (unsigned)sc.n;
			add_piece(&sc, sc.pc[a].p, sc.pc[a].len);
			changed = true;
			break;
		case 3: /* drop a piece */
			if (!sc.n)
				break;
			a = take8(&sc) % (unsigned)sc.n;
			free(sc.pc[a].p);
			memmove(&sc.pc[a], &sc.pc[a + 1], (sc.n - a - 1) * sizeof(sc.pc[0]));
			sc.n--;
			changed = true;
			break;
		case 4: /* swap two pieces */
			if (!sc.n)
				break;
			a = take8(&sc) % (unsigned)sc.n;
			b = take8(&sc) % (unsigned)sc.n;
			if (a != b) {
				struct piece t = sc.pc[a];

				sc.pc[a] = sc.pc[b];
				sc.pc[b] = t;
				changed = true;
			}
			break;
		case 5: /* the end record */
			if (closed)
				break;
			REQUIRE(ptcp_channel_close(i, rec, PTCP_CHANNEL_RECORD_WIRE_MAX) ==
			        PTCP_CHANNEL_RECORD_OVERHEAD);
			add_piece(&sc, rec, PTCP_CHANNEL_RECORD_OVERHEAD);
			closed = true;
			break;
		case 6: /* junk from the input */
			a = take8(&sc) % 64;
			if (a > sc.size - sc.off)
				a = (unsigned)(sc.size - sc.off);
			add_piece(&sc, sc.data + sc.off, a);
			sc.off += a;
			changed = changed || a;
			break;
		case 7: /* cut a piece short */
			if (!sc.n)
				break;
			a = take8(&sc) % (unsigned)sc.n;
			sc.pc[a].len = take16(&sc) % sc.pc[a].len;
			changed = true;
			if (!sc.pc[a].len) {
				free(sc.pc[a].p);
				memmove(&sc.pc[a], &sc.pc[a + 1], (sc.n - a - 1) * sizeof(sc.pc[0]));
				sc.n--;
			}
			break;
		}
		/* Pieces that did not fit are lost: that is a drop too. */
		if (sc.n == MAX_PIECES)
			changed = true;
	}
	for (size_t k = 0; k < sc.n; k++)
		total += sc.pc[k].len;
	wire = malloc(total + 1);
	REQUIRE(wire);
	for (size_t k = 0; k < sc.n; k++) {
		memcpy(wire + off, sc.pc[k].p, sc.pc[k].len);
		off += sc.pc[k].len;
		free(sc.pc[k].p);
	}
	feed(r, wire, total, seed_of(data, size), &s);
	if (!changed) {
		/* Untouched records all arrive; the end is clean only after a
		 * close. */
		REQUIRE(s.released == sealed);
		REQUIRE(s.err == (closed ? 0 : PTCP_ERR_CH_TRUNCATED));
		REQUIRE(ptcp_channel_read_eof(r) == closed);
	}
	ptcp_channel_free(i);
	ptcp_channel_free(r);
	free(wire);
	free(plain);
	free(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	setup();
	switch (data[0] % 3) {
	case 0: run_raw(data + 1, size - 1, false); break;
	case 1: run_raw(data + 1, size - 1, true); break;
	case 2: run_script(data + 1, size - 1); break;
	}
	return 0;
}

#ifdef FUZZ_CHANNEL_WRITE_SEEDS
static void put(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	REQUIRE(f && fwrite(p, 1, len, f) == len && fclose(f) == 0);
}

/* Genuine records of the pattern stream, sealed n bytes per record. */
static size_t genuine(uint8_t *out, size_t cap, size_t bytes, size_t per_record, bool close)
{
	struct ptcp_channel *i, *r;
	uint8_t *plain = malloc(bytes + 1);
	size_t len = 0, done = 0;

	REQUIRE(plain);
	for (size_t k = 0; k < bytes; k++)
		plain[k] = PATTERN(k);
	pair(&i, &r);
	while (done < bytes) {
		size_t taken, want = bytes - done < per_record ? bytes - done : per_record;
		ptcp_ssize w = ptcp_channel_seal(i, plain + done, want, &taken, out + len, cap - len);

		REQUIRE(w > 0 && taken == want);
		len += (size_t)w;
		done += want;
	}
	if (close)
		len += (size_t)ptcp_channel_close(i, out + len, cap - len);
	ptcp_channel_free(i);
	ptcp_channel_free(r);
	free(plain);
	return len;
}

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 16];
	size_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: %s corpus-dir\n", argv[0]);
		return 2;
	}
	setup();
	/* Mode 0: raw input to a fresh responder. */
	buf[0] = 0;
	memcpy(buf + 1, fx.flight_i, 72);
	put(argv[1], "raw_hello", buf, 1 + 72);
	memcpy(buf + 1, fx.flight_i, FLIGHT);
	put(argv[1], "raw_flight", buf, 1 + FLIGHT);
	n = genuine(buf + 1 + FLIGHT, sizeof(buf) - 1 - FLIGHT, 300, 100, true);
	put(argv[1], "raw_flight_records_end", buf, 1 + FLIGHT + n);
	n = (size_t)snprintf((char *)buf + 1, sizeof(buf) - 1, "%s",
	                     "GET / HTTP/1.1\r\nHost: example.org\r\nUser-Agent: not-a-p2ptcp-peer\r\nAccept: */*\r\n\r\n");
	put(argv[1], "raw_http", buf, 1 + n);
	/* Mode 1: after the genuine flight. */
	buf[0] = 1;
	n = genuine(buf + 1, sizeof(buf) - 1, 1000, 333, true);
	put(argv[1], "post_records_end", buf, 1 + n);
	n = genuine(buf + 1, sizeof(buf) - 1, 20000, 16384, false);
	put(argv[1], "post_full_record", buf, 1 + n);
	memcpy(buf + 1, "D\0\0\0\0\0\0\0\0\0\x04" "evil0123456789abcdef", 31);
	put(argv[1], "post_forged", buf, 1 + 31);
	memcpy(buf + 1, "D\0\0\0\0\0\0\0\0\x40\x01", 11);
	put(argv[1], "post_oversize", buf, 1 + 11);
	/* Mode 2: scripts. */
	{
		static const uint8_t clean[] = { 2, 0, 0x01, 0x00, 0x00, 0x80, 0, 0x10, 0x00, 0x3f, 0xff, 5 };
		static const uint8_t replay[] = { 2, 0, 0x00, 0x20, 0x00, 0x10, 2, 0x00, 5 };
		static const uint8_t swap[] = { 2, 0, 0x00, 0x30, 0x00, 0x10, 4, 0x00, 0x02, 5 };
		static const uint8_t drop[] = { 2, 0, 0x00, 0x30, 0x00, 0x10, 3, 0x01, 5 };
		static const uint8_t flip[] = { 2, 0, 0x00, 0x30, 0x00, 0x30, 1, 0x00, 0x00, 0x20, 0x04, 5 };
		static const uint8_t cut[] = { 2, 0, 0x00, 0x30, 0x00, 0x10, 5, 7, 0x03, 0x00, 0x05 };
		static const uint8_t junk[] = { 2, 0, 0x00, 0x10, 0x00, 0x10, 6, 0x04, 'j', 'u', 'n', 'k', 5 };
		static const uint8_t noclose[] = { 2, 0, 0x00, 0x50, 0x00, 0x07 };

		put(argv[1], "script_clean", clean, sizeof(clean));
		put(argv[1], "script_replay", replay, sizeof(replay));
		put(argv[1], "script_swap", swap, sizeof(swap));
		put(argv[1], "script_drop", drop, sizeof(drop));
		put(argv[1], "script_flip", flip, sizeof(flip));
		put(argv[1], "script_cut_end", cut, sizeof(cut));
		put(argv[1], "script_junk", junk, sizeof(junk));
		put(argv[1], "script_no_close", noclose, sizeof(noclose));
	}
	return 0;
}
#endif
