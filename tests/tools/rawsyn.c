/* rawsyn: one SYN with a chosen checksum, and the answer to it.
 *
 *   rawsyn SRC SPORT DST DPORT good|partial|bad [WAIT_MS]
 *
 * Sends from SRC:SPORT to DST:DPORT (IPv4 or IPv6 addresses) a SYN whose
 * TCP checksum is right ("good"), holds only the pseudo-header sum, as a
 * segment a local kernel left to offload would ("partial": the forged
 * kind that RFC 9293 MUST-3 says to drop), or is off by one ("bad").
 * It goes through a raw socket, so the sending kernel neither fills in
 * nor marks the checksum: the packet crosses the link as it was made.
 * Then waits up to WAIT_MS (default 1000) for DST:DPORT's answer to
 * SRC:SPORT and prints one line: "reply synack", "reply rst" or
 * "reply none". Exit 0, or 2 on bad usage, 1 on a socket error.
 *
 * Plain libc only: the independent check on the driver. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint32_t add16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} src, dst;
	uint8_t seg[24], a_src[16], a_dst[16], buf[2048];
	int fam, fd, alen, wait_ms = argc > 6 ? atoi(argv[6]) : 1000;
	unsigned sport, dport;
	uint32_t sum;
	uint16_t pseudo;
	socklen_t slen;
	long end;

	if (argc < 6) {
		fprintf(stderr, "usage: rawsyn SRC SPORT DST DPORT good|partial|bad [WAIT_MS]\n");
		return 2;
	}
	fam = strchr(argv[1], ':') ? AF_INET6 : AF_INET;
	alen = fam == AF_INET6 ? 16 : 4;
	if (inet_pton(fam, argv[1], a_src) != 1 || inet_pton(fam, argv[3], a_dst) != 1) {
		fprintf(stderr, "rawsyn: invalid address: '%s' or '%s'\n", argv[1], argv[3]);
		return 2;
	}
	sport = (unsigned)atoi(argv[2]);
	dport = (unsigned)atoi(argv[4]);
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	if (fam == AF_INET6) {
		src.in6.sin6_family = dst.in6.sin6_family = AF_INET6;
		memcpy(&src.in6.sin6_addr, a_src, 16);
		memcpy(&dst.in6.sin6_addr, a_dst, 16);
		slen = sizeof(src.in6);
	} else {
		src.in.sin_family = dst.in.sin_family = AF_INET;
		memcpy(&src.in.sin_addr, a_src, 4);
		memcpy(&dst.in.sin_addr, a_dst, 4);
		slen = sizeof(src.in);
	}

	/* SYN, sequence 1000, window 65535, one option: MSS 1400. */
	memset(seg, 0, sizeof(seg));
	seg[0] = (uint8_t)(sport >> 8);
	seg[1] = (uint8_t)sport;
	seg[2] = (uint8_t)(dport >> 8);
	seg[3] = (uint8_t)dport;
	seg[6] = 0x03;
	seg[7] = 0xe8;
	seg[12] = 6 << 4;
	seg[13] = 0x02;
	seg[14] = seg[15] = 0xff;
	seg[20] = 2;
	seg[21] = 4;
	seg[22] = 1400 >> 8;
	seg[23] = 1400 & 0xff;
	sum = add16(0, a_src, (size_t)alen);
	sum = add16(sum, a_dst, (size_t)alen);
	pseudo = fold(sum + 6 + sizeof(seg));
	if (strcmp(argv[5], "partial") == 0) {
		seg[16] = (uint8_t)(pseudo >> 8);
		seg[17] = (uint8_t)pseudo;
	} else {
		uint16_t ck = (uint16_t)~fold(add16(pseudo, seg, sizeof(seg)));

		if (strcmp(argv[5], "bad") == 0)
			ck++;
		else if (strcmp(argv[5], "good") != 0) {
			fprintf(stderr, "rawsyn: invalid checksum kind: '%s'\n", argv[5]);
			return 2;
		}
		seg[16] = (uint8_t)(ck >> 8);
		seg[17] = (uint8_t)ck;
	}

	fd = socket(fam, SOCK_RAW, IPPROTO_TCP);
	if (fd < 0 || bind(fd, &src.sa, slen) != 0 ||
	    sendto(fd, seg, sizeof(seg), 0, &dst.sa, slen) != (ssize_t)sizeof(seg)) {
		fprintf(stderr, "rawsyn: %s\n", strerror(errno));
		return 1;
	}

	end = now_ms() + wait_ms;
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		long left = end - now_ms();
		ssize_t n;
		const uint8_t *tcp;
		size_t off;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			break;
		/* IPv4 raw sockets give the IP header, IPv6 ones do not. */
		off = fam == AF_INET ? (size_t)(buf[0] & 0x0f) * 4 : 0;
		if ((size_t)n < off + 14)
			continue;
		if (fam == AF_INET && memcmp(buf + 12, a_dst, 4) != 0)
			continue;
		tcp = buf + off;
		if ((unsigned)(tcp[0] << 8 | tcp[1]) != dport || (unsigned)(tcp[2] << 8 | tcp[3]) != sport)
			continue;
		if ((tcp[13] & 0x12) == 0x12) {
			printf("reply synack\n");
			return 0;
		}
		if (tcp[13] & 0x04) {
			printf("reply rst\n");
			return 0;
		}
	}
	printf("reply none\n");
	return 0;
}
