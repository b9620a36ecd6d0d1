#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "nftguard.h"

/* Copies the first non-empty line of nftables' error output. */
static void first_line(char *dst, size_t cap, const char *src)
{
	size_t n;

	if (cap == 0)
		return;
	if (!src)
		src = "";
	while (*src == '\n')
		src++;
	n = strcspn(src, "\n");
	if (n == 0) {
		snprintf(dst, cap, "unknown nftables error");
		return;
	}
	/* nftables prefixes every message with "Error: ". */
	if (n > 7 && strncmp(src, "Error: ", 7) == 0) {
		src += 7;
		n -= 7;
	}
	snprintf(dst, cap, "%.*s", (int)n, src);
}

/* libnftables writes some failures (e.g. "Operation not permitted (you
 * must be root)") straight to stderr instead of its error buffer. Our
 * stderr carries one line per error, so the command runs with fd 2
 * pointed at a memory file whose text joins the error buffer's. */
static int run_captured(struct ptcp_nftguard *g, const char *cmd, char *text, size_t cap)
{
	int saved = -1, mem, rv;
	ssize_t n = 0;
	const char *buf;

	text[0] = '\0';
	mem = memfd_create("p2ptcp-nft", MFD_CLOEXEC);
	if (mem >= 0) {
		fflush(stderr);
		saved = dup(STDERR_FILENO);
		if (saved < 0 || dup2(mem, STDERR_FILENO) < 0) {
			if (saved >= 0)
				close(saved);
			saved = -1;
		}
	}
	rv = nft_run_cmd_from_buffer(g->nft, cmd);
	if (saved >= 0) {
		fflush(stderr);
		dup2(saved, STDERR_FILENO);
		close(saved);
		n = pread(mem, text, cap - 1, 0);
		text[n > 0 ? n : 0] = '\0';
	}
	if (mem >= 0)
		close(mem);
	buf = nft_ctx_get_error_buffer(g->nft);
	if (rv != 0 && buf && *buf) {
		/* The error buffer explains better; it goes first. */
		size_t len = strlen(text);
		char tail[256];

		snprintf(tail, sizeof(tail), "%s", text);
		snprintf(text, cap, "%s%s%s", buf, len ? "\n" : "", tail);
	}
	return rv;
}

static int run(struct ptcp_nftguard *g, const char *cmd, char *err, size_t errlen)
{
	char msg[1024];

	if (run_captured(g, cmd, msg, sizeof(msg)) == 0)
		return 0;
	first_line(err, errlen, msg);
	if (strstr(msg, "Operation not permitted"))
		return -EPERM;
	return -ENOTSUP;
}

/* The match of one family's address as SIDE ("saddr" or "daddr"), or of
 * the family alone when the address is all zero (any of this host's
 * addresses, with local: "fib daddr type local"). */
static void addr_match(char *buf, size_t cap, const struct ptcp_endpoint *ep, const char *side,
		       bool local)
{
	char a[INET6_ADDRSTRLEN] = "";
	bool v6 = ep->family == PTCP_AF_INET6;
	uint8_t any = 0;

	for (int i = 0; i < (v6 ? 16 : 4); i++)
		any |= ep->addr[i];
	if (any) {
		inet_ntop(v6 ? AF_INET6 : AF_INET, ep->addr, a, sizeof(a));
		snprintf(buf, cap, "%s %s %s", v6 ? "ip6" : "ip", side, a);
	} else {
		snprintf(buf, cap, "meta nfproto %s%s", v6 ? "ipv6" : "ipv4",
			 local ? " fib daddr type local" : "");
	}
}

/* An nftables context that prints nothing on our stdout/stderr (stdout
 * carries the peer's bytes); NULL with err said. */
static struct nft_ctx *new_ctx(char *err, size_t errlen)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);

	if (!nft) {
		snprintf(err, errlen, "cannot create an nftables context");
		return NULL;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	return nft;
}

/* One family's rule in the output chain: RSTs from our port without our
 * mark dropped. */
static void rule(char *buf, size_t cap, const struct ptcp_endpoint *ep, uint32_t mark)
{
	char m[80];

	addr_match(m, sizeof(m), ep, "saddr", false);
	snprintf(buf, cap, "\t\t%s tcp sport %u tcp flags & rst == rst meta mark != 0x%08x drop\n",
		 m, ep->port, mark);
}

/* One family's rules in the prerouting chain: a segment to our port that
 * a kernel socket owns (the rendezvous connection) goes on as it is; any
 * other is marked for another host, which the kernel's TCP discards
 * before its socket lookup (tcp_v4_rcv, tcp_v6_rcv) while the raw socket,
 * which does not look at the packet type, still gets it. */
static void quiet_rules(char *buf, size_t cap, const struct ptcp_endpoint *ep)
{
	char m[80], mloc[80];

	/* One socket lookup per segment: the set {0, 1} matches any socket
	 * (two rules, transparent 0 and 1, looked up twice for each of our
	 * segments, which no socket owns: 3% of a kernel sender's CPU to us
	 * on a veth link, make bench's link-ke row). */
	addr_match(m, sizeof(m), ep, "daddr", false);
	addr_match(mloc, sizeof(mloc), ep, "daddr", true);
	/* The port first: the fib lookup is only for our segments. */
	snprintf(buf, cap,
		 "\t\t%s tcp dport %u socket transparent { 0, 1 } accept\n"
		 "\t\ttcp dport %u %s meta pkttype set other\n",
		 m, ep->port, ep->port, mloc);
}

/* The table's text: the output chain, and with quiet the prerouting
 * chain. */
static void table_text(char *cmd, size_t cap, const char *table, const char rules[2][160],
		       const char quiet[2][480], unsigned n, bool with_quiet)
{
	char pre[1152] = "";

	if (with_quiet)
		snprintf(pre, sizeof(pre),
			 "\tchain prerouting {\n"
			 "\t\ttype filter hook prerouting priority filter; policy accept;\n"
			 "%s%s"
			 "\t}\n",
			 quiet[0], n == 2 ? quiet[1] : "");
	snprintf(cmd, cap,
		 "table inet %s {\n"
		 "\tflags owner\n"
		 "\tchain output {\n"
		 "\t\ttype filter hook output priority filter; policy accept;\n"
		 "%s%s"
		 "\t}\n"
		 "%s"
		 "}\n",
		 table, rules[0], n == 2 ? rules[1] : "", pre);
}

int ptcp_nftguard_install(struct ptcp_nftguard *g, const struct ptcp_endpoint *locals, unsigned n,
                          uint32_t mark, char *err, size_t errlen)
{
	char cmd[2048], rules[2][160], quiet[2][480];
	unsigned i;
	int rv;

	memset(g, 0, sizeof(*g));
	if (errlen)
		err[0] = '\0';
	if (n == 0 || n > 2 || (n == 2 && locals[0].port != locals[1].port)) {
		snprintf(err, errlen, "one or two endpoints of one port, not %u", n);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (locals[i].family != PTCP_AF_INET && locals[i].family != PTCP_AF_INET6) {
			snprintf(err, errlen, "an endpoint of family %u: only IPv4 and IPv6",
				 locals[i].family);
			return -EAFNOSUPPORT;
		}
		rule(rules[i], sizeof(rules[i]), &locals[i], mark);
		quiet_rules(quiet[i], sizeof(quiet[i]), &locals[i]);
	}
	snprintf(g->table, sizeof(g->table), "p2ptcp_%ld_%u", (long)getpid(), locals[0].port);

	g->nft = new_ctx(err, errlen);
	if (!g->nft)
		return -ENOMEM;

	/* A kernel without the socket or fib expressions, or without
	 * setting the packet type, still gets the output chain: its TCP then
	 * answers each segment with a RST that the chain drops. */
	table_text(cmd, sizeof(cmd), g->table, rules, quiet, n, true);
	g->quiet = run(g, cmd, err, errlen) == 0;
	if (!g->quiet) {
		if (errlen)
			err[0] = '\0';
		table_text(cmd, sizeof(cmd), g->table, rules, quiet, n, false);
		if ((rv = run(g, cmd, err, errlen)) != 0)
			goto fail;
	}
	if (!ptcp_nftguard_present(g)) {
		snprintf(err, errlen, "table %s is missing right after it was created", g->table);
		rv = -ENOTSUP;
		goto fail;
	}
	return 0;
fail:
	nft_ctx_free(g->nft);
	g->nft = NULL;
	return rv;
}

bool ptcp_nftguard_present(struct ptcp_nftguard *g)
{
	char cmd[96], msg[256];

	if (!g->nft)
		return false;
	snprintf(cmd, sizeof(cmd), "list table inet %s", g->table);
	return run_captured(g, cmd, msg, sizeof(msg)) == 0;
}

/* The word after prefix at the start of line (after tabs), into
 * out[0..cap); false when line does not start so. */
static bool word_after(const char *line, size_t len, const char *prefix, char *out, size_t cap)
{
	size_t p = strlen(prefix), n;

	while (len && (*line == '\t' || *line == ' ')) {
		line++;
		len--;
	}
	if (len < p || strncmp(line, prefix, p) != 0)
		return false;
	line += p;
	len -= p;
	n = 0;
	while (n < len && line[n] != ' ' && line[n] != '{')
		n++;
	snprintf(out, cap, "%.*s", (int)n, line);
	return true;
}

/* Whether table is ours or our ingress table (ptcp_nftguard_ingress()). */
static bool ours_or_ring(const char *table, const char *ours)
{
	size_t n = strlen(ours);

	return strncmp(table, ours, n) == 0 && (table[n] == '\0' || strcmp(table + n, "_ring") == 0);
}

/* The first base chain in ruleset of a table other than ours: of family
 * ip or inet, or with netdev, of family netdev on the ingress hook. */
static int find_chain(const char *ruleset, const char *ours, bool netdev, char *what, size_t cap)
{
	char family[16] = "", table[64] = "", chain[64] = "", hook[32];
	const char *line = ruleset, *end, *h;
	size_t len;

	for (; line && *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		len = (size_t)(end - line);
		if (strncmp(line, "table ", 6) == 0) {
			if (sscanf(line, "table %15s %63s", family, table) != 2)
				family[0] = table[0] = '\0';
			chain[0] = '\0';
			continue;
		}
		if (word_after(line, len, "chain ", chain, sizeof(chain)))
			continue;
		h = strstr(line, " hook ");
		if (!h || h > end || !word_after(line, len, "type ", hook, sizeof(hook)))
			continue;
		if (netdev ? strcmp(family, "netdev") != 0
			   : strcmp(family, "ip") != 0 && strcmp(family, "inet") != 0)
			continue;
		if (strcmp(family, "inet") == 0 && ours_or_ring(table, ours))
			continue;
		word_after(h + 1, (size_t)(end - h - 1), "hook ", hook, sizeof(hook));
		if (netdev && strcmp(hook, "ingress") != 0)
			continue;
		snprintf(what, cap, "table %s %s, chain %s (hook %s)", family, table, chain, hook);
		return 1;
	}
	return 0;
}

int ptcp_nftguard_find_other(const char *ruleset, const char *ours, char *what, size_t cap)
{
	return find_chain(ruleset, ours, false, what, cap);
}

int ptcp_nftguard_find_other_ingress(const char *ruleset, const char *ours, char *what, size_t cap)
{
	return find_chain(ruleset, ours, true, what, cap);
}

static int others(struct ptcp_nftguard *g, bool netdev, char *what, size_t cap)
{
	char msg[256];

	if (!g->nft) {
		snprintf(what, cap, "no nftables context");
		return -ENOTSUP;
	}
	(void)nft_ctx_get_output_buffer(g->nft);   /* what earlier commands left */
	/* The chains alone (their hooks are all we look at): a dump of every
	 * rule and set of a ruleset that keeps changing, as a hundred nodes
	 * starting at once on one host change it, is retried until it holds
	 * still, which took minutes then. */
	if (run_captured(g, "list chains", msg, sizeof(msg)) != 0) {
		first_line(what, cap, msg);
		return -ENOTSUP;
	}
	return find_chain(nft_ctx_get_output_buffer(g->nft), g->table, netdev, what, cap);
}

int ptcp_nftguard_others(struct ptcp_nftguard *g, char *what, size_t cap)
{
	return others(g, false, what, cap);
}

int ptcp_nftguard_others_ingress(struct ptcp_nftguard *g, char *what, size_t cap)
{
	return others(g, true, what, cap);
}

/* --- the ingress table ------------------------------------------------------------- */

/* A device name as an nftables string; false for one that cannot be
 * quoted (a name may hold any byte but '/', ':' and white space). */
static bool quotable(const char *name)
{
	return *name && !strpbrk(name, "\"\\") && strlen(name) < 16;
}

int ptcp_nftguard_ingress_text(char *cmd, size_t cap, const char *table, const struct ptcp_endpoint *local,
			       uint32_t mark, const char *const *devs, unsigned ndev)
{
	char src[80], dst[80], list[20 * PTCP_NFTGUARD_INGRESS_DEVS] = "";
	size_t used = 0;
	unsigned i;
	int w;

	if (local->family != PTCP_AF_INET)
		return -EAFNOSUPPORT;
	if (ndev == 0 || ndev > PTCP_NFTGUARD_INGRESS_DEVS)
		return -EINVAL;
	for (i = 0; i < ndev; i++) {
		if (!quotable(devs[i]))
			return -EINVAL;
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s\"%s\"", i ? ", " : "",
					 devs[i]);
	}
	addr_match(src, sizeof(src), local, "saddr", false);
	addr_match(dst, sizeof(dst), local, "daddr", false);
	/* The ingress hook knows the frame's protocol, not yet nfproto. */
	if (strncmp(dst, "meta nfproto", 12) == 0)
		snprintf(dst, sizeof(dst), "meta protocol ip");
	/* The kernel's own connections on the port are learnt from what it
	 * sends (its SYN first; RSTs are not connections), and are never
	 * dropped. An IP total length over 80 bytes (a 60-byte IPv4 header
	 * and a 20-byte TCP one, or 20 and 60) is a segment with a payload,
	 * which the ring took (bpf.h); shorter ones go on to the raw
	 * socket's filter, which sorts them as before. No fragment: the
	 * ring takes none, the raw socket gets them reassembled. */
	w = snprintf(cmd, cap,
		     "table inet %s {\n"
		     "\tflags owner\n"
		     "\tset kernel {\n"
		     "\t\ttype ipv4_addr . inet_service\n"
		     "\t\tsize %u\n"
		     "\t\tflags dynamic\n"
		     "\t}\n"
		     "\tchain output {\n"
		     "\t\ttype filter hook output priority filter; policy accept;\n"
		     "\t\t%s tcp sport %u tcp flags & rst == 0 meta mark != 0x%08x "
		     "add @kernel { ip daddr . tcp dport }\n"
		     "\t}\n"
		     "\tchain ingress {\n"
		     "\t\ttype filter hook ingress devices = { %s } priority filter; policy accept;\n"
		     "\t\t%s tcp dport %u ip length > 80 ip frag-off & 0x3fff == 0 "
		     "ip saddr . tcp sport != @kernel counter drop\n"
		     "\t}\n"
		     "}\n",
		     table, PTCP_NFTGUARD_KERNEL_FLOWS, src, local->port, mark, list, dst, local->port);
	return w < 0 || (size_t)w >= cap ? -ENOBUFS : 0;
}

int ptcp_nftguard_ingress(struct ptcp_nftguard *g, const struct ptcp_endpoint *local, uint32_t mark,
			  const char *const *devs, unsigned ndev, char *err, size_t errlen)
{
	struct ptcp_nftguard ring = { 0 };
	char cmd[1536];
	int rv;

	if (errlen)
		err[0] = '\0';
	snprintf(g->ring_table, sizeof(g->ring_table), "%s_ring", g->table);
	rv = ptcp_nftguard_ingress_text(cmd, sizeof(cmd), g->ring_table, local, mark, devs, ndev);
	if (rv != 0) {
		snprintf(err, errlen, "%s", rv == -EINVAL ? "a device name nftables cannot take"
							 : strerror(-rv));
		return rv;
	}
	/* A context of its own: closing its socket deletes the table, which
	 * takes no capability (they are gone by the time the ring may have
	 * to close, node.c). */
	ring.nft = new_ctx(err, errlen);
	if (!ring.nft)
		return -ENOMEM;
	if ((rv = run(&ring, cmd, err, errlen)) != 0) {
		nft_ctx_free(ring.nft);
		return rv;
	}
	g->ring_nft = ring.nft;
	return 0;
}

void ptcp_nftguard_ingress_remove(struct ptcp_nftguard *g)
{
	if (g->ring_nft)
		nft_ctx_free(g->ring_nft);
	g->ring_nft = NULL;
}

void ptcp_nftguard_remove(struct ptcp_nftguard *g)
{
	ptcp_nftguard_ingress_remove(g);
	if (g->nft)
		nft_ctx_free(g->nft);
	g->nft = NULL;
}
