/* The classic BPF socket filter (SO_ATTACH_FILTER) for the raw socket.
 *
 * A raw IPPROTO_TCP socket gets a copy of every TCP packet the host
 * receives; the filter makes the kernel hand us only the packets for our
 * local port (and local address, when it is known), so the process does
 * not wake for, copy or parse the host's other traffic. The program runs
 * on the IP packet, IP header first. */
#ifndef PTCP_BPF_H
#define PTCP_BPF_H

#include <stddef.h>

#include <linux/filter.h>

#include "addr.h"

#define PTCP_BPF_MAX 16   /* instructions the longest program needs */

/* Writes into prog[0..cap) a program that accepts IPv4 TCP packets that
 * are not non-first fragments, whose destination port is local->port
 * and, unless local's address is 0.0.0.0, whose destination address is
 * local's. Everything else is dropped in the kernel.
 *
 * Returns the number of instructions, or PTCP_ERR_NOBUF (cap too small),
 * PTCP_ERR_INVAL (local is not IPv4). */
int ptcp_bpf_tcp_port(struct sock_filter *prog, size_t cap, const struct ptcp_endpoint *local);

#endif
