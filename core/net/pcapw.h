/* --pcap: every segment the engine sends and receives, in a standard
 * pcap file (link type LINKTYPE_RAW: each record starts with the IP
 * header) that tcpdump -r and Wireshark read.
 *
 * Received IPv4 segments are written as the whole IP packet the raw
 * socket delivered. For sent segments the kernel adds the IP header after
 * we hand the segment over, and an IPv6 raw socket delivers received
 * segments without theirs, so for those the writer synthesises one
 * (ip.h) with the addresses and TTL or hop limit the kernel used or will
 * use. Timestamps are wall-clock time. */
#ifndef PTCP_PCAPW_H
#define PTCP_PCAPW_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct ptcp_pcapw;

/* Creates the file at path with mode 0600 (it holds the payloads), or
 * truncates an existing regular file of ours and sets its mode to 0600,
 * and writes the pcap header. A symbolic link is not followed, another
 * user's file not touched; a pipe or a device (mkfifo, then tcpdump -r on
 * it) is written as it is.
 *
 * Returns 0, or with the reason in err[0..errlen): -ELOOP (a symbolic
 * link), -EPERM (another user's file), -EINVAL (a directory, socket...),
 * -EIO (libpcap failed), -ENOMEM, or the -errno of open(2). */
int ptcp_pcapw_open(struct ptcp_pcapw **out, const char *path, char *err, size_t errlen);

/* Writes one received IP packet pkt[0..len). Returns 0 or -EINVAL
 * (len 0 or > 65535). */
int ptcp_pcapw_write_ip(struct ptcp_pcapw *w, const uint8_t *pkt, size_t len);

/* Writes one TCP segment tcp[0..len) from src to dst with an IPv4 or
 * IPv6 header made up for it (ttl 0 is written as 64, Linux's default).
 * Returns 0 or -EINVAL (src and dst not both IPv4 or both IPv6, too
 * long). */
int ptcp_pcapw_write_tcp(struct ptcp_pcapw *w, const struct ptcp_endpoint *src,
                         const struct ptcp_endpoint *dst, const uint8_t *tcp, size_t len,
                         uint8_t ttl);

/* Pushes buffered records to the file. Returns 0 or -EIO. */
int ptcp_pcapw_flush(struct ptcp_pcapw *w);

/* Flushes and closes. NULL is allowed. */
void ptcp_pcapw_close(struct ptcp_pcapw *w);

#endif
