/* Tests of the checksum tap's records (core/net/csumtap.c): which IPv4
 * segments it vouches for, without a socket. The socket's part (the
 * kernel's TP_STATUS_CSUMNOTREADY) is tested in a namespace by
 * tests/netns/test_csum.sh. */
#include <string.h>

#include "check.h"
#include "csumtap.h"
#include "ip.h"

static struct ptcp_endpoint ep4(uint8_t last)
{
	struct ptcp_endpoint ep;

	return *check_ep4(&ep, last, 0);
}

/* An IPv4 packet from 10.0.0.src to 10.0.0.1 with a 20-byte TCP header
 * of sequence number seq and len bytes of payload. */
static size_t packet(uint8_t *buf, uint8_t src, uint32_t seq, size_t len)
{
	struct ptcp_endpoint s = ep4(src), d = ep4(1);

	CHECK_INT(ptcp_ipv4_build(buf, 20, &s, &d, 6, 64, (uint16_t)seq, 20 + len), 20);
	memset(buf + 20, 0, 20 + len);
	buf[22] = 0x0f;
	buf[23] = 0xa0;
	buf[24] = (uint8_t)(seq >> 24);
	buf[25] = (uint8_t)(seq >> 16);
	buf[26] = (uint8_t)(seq >> 8);
	buf[27] = (uint8_t)seq;
	buf[32] = 0x50;
	return 40 + len;
}

static void test_vouches_for_what_the_kernel_marked(void)
{
	struct ptcp_csumtap t;
	uint8_t p[200], q[200];
	size_t n = packet(p, 2, 1000, 100);

	ptcp_csumtap_init(&t);
	CHECK(!ptcp_csumtap_match(&t, p, n));
	/* The tap keeps only the headers (a snap of 80 bytes at most). */
	ptcp_csumtap_note(&t, p, 80, true);
	CHECK(ptcp_csumtap_match(&t, p, n));
	/* Used up: the same segment again needs a record of its own. */
	CHECK(!ptcp_csumtap_match(&t, p, n));
	/* Not marked partial by the kernel: no record. */
	ptcp_csumtap_note(&t, p, 80, false);
	CHECK(!ptcp_csumtap_match(&t, p, n));
	/* Another segment, or the same from another source, does not match. */
	ptcp_csumtap_note(&t, p, 80, true);
	(void)packet(q, 2, 1001, 100);
	CHECK(!ptcp_csumtap_match(&t, q, n));
	(void)packet(q, 3, 1000, 100);
	CHECK(!ptcp_csumtap_match(&t, q, n));
	CHECK(ptcp_csumtap_match(&t, p, n));
}

static void test_checksum_field_is_compared(void)
{
	struct ptcp_csumtap t;
	uint8_t p[100];
	size_t n = packet(p, 2, 7, 10);

	ptcp_csumtap_init(&t);
	ptcp_csumtap_note(&t, p, n, true);
	p[37] ^= 1;
	CHECK(!ptcp_csumtap_match(&t, p, n));
	p[37] ^= 1;
	CHECK(ptcp_csumtap_match(&t, p, n));
}

static void test_out_of_order_and_wrapping(void)
{
	static struct ptcp_csumtap t;
	uint8_t p[64];
	uint32_t i;

	ptcp_csumtap_init(&t);
	for (i = 0; i < 8; i++)
		ptcp_csumtap_note(&t, p, packet(p, 2, i, 0), true);
	/* Two CPUs may deliver to the raw socket in another order. */
	for (i = 8; i-- > 0;)
		CHECK(ptcp_csumtap_match(&t, p, packet(p, 2, i, 0)));
	/* The oldest records give way to new ones. */
	for (i = 0; i < PTCP_CSUMTAP_RECS + 1; i++)
		ptcp_csumtap_note(&t, p, packet(p, 2, 100 + i, 0), true);
	CHECK(!ptcp_csumtap_match(&t, p, packet(p, 2, 100, 0)));
	CHECK(ptcp_csumtap_match(&t, p, packet(p, 2, 101, 0)));
	CHECK(ptcp_csumtap_match(&t, p, packet(p, 2, 100 + PTCP_CSUMTAP_RECS, 0)));
}

static void test_short_or_not_ipv4(void)
{
	struct ptcp_csumtap t;
	uint8_t p[100];
	size_t n = packet(p, 2, 7, 0);

	ptcp_csumtap_init(&t);
	ptcp_csumtap_note(&t, p, 39, true);
	CHECK(!ptcp_csumtap_match(&t, p, n));
	CHECK(!ptcp_csumtap_match(&t, p, 39));
	p[0] = 0x65;
	ptcp_csumtap_note(&t, p, n, true);
	CHECK(!ptcp_csumtap_match(&t, p, n));
	/* No socket: nothing is vouched for, and that is counted. */
	p[0] = 0x45;
	ptcp_csumtap_note(&t, p, n, true);
	CHECK(!ptcp_csumtap_vouches(&t, p, n));
	CHECK_EQ(t.refused, 1);
}

int main(void)
{
	RUN(test_vouches_for_what_the_kernel_marked);
	RUN(test_checksum_field_is_compared);
	RUN(test_out_of_order_and_wrapping);
	RUN(test_short_or_not_ipv4);
	return check_summary();
}
