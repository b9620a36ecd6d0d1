/* Tests of the --pcap writer (core/net/pcapw.c): the file it writes
 * is read back with libpcap, as tcpdump would, and the synthesised IPv4
 * header of sent segments is checked field by field. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "check.h"
#include "ip.h"
#include "pcapw.h"

static struct ptcp_endpoint ep4(uint8_t last)
{
	struct ptcp_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.family = PTCP_AF_INET;
	ep.addr[0] = 10;
	ep.addr[3] = last;
	return ep;
}

static void test_roundtrip(void)
{
	char path[] = "/tmp/ptcp-test-pcapw-XXXXXX";
	char err[PCAP_ERRBUF_SIZE];
	struct ptcp_endpoint a = ep4(1), b = ep4(2);
	struct ptcp_pcapw *w = NULL;
	struct pcap_pkthdr *h;
	const u_char *data;
	struct ptcp_ipv4 ip;
	uint8_t tcp[40], rx[60];
	pcap_t *p;
	int fd, i;

	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	for (i = 0; i < 40; i++)
		tcp[i] = (uint8_t)i;
	/* A "received" packet: a header of our own plus 20 bytes. */
	CHECK_INT(ptcp_ipv4_build(rx, sizeof(rx), &b, &a, 6, 57, 9, 20), 20);
	memset(rx + 20, 0xaa, 20);

	CHECK_INT(ptcp_pcapw_open(&w, path, err, sizeof(err)), 0);
	if (!w)
		return;
	CHECK_INT(ptcp_pcapw_write_tcp(w, &a, &b, tcp, sizeof(tcp), 0), 0);
	CHECK_INT(ptcp_pcapw_write_tcp(w, &a, &b, tcp, 20, 3), 0);
	CHECK_INT(ptcp_pcapw_write_ip(w, rx, 40), 0);
	CHECK_INT(ptcp_pcapw_write_ip(w, rx, 0), -EINVAL);
	CHECK_INT(ptcp_pcapw_flush(w), 0);
	ptcp_pcapw_close(w);

	p = pcap_open_offline(path, err);
	CHECK(p != NULL);
	if (!p)
		goto out;
	CHECK_INT(pcap_datalink(p), DLT_RAW);

	CHECK_INT(pcap_next_ex(p, &h, &data), 1);
	CHECK_EQ(h->caplen, 60);
	CHECK_EQ(h->len, 60);
	CHECK(h->ts.tv_sec > 1600000000);   /* wall clock, not monotonic */
	CHECK_INT(ptcp_ipv4_parse(&ip, data, h->caplen), 0);
	CHECK_EQ(ip.ttl, 64);
	CHECK_EQ(ip.proto, 6);
	CHECK_EQ(ip.src.addr[3], 1);
	CHECK_EQ(ip.dst.addr[3], 2);
	CHECK_EQ(ip.payload_len, 40);
	CHECK(memcmp(ip.payload, tcp, 40) == 0);

	CHECK_INT(pcap_next_ex(p, &h, &data), 1);
	CHECK_EQ(h->caplen, 40);
	CHECK_INT(ptcp_ipv4_parse(&ip, data, h->caplen), 0);
	CHECK_EQ(ip.ttl, 3);
	CHECK_EQ(ip.payload_len, 20);

	CHECK_INT(pcap_next_ex(p, &h, &data), 1);
	CHECK_EQ(h->caplen, 40);
	CHECK(memcmp(data, rx, 40) == 0);

	CHECK_INT(pcap_next_ex(p, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(p);
out:
	unlink(path);
}

static void test_open_error(void)
{
	struct ptcp_pcapw *w = (struct ptcp_pcapw *)&w;
	char err[256] = "";

	CHECK_INT(ptcp_pcapw_open(&w, "/nonexistent-dir/x.pcap", err, sizeof(err)), -EIO);
	CHECK(w == NULL);
	CHECK(strstr(err, "nonexistent-dir") != NULL || err[0] != '\0');
	ptcp_pcapw_close(NULL);
}

int main(void)
{
	RUN(test_roundtrip);
	RUN(test_open_error);
	return check_summary();
}
