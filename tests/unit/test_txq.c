/* The sender's segment records: the ring, cumulative ACKs (also inside a
 * record), SACK marking (whole records only), loss and retransmission marks,
 * the RFC 6675 pipe, lookups, and the running totals checked against a
 * recount after every step of a seeded random run. */
#include <string.h>

#include "check.h"
#include "txq.h"

#define CAP 16

/* The totals recounted from the records. */
static void check_totals(const struct ptcp_txq *q)
{
	uint32_t sacked = 0, lost = 0, retrans = 0, nsacked = 0, nretrans = 0, npending = 0, i;

	for (i = 0; i < q->n; i++) {
		const struct ptcp_txseg *s = ptcp_txq_at(q, i);

		if (i + 1 < q->n)
			CHECK_EQ(s->seq + s->len, ptcp_txq_at(q, i + 1)->seq);
		if (s->flags & PTCP_TXSEG_SACKED) {
			sacked += s->len;
			nsacked++;
		} else {
			lost += s->flags & PTCP_TXSEG_LOST ? s->len : 0;
			retrans += s->flags & PTCP_TXSEG_RETRANS ? s->len : 0;
			npending += (s->flags & (PTCP_TXSEG_LOST | PTCP_TXSEG_RETRANS)) == PTCP_TXSEG_LOST;
		}
		nretrans += !!(s->flags & PTCP_TXSEG_EVER_RETRANS);
	}
	CHECK_EQ(q->sacked, sacked);
	CHECK_EQ(q->lost, lost);
	CHECK_EQ(q->retrans, retrans);
	CHECK_EQ(q->nsacked, nsacked);
	CHECK_EQ(q->nretrans, nretrans);
	CHECK_EQ(q->npending, npending);
	CHECK_EQ(ptcp_txq_pipe(q), ptcp_txq_bytes(q) - sacked - lost + retrans);
}

static void visit_count(void *ctx, const struct ptcp_txseg *seg)
{
	uint32_t *n = ctx;

	*n += seg->len;
}

/* Ten records of 100 from 0xffffff00: the sequence numbers wrap. */
static void fill(struct ptcp_txq *q, struct ptcp_txseg *mem)
{
	unsigned i;

	ptcp_txq_init(q, mem, CAP);
	for (i = 0; i < 10; i++)
		CHECK(ptcp_txq_push(q, 0xffffff00u + 100 * i, 100, false, 1000 + i));
}

static void test_push_ack_and_pipe(void)
{
	struct ptcp_txseg mem[CAP];
	struct ptcp_txq q;
	uint32_t seen = 0;
	unsigned i;

	fill(&q, mem);
	CHECK_EQ(q.n, 10);
	CHECK_EQ(ptcp_txq_bytes(&q), 1000);
	CHECK_EQ(ptcp_txq_pipe(&q), 1000);
	CHECK_EQ(ptcp_txq_end(&q), 0xffffff00u + 1000);
	/* Cumulative ACK of two and a half records. */
	CHECK_EQ(ptcp_txq_ack(&q, 0xffffff00u + 250, visit_count, &seen), 250);
	CHECK_EQ(seen, 300); /* the visitor sees each record as it was */
	CHECK_EQ(q.n, 8);
	CHECK_EQ(ptcp_txq_at(&q, 0)->seq, 0xffffff00u + 250);
	CHECK_EQ(ptcp_txq_at(&q, 0)->len, 50);
	check_totals(&q);
	/* The ring refills past its end. */
	for (i = 0; i < 8; i++)
		CHECK(ptcp_txq_push(&q, ptcp_txq_end(&q), 10, i == 7, 2000));
	CHECK(ptcp_txq_full(&q));
	CHECK(!ptcp_txq_push(&q, ptcp_txq_end(&q), 10, false, 2000));
	CHECK(ptcp_txq_at(&q, 15)->flags & PTCP_TXSEG_FIN);
	CHECK_EQ(ptcp_txq_ack(&q, ptcp_txq_end(&q), NULL, NULL), 750 + 80);
	CHECK(ptcp_txq_empty(&q));
	check_totals(&q);
}

static void test_sack_whole_records_only(void)
{
	struct ptcp_txseg mem[CAP];
	struct ptcp_txq q;
	ptcp_seq b = 0xffffff00u;
	uint32_t seen = 0;

	fill(&q, mem);
	/* [b+150, b+420): only records 2 and 3 lie wholly inside. */
	CHECK_EQ(ptcp_txq_sack(&q, b + 150, b + 420, visit_count, &seen), 200);
	CHECK_EQ(seen, 200);
	CHECK_EQ(q.nsacked, 2);
	CHECK(!(ptcp_txq_at(&q, 1)->flags & PTCP_TXSEG_SACKED));
	CHECK(ptcp_txq_at(&q, 2)->flags & PTCP_TXSEG_SACKED);
	CHECK(!(ptcp_txq_at(&q, 4)->flags & PTCP_TXSEG_SACKED));
	/* Again: nothing new, the visitor is not called. */
	seen = 0;
	CHECK_EQ(ptcp_txq_sack(&q, b + 200, b + 400, visit_count, &seen), 0);
	CHECK_EQ(seen, 0);
	CHECK_EQ(ptcp_txq_high_sacked(&q), b + 400);
	CHECK_EQ(ptcp_txq_pipe(&q), 800);
	/* An ACK over SACKed records delivers only what was not SACKed. */
	CHECK_EQ(ptcp_txq_ack(&q, b + 500, NULL, NULL), 300);
	check_totals(&q);
	/* Reneging: the marks go. */
	ptcp_txq_sack(&q, b + 600, b + 800, NULL, NULL);
	ptcp_txq_clear_sacked(&q);
	CHECK_EQ(q.nsacked, 0);
	CHECK_EQ(ptcp_txq_high_sacked(&q), b + 500);
	check_totals(&q);
	/* Empty or inverted blocks say nothing. */
	CHECK_EQ(ptcp_txq_sack(&q, b + 700, b + 700, NULL, NULL), 0);
	CHECK_EQ(ptcp_txq_sack(&q, b + 800, b + 700, NULL, NULL), 0);
}

static void test_lost_and_retransmitted(void)
{
	struct ptcp_txseg mem[CAP];
	struct ptcp_txq q;
	ptcp_seq b = 0xffffff00u;

	fill(&q, mem);
	CHECK_INT(ptcp_txq_next_lost(&q), -1);
	ptcp_txq_mark_lost(&q, 3);
	ptcp_txq_mark_lost(&q, 1);
	CHECK_INT(ptcp_txq_next_lost(&q), 1);
	CHECK_EQ(ptcp_txq_pipe(&q), 800);
	/* A retransmission of a lost record is in flight again. */
	ptcp_txq_retransmitted(&q, 1, 5000);
	CHECK_EQ(ptcp_txq_at(&q, 1)->xmit_ts, 5000);
	CHECK_INT(ptcp_txq_next_lost(&q), 3);
	CHECK_EQ(ptcp_txq_pipe(&q), 900);
	check_totals(&q);
	/* Lost again: resent again. */
	ptcp_txq_mark_lost(&q, 1);
	CHECK_INT(ptcp_txq_next_lost(&q), 1);
	CHECK(ptcp_txq_at(&q, 1)->flags & PTCP_TXSEG_EVER_RETRANS);
	check_totals(&q);
	/* A SACKed record is never lost. */
	ptcp_txq_sack(&q, b + 500, b + 600, NULL, NULL);
	ptcp_txq_mark_lost(&q, 5);
	CHECK(!(ptcp_txq_at(&q, 5)->flags & PTCP_TXSEG_LOST));
	/* Undo: the losses were not. */
	ptcp_txq_clear_lost(&q);
	CHECK_INT(ptcp_txq_next_lost(&q), -1);
	CHECK_EQ(q.lost, 0);
	check_totals(&q);
	/* Lookups. */
	CHECK_INT(ptcp_txq_find(&q, b), 0);
	CHECK_INT(ptcp_txq_find(&q, b + 199), 1);
	CHECK_INT(ptcp_txq_find(&q, b + 999), 9);
	CHECK_INT(ptcp_txq_find(&q, b + 1000), -1);
	CHECK_INT(ptcp_txq_find(&q, b - 1), -1);
}

/* Random operations against the recount. */
static void test_random_against_recount(void)
{
	struct ptcp_txseg mem[64];
	struct ptcp_txq q;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	ptcp_seq next = 0xfff00000u;
	unsigned step;

	ptcp_txq_init(&q, mem, 64);
	for (step = 0; step < 20000 && !check_failed(); step++) {
		uint64_t r = check_xorshift64(&rng);
		uint32_t span = ptcp_txq_bytes(&q);
		ptcp_seq una = q.n ? ptcp_txq_at(&q, 0)->seq : next;

		switch (r % 6) {
		case 0:
		case 1: {
			uint32_t len = 1 + (uint32_t)(r >> 8) % 1500;

			if (ptcp_txq_push(&q, next, len, false, step))
				next += len;
			break;
		}
		case 2:
			if (span)
				ptcp_txq_ack(&q, una + (uint32_t)(r >> 8) % (span + 1), NULL, NULL);
			break;
		case 3:
			if (span) {
				uint32_t a = (uint32_t)(r >> 8) % span, w = (uint32_t)(r >> 32) % 4000;

				ptcp_txq_sack(&q, una + a, una + a + w, NULL, NULL);
			}
			break;
		case 4:
			if (q.n)
				ptcp_txq_mark_lost(&q, (uint32_t)(r >> 8) % q.n);
			break;
		case 5:
			if (q.n && (r >> 40) % 8 == 0)
				ptcp_txq_clear_sacked(&q);
			else if (q.n)
				ptcp_txq_retransmitted(&q, (uint32_t)(r >> 8) % q.n, step);
			break;
		}
		check_totals(&q);
	}
}

int main(void)
{
	RUN(test_push_ack_and_pipe);
	RUN(test_sack_whole_records_only);
	RUN(test_lost_and_retransmitted);
	RUN(test_random_against_recount);
	return check_summary();
}
