/* Tests of rendezvousd's 0-RTT replay cache (rendezvous/replay.h): a
 * nonce is taken once while it is kept, again once its time has passed;
 * a full cache takes nothing new until its oldest nonce expires, and
 * never forgets one in its time; many nonces, each found. */
#include <string.h>

#include "check.h"

#include "../../rendezvous/replay.c"

#define MS 1000000ull

static void nonce_of(uint8_t n[PTCP_RDV_NONCE_LEN], uint32_t i)
{
	memset(n, 0, PTCP_RDV_NONCE_LEN);
	memcpy(n, &i, sizeof(i));
	n[31] = 0x5a;
}

static void test_once_then_expired(void)
{
	struct ptcp_rdvd_replay *r;
	uint8_t a[PTCP_RDV_NONCE_LEN], b[PTCP_RDV_NONCE_LEN];

	CHECK_INT(ptcp_rdvd_replay_new(&r, 4, 1000 * MS), 0);
	nonce_of(a, 1);
	nonce_of(b, 2);
	CHECK_INT(ptcp_rdvd_replay_take(r, a, 5 * MS), PTCP_RDVD_REPLAY_FRESH);
	CHECK_INT(ptcp_rdvd_replay_take(r, a, 6 * MS), PTCP_RDVD_REPLAY_SEEN);
	CHECK_INT(ptcp_rdvd_replay_take(r, b, 7 * MS), PTCP_RDVD_REPLAY_FRESH);
	/* the last nanosecond of its time, then past it */
	CHECK_INT(ptcp_rdvd_replay_take(r, a, 1005 * MS - 1), PTCP_RDVD_REPLAY_SEEN);
	CHECK_INT(ptcp_rdvd_replay_take(r, a, 1005 * MS), PTCP_RDVD_REPLAY_FRESH);
	CHECK_INT(ptcp_rdvd_replay_count(r), 2);
	CHECK_INT(ptcp_rdvd_replay_take(r, b, 1007 * MS), PTCP_RDVD_REPLAY_FRESH);
	CHECK_INT(ptcp_rdvd_replay_take(r, a, 1008 * MS), PTCP_RDVD_REPLAY_SEEN);
	ptcp_rdvd_replay_free(r);
	ptcp_rdvd_replay_free(NULL);
	CHECK_INT(ptcp_rdvd_replay_new(&r, 0, MS), -EINVAL);
}

static void test_full(void)
{
	struct ptcp_rdvd_replay *r;
	uint8_t n[PTCP_RDV_NONCE_LEN];

	CHECK_INT(ptcp_rdvd_replay_new(&r, 3, 100 * MS), 0);
	for (uint32_t i = 0; i < 3; i++) {
		nonce_of(n, i);
		CHECK_INT(ptcp_rdvd_replay_take(r, n, i * MS), PTCP_RDVD_REPLAY_FRESH);
	}
	nonce_of(n, 9);
	CHECK_INT(ptcp_rdvd_replay_take(r, n, 50 * MS), PTCP_RDVD_REPLAY_FULL);
	/* full, but what it holds it still knows */
	nonce_of(n, 1);
	CHECK_INT(ptcp_rdvd_replay_take(r, n, 50 * MS), PTCP_RDVD_REPLAY_SEEN);
	/* the oldest expires at 100 ms: room for one */
	nonce_of(n, 9);
	CHECK_INT(ptcp_rdvd_replay_take(r, n, 100 * MS), PTCP_RDVD_REPLAY_FRESH);
	nonce_of(n, 10);
	CHECK_INT(ptcp_rdvd_replay_take(r, n, 100 * MS), PTCP_RDVD_REPLAY_FULL);
	nonce_of(n, 0);
	CHECK_INT(ptcp_rdvd_replay_take(r, n, 100 * MS), PTCP_RDVD_REPLAY_FULL);
	nonce_of(n, 2);
	CHECK_INT(ptcp_rdvd_replay_take(r, n, 101 * MS), PTCP_RDVD_REPLAY_SEEN);
	ptcp_rdvd_replay_free(r);
}

/* Many nonces through a small table: chains, wrap-around of the ring. */
static void test_many(void)
{
	struct ptcp_rdvd_replay *r;
	uint8_t n[PTCP_RDV_NONCE_LEN];
	const uint32_t cap = 1000;

	CHECK_INT(ptcp_rdvd_replay_new(&r, cap, 10 * MS), 0);
	for (uint32_t round = 0; round < 5; round++) {
		ptcp_ts t = round * 20 * MS;

		for (uint32_t i = 0; i < cap; i++) {
			nonce_of(n, round * cap + i);
			CHECK_INT(ptcp_rdvd_replay_take(r, n, t), PTCP_RDVD_REPLAY_FRESH);
		}
		CHECK_INT(ptcp_rdvd_replay_count(r), cap);
		for (uint32_t i = 0; i < cap; i++) {
			nonce_of(n, round * cap + i);
			CHECK_INT(ptcp_rdvd_replay_take(r, n, t + 1), PTCP_RDVD_REPLAY_SEEN);
			if (check_failed())
				break;
		}
	}
	ptcp_rdvd_replay_free(r);
}

int main(void)
{
	RUN(test_once_then_expired);
	RUN(test_full);
	RUN(test_many);
	return check_summary();
}
