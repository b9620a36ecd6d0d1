/* ptcp_conn_output_gso(): super-segments for segmentation offload.
 *
 * A sends through ptcp_conn_output_gso(); each super-segment is cut here
 * exactly as the kernel's TSO/GSO cuts one (header repeated, sequence
 * numbers advanced, PSH and FIN on the last piece only, checksum per piece)
 * and the pieces go to B. The stream must arrive intact, the pieces must be
 * valid segments, and retransmissions must come out one segment at a time. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "conn.h"
#include "error.h"
#include "segment.h"

#define BIG (64 * 1024 + 60)

struct side {
	struct ptcp_conn *c;
	struct ptcp_endpoint ep;
};

static void *alloc_cb(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void free_cb(void *ctx, void *p, size_t n)
{
	(void)ctx;
	(void)n;
	free(p);
}

static void config(struct ptcp_config *cfg)
{
	ptcp_config_default(cfg);
	cfg->alloc = (struct ptcp_alloc){ alloc_cb, free_cb, NULL };
	cfg->sndbuf = 1 << 20;
	cfg->rcvbuf = 1 << 20;
}

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 9));
}

struct stats {
	unsigned supers;      /* super-segments seen */
	unsigned pieces;      /* segments delivered after cutting */
	unsigned bad_pieces;  /* pieces that failed to parse */
	unsigned max_segs;    /* most pieces in one super-segment */
	unsigned psh_not_last;/* PSH on a piece that was not the last */
	uint64_t drop_nth;    /* drop the piece with this index (1-based), 0 = none */
	unsigned caps;        /* PTCP_TXCAP_* A's output calls pass */
	unsigned csum_left;   /* A's segments whose checksum field was not 0
	                         under PTCP_TXCAP_CSUM */
};

/* Cuts super (len bytes, header hlen) into pieces of g payload bytes and
 * hands each to dst. */
static void cut_and_deliver(struct side *from, struct side *to, uint8_t *super, size_t len,
                            uint16_t g, struct stats *st, uint64_t now)
{
	struct ptcp_segment seg;
	size_t hlen, off;
	unsigned n = 0;

	CHECK_INT(ptcp_segment_parse(&seg, super, len, &from->ep, &to->ep), 0);
	hlen = len - seg.len;
	st->supers++;
	for (off = 0; off < seg.len; off += g, n++) {
		uint8_t piece[2048];
		size_t plen = seg.len - off < g ? seg.len - off : g;
		bool last = off + plen == seg.len;
		uint32_t seq;
		struct ptcp_segment check;

		memcpy(piece, super, hlen);
		memcpy(piece + hlen, super + hlen + off, plen);
		seq = seg.seq + (uint32_t)off;
		piece[4] = (uint8_t)(seq >> 24);
		piece[5] = (uint8_t)(seq >> 16);
		piece[6] = (uint8_t)(seq >> 8);
		piece[7] = (uint8_t)seq;
		if (!last)
			piece[13] &= (uint8_t)~(PTCP_TH_FIN | PTCP_TH_PSH);
		piece[16] = piece[17] = 0;
		{
			uint16_t ck = ptcp_tcp_checksum(&from->ep, &to->ep, piece, hlen + plen);

			piece[16] = (uint8_t)(ck >> 8); /* the field is big-endian */
			piece[17] = (uint8_t)ck;
		}
		if (ptcp_segment_parse(&check, piece, hlen + plen, &from->ep, &to->ep) != 0) {
			st->bad_pieces++;
			continue;
		}
		if (!last && (check.flags & PTCP_TH_PSH))
			st->psh_not_last++;
		if (++st->pieces == st->drop_nth)
			continue;
		ptcp_conn_input_bytes(to->c, piece, hlen + plen, &from->ep, now);
	}
	if (n > st->max_segs)
		st->max_segs = n;
}

/* Moves everything due between A (GSO sender) and B until both are quiet
 * at time now. */
static void pump(struct side *a, struct side *b, unsigned max_segs, struct stats *st,
                 uint64_t now)
{
	static uint8_t buf[BIG];
	struct ptcp_txinfo info = { .caps = st->caps };
	bool moved;
	int n;

	do {
		moved = false;
		while ((n = ptcp_conn_output_gso(a->c, buf, sizeof(buf), max_segs, &info, now)) > 0) {
			moved = true;
			/* What the kernel does for a packet socket's frames: the
			 * checksum filled in over the whole (super-)segment. */
			if (st->caps & PTCP_TXCAP_CSUM) {
				uint16_t ck;

				if (buf[16] || buf[17])
					st->csum_left++;
				ck = ptcp_tcp_checksum(&a->ep, &b->ep, buf, (size_t)n);
				buf[16] = (uint8_t)(ck >> 8);
				buf[17] = (uint8_t)ck;
			}
			if (info.gso_size) {
				cut_and_deliver(a, b, buf, (size_t)n, info.gso_size, st, now);
			} else {
				st->pieces++;
				ptcp_conn_input_bytes(b->c, buf, (size_t)n, &a->ep, now);
			}
		}
		while ((n = ptcp_conn_output(b->c, buf, sizeof(buf), NULL, now)) > 0) {
			moved = true;
			ptcp_conn_input_bytes(a->c, buf, (size_t)n, &b->ep, now);
		}
	} while (moved);
}

static void setup(struct side *a, struct side *b)
{
	struct ptcp_config cfg;

	config(&cfg);
	ptcp_endpoint_ipv4(&a->ep, 0x0a000001, 4000);
	ptcp_endpoint_ipv4(&b->ep, 0x0a000002, 5000);
	CHECK_INT(ptcp_conn_new(&a->c, &cfg, &a->ep, &b->ep), 0);
	CHECK_INT(ptcp_conn_new(&b->c, &cfg, &b->ep, &a->ep), 0);
	CHECK_INT(ptcp_conn_open_active(a->c, &(struct ptcp_open){ .isn = 100 }, 0), 0);
	CHECK_INT(ptcp_conn_open_active(b->c, &(struct ptcp_open){ .isn = 900 }, 0), 0);
}

/* Sends total bytes from A with GSO up to max_segs, reads them at B. */
static uint64_t transfer(struct side *a, struct side *b, size_t total, unsigned max_segs,
                         struct stats *st)
{
	static uint8_t chunk[1 << 16], out[1 << 16];
	uint64_t now = 1000, sent = 0, got = 0, mismatches = 0;
	unsigned rounds;

	for (rounds = 0; rounds < 100000 && got < total; rounds++) {
		size_t want = total - sent < sizeof(chunk) ? total - sent : sizeof(chunk);
		ptcp_ssize r;
		uint64_t i;

		for (i = 0; i < want; i++)
			chunk[i] = pattern(sent + i);
		r = ptcp_conn_send(a->c, chunk, want, now);
		if (r > 0)
			sent += (uint64_t)r;
		pump(a, b, max_segs, st, now);
		while ((r = ptcp_conn_recv(b->c, out, sizeof(out), now)) > 0) {
			for (i = 0; i < (uint64_t)r; i++)
				mismatches += out[i] != pattern(got + i);
			got += (uint64_t)r;
		}
		pump(a, b, max_segs, st, now);
		if (ptcp_conn_expiry(a->c) != PTCP_TS_NEVER && r <= 0) {
			now = ptcp_conn_expiry(a->c) > now ? ptcp_conn_expiry(a->c) : now;
			ptcp_conn_handle_expiry(a->c, now);
			ptcp_conn_handle_expiry(b->c, now);
		}
		now += 1000;
	}
	CHECK_EQ(mismatches, 0);
	return got;
}

static void test_super_segments_arrive_intact(void)
{
	struct side a, b;
	struct stats st = { 0 };
	struct ptcp_stats sa;

	setup(&a, &b);
	CHECK_EQ(transfer(&a, &b, 4 << 20, 16, &st), 4 << 20);
	ptcp_conn_stats(a.c, &sa);
	CHECK(st.supers > 0);
	CHECK(st.max_segs > 1 && st.max_segs <= 16);
	CHECK_EQ(st.bad_pieces, 0);
	CHECK_EQ(st.psh_not_last, 0);
	CHECK_EQ(sa.retransmits, 0);
	/* Fewer output calls than segments: the point of it. */
	CHECK(st.supers * 2 < st.pieces);
	ptcp_conn_free(a.c);
	ptcp_conn_free(b.c);
}

static void test_one_segment_per_call_without_gso(void)
{
	struct side a, b;
	struct stats st = { 0 };

	setup(&a, &b);
	CHECK_EQ(transfer(&a, &b, 256 << 10, 1, &st), 256 << 10);
	CHECK_EQ(st.supers, 0);
	ptcp_conn_free(a.c);
	ptcp_conn_free(b.c);
}

static void test_lost_piece_is_retransmitted_alone(void)
{
	struct side a, b;
	struct stats st = { 0 };
	struct ptcp_stats sa;

	setup(&a, &b);
	st.drop_nth = 40; /* a piece in the middle of some super-segment */
	CHECK_EQ(transfer(&a, &b, 1 << 20, 8, &st), 1 << 20);
	ptcp_conn_stats(a.c, &sa);
	CHECK(sa.retransmits >= 1);
	/* Retransmissions never come out as super-segments: the bytes resent
	 * are at most one MSS per retransmission. */
	CHECK(sa.bytes_out <= (1u << 20) + sa.retransmits * sa.snd_mss);
	ptcp_conn_free(a.c);
	ptcp_conn_free(b.c);
}

/* PTCP_TXCAP_CSUM: the caller fills in the checksums (a packet socket's
 * kernel), so every segment of those calls comes out with the field 0; the
 * data arrive intact once it is filled in. */
static void test_checksum_left_to_the_caller(void)
{
	struct side a, b;
	struct stats st = { .caps = PTCP_TXCAP_CSUM };

	setup(&a, &b);
	CHECK_EQ(transfer(&a, &b, 1 << 20, 16, &st), 1 << 20);
	CHECK(st.supers > 0);
	CHECK_EQ(st.bad_pieces, 0);
	CHECK_EQ(st.csum_left, 0);
	ptcp_conn_free(a.c);
	ptcp_conn_free(b.c);
}

static void test_invalid_max_segs(void)
{
	struct side a, b;
	uint8_t buf[BIG];

	setup(&a, &b);
	CHECK_INT(ptcp_conn_output_gso(a.c, buf, sizeof(buf), 0, NULL, 0), PTCP_ERR_INVAL);
	ptcp_conn_free(a.c);
	ptcp_conn_free(b.c);
}

int main(void)
{
	RUN(test_super_segments_arrive_intact);
	RUN(test_one_segment_per_call_without_gso);
	RUN(test_lost_piece_is_retransmitted_alone);
	RUN(test_checksum_left_to_the_caller);
	RUN(test_invalid_max_segs);
	return check_summary();
}
