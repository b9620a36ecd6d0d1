#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "clock.h"
#include "ip.h"
#include "pcapw.h"

#define SNAPLEN 65535

struct ptcp_pcapw {
	pcap_t *pcap;
	pcap_dumper_t *dump;
	uint16_t next_id;   /* IP ID of synthesised headers */
	uint8_t pkt[SNAPLEN];
};

/* The capture holds the payloads: made 0600 whatever the umask; an
 * existing file of ours is truncated and set to 0600; a symbolic link is
 * not followed (a planted /tmp/x.pcap -> /etc/shadow must not be
 * truncated by a root p2ptcp) and another user's file is not touched; a
 * pipe or a device is written as it is. Returns the descriptor or -errno
 * with the reason in err. */
static int open_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, rv;

	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0) {
		rv = -errno;
		if (errno == ELOOP)
			snprintf(err, errlen, "it is a symbolic link (give the file it points to)");
		else
			snprintf(err, errlen, "%s", strerror(errno));
		return rv;
	}
	if (fstat(fd, &st) != 0) {
		rv = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	if (S_ISREG(st.st_mode)) {
		if (st.st_uid != geteuid()) {
			snprintf(err, errlen, "it belongs to uid %lu, not to us: not overwriting it",
				 (unsigned long)st.st_uid);
			rv = -EPERM;
			goto fail;
		}
		if (fchmod(fd, 0600) != 0 || ftruncate(fd, 0) != 0) {
			rv = -errno;
			snprintf(err, errlen, "%s", strerror(errno));
			goto fail;
		}
	} else if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
		snprintf(err, errlen, "not a regular file, a pipe or a device");
		rv = -EINVAL;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return rv;
}

int ptcp_pcapw_open(struct ptcp_pcapw **out, const char *path, char *err, size_t errlen)
{
	struct ptcp_pcapw *w;
	FILE *f;
	int fd;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* DLT_RAW: packets start with the IP header, no link layer. */
	w->pcap = pcap_open_dead(DLT_RAW, SNAPLEN);
	if (!w->pcap) {
		snprintf(err, errlen, "libpcap cannot create a capture handle");
		free(w);
		return -ENOMEM;
	}
	fd = open_file(path, err, errlen);
	if (fd < 0) {
		pcap_close(w->pcap);
		free(w);
		return fd;
	}
	f = fdopen(fd, "wb");
	w->dump = f ? pcap_dump_fopen(w->pcap, f) : NULL;
	if (!w->dump) {
		snprintf(err, errlen, "%s", f ? pcap_geterr(w->pcap) : strerror(errno));
		if (f)
			fclose(f);
		else
			close(fd);
		pcap_close(w->pcap);
		free(w);
		return -EIO;
	}
	*out = w;
	return 0;
}

static void write_record(struct ptcp_pcapw *w, const uint8_t *pkt, size_t len)
{
	struct pcap_pkthdr h;
	uint64_t now = ptcp_clock_wall();

	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = (time_t)(now / PTCP_NS_PER_S);
	h.ts.tv_usec = (suseconds_t)(now % PTCP_NS_PER_S / PTCP_NS_PER_US);
	h.caplen = (bpf_u_int32)len;
	h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)w->dump, &h, pkt);
}

int ptcp_pcapw_write_ip(struct ptcp_pcapw *w, const uint8_t *pkt, size_t len)
{
	if (len == 0 || len > SNAPLEN)
		return -EINVAL;
	write_record(w, pkt, len);
	return 0;
}

int ptcp_pcapw_write_tcp(struct ptcp_pcapw *w, const struct ptcp_endpoint *src,
                         const struct ptcp_endpoint *dst, const uint8_t *tcp, size_t len,
                         uint8_t ttl)
{
	int hl;

	if (src->family == PTCP_AF_INET6) {
		if (len > SNAPLEN - PTCP_IPV6_HDR)
			return -EINVAL;
		hl = ptcp_ipv6_build(w->pkt, sizeof(w->pkt), src, dst, PTCP_IPPROTO_TCP,
				     ttl ? ttl : 64, len);
	} else {
		if (len > SNAPLEN - PTCP_IPV4_HDR_MIN)
			return -EINVAL;
		hl = ptcp_ipv4_build(w->pkt, sizeof(w->pkt), src, dst, PTCP_IPPROTO_TCP,
				     ttl ? ttl : 64, w->next_id++, len);
	}
	if (hl < 0)
		return -EINVAL;
	memcpy(w->pkt + hl, tcp, len);
	write_record(w, w->pkt, (size_t)hl + len);
	return 0;
}

int ptcp_pcapw_flush(struct ptcp_pcapw *w)
{
	return pcap_dump_flush(w->dump) == 0 ? 0 : -EIO;
}

void ptcp_pcapw_close(struct ptcp_pcapw *w)
{
	if (!w)
		return;
	pcap_dump_close(w->dump);
	pcap_close(w->pcap);
	free(w);
}
