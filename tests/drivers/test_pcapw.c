/* Tests of the --pcap writer (core/net/pcapw.c): the file it writes
 * is read back with libpcap, as tcpdump would, and the synthesised IPv4
 * header of sent segments is checked field by field. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "check.h"
#include "ip.h"
#include "pcapw.h"

static struct ptcp_endpoint ep4(uint8_t last)
{
	struct ptcp_endpoint ep;

	return *check_ep4(&ep, last, 0);
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

/* IPv6 segments, sent or received, get a header of their own: an
 * AF_INET6 raw socket hands over none. tcpdump's own filter language
 * finds them as IPv6 TCP in the DLT_RAW file. */
static void test_roundtrip_ipv6(void)
{
	char path[] = "/tmp/ptcp-test-pcapw-XXXXXX";
	char err[PCAP_ERRBUF_SIZE];
	struct ptcp_endpoint a, b, v4 = ep4(1);
	struct ptcp_pcapw *w = NULL;
	struct bpf_program prog;
	struct pcap_pkthdr *h;
	const u_char *data;
	struct ptcp_ipv6 ip;
	uint8_t tcp[20];
	pcap_t *p;
	int fd;

	check_ep6(&a, 1, 0);
	check_ep6(&b, 2, 0);
	memset(tcp, 0, sizeof(tcp));
	tcp[1] = 80;      /* port 80 to port 4000 */
	tcp[2] = 4000 >> 8;
	tcp[3] = 4000 & 0xff;
	tcp[12] = 0x50;
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	CHECK_INT(ptcp_pcapw_open(&w, path, err, sizeof(err)), 0);
	if (!w)
		return;
	CHECK_INT(ptcp_pcapw_write_tcp(w, &a, &b, tcp, sizeof(tcp), 0), 0);
	CHECK_INT(ptcp_pcapw_write_tcp(w, &b, &a, tcp, sizeof(tcp), 58), 0);
	CHECK_INT(ptcp_pcapw_write_tcp(w, &v4, &b, tcp, sizeof(tcp), 0), -EINVAL);
	CHECK_INT(ptcp_pcapw_write_tcp(w, &a, &v4, tcp, sizeof(tcp), 0), -EINVAL);
	ptcp_pcapw_close(w);

	p = pcap_open_offline(path, err);
	CHECK(p != NULL);
	if (!p)
		goto out;
	CHECK_INT(pcap_compile(p, &prog, "ip6 and tcp dst port 4000", 1, PCAP_NETMASK_UNKNOWN), 0);
	CHECK_INT(pcap_next_ex(p, &h, &data), 1);
	CHECK_EQ(h->caplen, 60);
	CHECK_INT(ptcp_ipv6_parse(&ip, data, h->caplen), 0);
	CHECK_EQ(ip.hop_limit, 64);
	CHECK_EQ(ip.next_header, 6);
	CHECK_EQ(ip.payload_len, 20);
	CHECK(ptcp_endpoint_equal(&ip.src, &a));
	CHECK(ptcp_endpoint_equal(&ip.dst, &b));
	CHECK(memcmp(ip.payload, tcp, 20) == 0);
	CHECK(pcap_offline_filter(&prog, h, data) != 0);
	CHECK_INT(pcap_next_ex(p, &h, &data), 1);
	CHECK_INT(ptcp_ipv6_parse(&ip, data, h->caplen), 0);
	CHECK_EQ(ip.hop_limit, 58);
	CHECK(ptcp_endpoint_equal(&ip.src, &b));
	CHECK_INT(pcap_next_ex(p, &h, &data), PCAP_ERROR_BREAK);
	pcap_freecode(&prog);
	pcap_close(p);
out:
	unlink(path);
}

static void test_open_error(void)
{
	struct ptcp_pcapw *w = (struct ptcp_pcapw *)&w;
	char err[256] = "";

	CHECK_INT(ptcp_pcapw_open(&w, "/nonexistent-dir/x.pcap", err, sizeof(err)), -ENOENT);
	CHECK(w == NULL);
	CHECK(strcmp(err, "No such file or directory") == 0);
	ptcp_pcapw_close(NULL);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* It holds payloads: 0600 whatever the umask, also for a file that was
 * there (truncated), never through a symbolic link, never another's. */
static void test_modes(void)
{
	char dir[] = "/tmp/ptcp-test-pcapw-d-XXXXXX", path[96], link[96], other[96];
	char err[256];
	struct ptcp_pcapw *w = NULL;
	struct stat st;
	mode_t old = umask(022);
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/new.pcap", dir);
	snprintf(link, sizeof(link), "%s/link.pcap", dir);
	snprintf(other, sizeof(other), "%s/other.pcap", dir);

	CHECK_INT(ptcp_pcapw_open(&w, path, err, sizeof(err)), 0);
	ptcp_pcapw_close(w);
	CHECK_EQ(mode_of(path), 0600);

	/* an existing 0644 file with old contents: 0600, only the header */
	CHECK_INT(chmod(path, 0644), 0);
	fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "old contents that must go", 25) == 25);
	close(fd);
	CHECK_INT(ptcp_pcapw_open(&w, path, err, sizeof(err)), 0);
	ptcp_pcapw_close(w);
	CHECK_EQ(mode_of(path), 0600);
	CHECK_INT(stat(path, &st), 0);
	CHECK_EQ(st.st_size, 24);   /* the pcap file header */

	/* a symbolic link is refused, its target untouched */
	CHECK_INT(symlink(path, link), 0);
	CHECK_INT(chmod(path, 0644), 0);
	CHECK_INT(ptcp_pcapw_open(&w, link, err, sizeof(err)), -ELOOP);
	CHECK(w == NULL);
	CHECK(strcmp(err, "it is a symbolic link (give the file it points to)") == 0);
	CHECK_EQ(mode_of(path), 0644);

	/* another user's file is not ours to truncate (as root: chown it) */
	if (geteuid() == 0) {
		fd = open(other, O_WRONLY | O_CREAT, 0644);
		CHECK(fd >= 0 && write(fd, "theirs", 6) == 6 && fchown(fd, 65534, 65534) == 0);
		close(fd);
		CHECK_INT(ptcp_pcapw_open(&w, other, err, sizeof(err)), -EPERM);
		CHECK(strcmp(err, "it belongs to uid 65534, not to us: not overwriting it") == 0);
		CHECK_INT(stat(other, &st), 0);
		CHECK_EQ(st.st_size, 6);
		CHECK_EQ(st.st_mode & 07777, 0644);
		unlink(other);
	}
	unlink(link);
	unlink(path);
	rmdir(dir);
	umask(old);
}

int main(void)
{
	RUN(test_roundtrip);
	RUN(test_roundtrip_ipv6);
	RUN(test_open_error);
	RUN(test_modes);
	return check_summary();
}
