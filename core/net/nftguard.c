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

/* One family's rule: its address (or the family alone when the address
 * is all zero), our port, and RSTs without our mark dropped. */
static void rule(char *buf, size_t cap, const struct ptcp_endpoint *ep, uint32_t mark)
{
	char a[INET6_ADDRSTRLEN] = "";
	bool v6 = ep->family == PTCP_AF_INET6;
	uint8_t any = 0;

	for (int i = 0; i < (v6 ? 16 : 4); i++)
		any |= ep->addr[i];
	if (any)
		inet_ntop(v6 ? AF_INET6 : AF_INET, ep->addr, a, sizeof(a));
	snprintf(buf, cap, "\t\t%s%s tcp sport %u tcp flags & rst == rst meta mark != 0x%08x drop\n",
		 any ? (v6 ? "ip6 saddr " : "ip saddr ") : (v6 ? "meta nfproto ipv6" : "meta nfproto ipv4"),
		 a, ep->port, mark);
}

int ptcp_nftguard_install(struct ptcp_nftguard *g, const struct ptcp_endpoint *locals, unsigned n,
                          uint32_t mark, char *err, size_t errlen)
{
	char cmd[768], rules[2][160];
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
	}
	snprintf(g->table, sizeof(g->table), "p2ptcp_%ld_%u", (long)getpid(), locals[0].port);
	snprintf(cmd, sizeof(cmd),
		 "table inet %s {\n"
		 "\tflags owner\n"
		 "\tchain output {\n"
		 "\t\ttype filter hook output priority filter; policy accept;\n"
		 "%s%s"
		 "\t}\n"
		 "}\n",
		 g->table, rules[0], n == 2 ? rules[1] : "");

	g->nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!g->nft) {
		snprintf(err, errlen, "cannot create an nftables context");
		return -ENOMEM;
	}
	/* Keep libnftables from printing on our stdout/stderr: stdout
	 * carries the peer's bytes. */
	nft_ctx_buffer_output(g->nft);
	nft_ctx_buffer_error(g->nft);

	if ((rv = run(g, cmd, err, errlen)) != 0)
		goto fail;
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

int ptcp_nftguard_find_other(const char *ruleset, const char *ours, char *what, size_t cap)
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
		if (strcmp(family, "ip") != 0 && strcmp(family, "inet") != 0)
			continue;
		if (strcmp(family, "inet") == 0 && strcmp(table, ours) == 0)
			continue;
		word_after(h + 1, (size_t)(end - h - 1), "hook ", hook, sizeof(hook));
		snprintf(what, cap, "table %s %s, chain %s (hook %s)", family, table, chain, hook);
		return 1;
	}
	return 0;
}

int ptcp_nftguard_others(struct ptcp_nftguard *g, char *what, size_t cap)
{
	char msg[256];

	if (!g->nft) {
		snprintf(what, cap, "no nftables context");
		return -ENOTSUP;
	}
	(void)nft_ctx_get_output_buffer(g->nft);   /* what earlier commands left */
	if (run_captured(g, "list ruleset", msg, sizeof(msg)) != 0) {
		first_line(what, cap, msg);
		return -ENOTSUP;
	}
	return ptcp_nftguard_find_other(nft_ctx_get_output_buffer(g->nft), g->table, what, cap);
}

void ptcp_nftguard_remove(struct ptcp_nftguard *g)
{
	if (g->nft)
		nft_ctx_free(g->nft);
	g->nft = NULL;
}
