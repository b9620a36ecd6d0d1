/* Wire codec for TCP segments: parse, emit, checksum, one-line format.
 *
 * Parsing validates every length before it reads the field behind it, so a
 * parsed struct never refers to bytes outside the caller's buffer. Emitting
 * plans the option layout once (plan_options()) and both
 * ptcp_segment_header_len() and ptcp_segment_emit() follow that plan, so
 * the two always agree. */
#include "segment.h"
#include "strbuf.h"

#include <limits.h>
#include <string.h>

#include "be.h"
#include "error.h"

#define OPT_SPACE (PTCP_TCP_HDR_MAX - PTCP_TCP_HDR_MIN) /* 40 bytes */

/* Option lengths on the wire (RFC 9293 section 3.2, RFC 7323 sections 2.2
 * and 3.2, RFC 2018 sections 2 and 3). */
#define OLEN_MSS 4
#define OLEN_WSCALE 3
#define OLEN_SACK_PERM 2
#define OLEN_TS 10
#define OLEN_SACK_BASE 2
#define OLEN_SACK_BLOCK 8

/* --- checksum (RFC 1071) -------------------------------------------------- */

/* One's-complement addition on 64-bit words: the carry out of bit 63 is
 * added back in (end-around carry). acc + w can be at most 2^65 - 2, so
 * after the wrap acc is at most 2^64 - 2 and adding the carry cannot
 * overflow again. */
static uint64_t add_carry(uint64_t acc, uint64_t w)
{
	acc += w;
	return acc + (acc < w);
}

/* Sums p[0..n) in native byte order, 8 bytes at a time. RFC 1071 section
 * 2 (B) and (C): the one's-complement sum is independent of byte order and
 * may be computed over wider words, since 2^16 == 1 modulo 2^16 - 1; the
 * byte order is fixed once at the end (fold_net()). The tail is zero-padded
 * to a whole word, which puts an odd last byte into the high half of a
 * 16-bit network word as section 3 (a) requires. */
static uint64_t sum_bytes(const uint8_t *p, size_t n, uint64_t acc)
{
	uint64_t w0, w1, w2, w3;

	while (n >= 32) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		memcpy(&w2, p + 16, 8);
		memcpy(&w3, p + 24, 8);
		acc = add_carry(acc, w0);
		acc = add_carry(acc, w1);
		acc = add_carry(acc, w2);
		acc = add_carry(acc, w3);
		p += 32;
		n -= 32;
	}
	while (n >= 8) {
		memcpy(&w0, p, 8);
		acc = add_carry(acc, w0);
		p += 8;
		n -= 8;
	}
	if (n) {
		w0 = 0;
		memcpy(&w0, p, n);
		acc = add_carry(acc, w0);
	}
	return acc;
}

/* Folds a native-order 64-bit sum to 16 bits and returns it as the value
 * of a 16-bit word in network order. */
static uint16_t fold_net(uint64_t s)
{
	uint16_t v;
	uint8_t b[2];

	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	v = (uint16_t)s;
	memcpy(b, &v, 2);
	return (uint16_t)((unsigned)b[0] << 8 | b[1]);
}

static bool ip_family(const struct ptcp_endpoint *ep)
{
	return ep->family == PTCP_AF_INET || ep->family == PTCP_AF_INET6;
}

/* Both given, both IPv4 or both IPv6: a pseudo-header can be built. */
static bool pair_ok(const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst)
{
	return ip_family(src) && src->family == dst->family;
}

/* The pseudo-header is added only when src and dst are both IPv4 or both
 * IPv6; otherwise (NULL, PTCP_AF_NONE or mixed) only data is summed. */
uint16_t ptcp_tcp_checksum(const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst,
                           const uint8_t *data, size_t len)
{
	uint8_t ph[40];
	size_t phlen = 0;
	uint64_t acc = 0;

	if (src && dst && pair_ok(src, dst)) {
		if (src->family == PTCP_AF_INET) {
			/* RFC 9293 section 3.1: src, dst, zero, PTCL, TCP length. */
			memcpy(ph, src->addr, 4);
			memcpy(ph + 4, dst->addr, 4);
			ph[8] = 0;
			ph[9] = 6;
			ptcp_put16(ph + 10, (uint16_t)len);
			phlen = 12;
		} else {
			/* RFC 8200 section 8.1: src, dst, 32-bit upper-layer
			 * length, three zero bytes, next header. */
			memcpy(ph, src->addr, 16);
			memcpy(ph + 16, dst->addr, 16);
			ptcp_put32(ph + 32, (uint32_t)len);
			ph[36] = ph[37] = ph[38] = 0;
			ph[39] = 6;
			phlen = 40;
		}
		acc = sum_bytes(ph, phlen, 0);
	}
	if (len)
		acc = sum_bytes(data, len, acc);
	return (uint16_t)~fold_net(acc);
}

/* --- parse ------------------------------------------------------------------ */

/* Parses the option bytes p[0..n). A repeated option overwrites the earlier
 * one (the last occurrence wins; for SACK the whole block list is replaced),
 * which is what a receiver that handles each option as it meets it does. */
static int parse_options(struct ptcp_options *o, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t kind = p[i];
		uint8_t olen;
		const uint8_t *v;

		if (kind == PTCP_OPT_EOL)
			break; /* the rest is padding (RFC 9293 section 3.2) */
		if (kind == PTCP_OPT_NOP) {
			i++;
			continue;
		}
		/* Every other kind has a length byte that counts kind and
		 * length themselves (RFC 9293 section 3.2, MUST-68); an
		 * illegal length is refused, never followed (MUST-7). */
		if (n - i < 2)
			return PTCP_ERR_BAD_OPTION;
		olen = p[i + 1];
		if (olen < 2 || olen > n - i)
			return PTCP_ERR_BAD_OPTION;
		v = p + i + 2;
		switch (kind) {
		case PTCP_OPT_MSS:
			if (olen != OLEN_MSS)
				return PTCP_ERR_BAD_OPTION;
			o->has_mss = true;
			o->mss = ptcp_get16(v);
			break;
		case PTCP_OPT_WSCALE:
			if (olen != OLEN_WSCALE)
				return PTCP_ERR_BAD_OPTION;
			o->has_wscale = true;
			o->wscale = v[0];
			break;
		case PTCP_OPT_SACK_PERM:
			if (olen != OLEN_SACK_PERM)
				return PTCP_ERR_BAD_OPTION;
			o->sack_permitted = true;
			break;
		case PTCP_OPT_TS:
			if (olen != OLEN_TS)
				return PTCP_ERR_BAD_OPTION;
			o->has_ts = true;
			o->ts_val = ptcp_get32(v);
			o->ts_ecr = ptcp_get32(v + 4);
			break;
		case PTCP_OPT_SACK: {
			unsigned nb = (olen - OLEN_SACK_BASE) / OLEN_SACK_BLOCK;

			/* RFC 2018 section 3: length 2 + 8 * n, n >= 1. */
			if ((olen - OLEN_SACK_BASE) % OLEN_SACK_BLOCK || nb < 1 ||
			    nb > PTCP_SACK_MAX)
				return PTCP_ERR_BAD_OPTION;
			o->sack_count = (uint8_t)nb;
			for (unsigned b = 0; b < nb; b++) {
				o->sack[b].left = ptcp_get32(v + 8 * b);
				o->sack[b].right = ptcp_get32(v + 8 * b + 4);
			}
			memset(o->sack + nb, 0, (PTCP_SACK_MAX - nb) * sizeof(o->sack[0]));
			break;
		}
		default:
			/* Unknown kinds are skipped by their length (RFC 9293
			 * section 3.2, MUST-6). */
			break;
		}
		i += olen;
	}
	return 0;
}

int ptcp_segment_parse(struct ptcp_segment *seg, const uint8_t *buf, size_t len,
                       const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst)
{
	size_t hlen;
	int rv;

	if (len < PTCP_TCP_HDR_MIN)
		return PTCP_ERR_TRUNCATED;
	hlen = (size_t)(buf[12] >> 4) * 4;
	if (hlen < PTCP_TCP_HDR_MIN || hlen > len)
		return PTCP_ERR_BAD_OFFSET;
	/* The checksum comes before the options: a segment damaged in transit
	 * should be reported as such, not as a malformed option. */
	if (src && dst) {
		if (!pair_ok(src, dst))
			return PTCP_ERR_INVAL;
		if (ptcp_tcp_checksum(src, dst, buf, len) != 0)
			return PTCP_ERR_CHECKSUM;
	}

	memset(seg, 0, sizeof(*seg));
	if ((rv = parse_options(&seg->opt, buf + PTCP_TCP_HDR_MIN, hlen - PTCP_TCP_HDR_MIN)) != 0)
		return rv;
	seg->sport = ptcp_get16(buf);
	seg->dport = ptcp_get16(buf + 2);
	seg->seq = ptcp_get32(buf + 4);
	seg->ack = ptcp_get32(buf + 8);
	/* The four reserved bits of byte 12 are ignored (RFC 9293 section 3.1). */
	seg->flags = buf[13];
	seg->wnd = ptcp_get16(buf + 14);
	seg->urg = ptcp_get16(buf + 18);
	seg->payload = buf + hlen;
	seg->len = len - hlen;
	return 0;
}

/* --- emit ------------------------------------------------------------------- */

/* How the options of a segment will be laid out.
 *
 * The aligned layout is what Linux sends and what middleboxes expect:
 *   SYN:  MSS, SACK-permitted + timestamps as "04 02 08 0a ..." (or NOP NOP
 *         before either one alone), NOP + window scale;
 *   else: NOP NOP timestamps, NOP NOP SACK blocks.
 * If the aligned layout does not fit in 40 bytes, the compact layout (no
 * NOPs, EOL padding to a multiple of 4) is used for the same options, so
 * any segment that parsed can be emitted again without losing an option.
 * Only when neither fits are SACK blocks dropped, the last first. */
struct opt_plan {
	size_t len;      /* option bytes including padding */
	unsigned nsack;  /* SACK blocks to write */
	bool compact;
};

static size_t aligned_len(const struct ptcp_options *o, unsigned nsack)
{
	size_t n = 0;

	if (o->has_mss)
		n += 4;
	if (o->sack_permitted && o->has_ts)
		n += 12;
	else
		n += (o->sack_permitted ? 4 : 0) + (o->has_ts ? 12 : 0);
	if (o->has_wscale)
		n += 4;
	if (nsack)
		n += 4 + OLEN_SACK_BLOCK * (size_t)nsack;
	return n;
}

static size_t compact_len(const struct ptcp_options *o, unsigned nsack)
{
	size_t n = 0;

	n += o->has_mss ? OLEN_MSS : 0;
	n += o->sack_permitted ? OLEN_SACK_PERM : 0;
	n += o->has_ts ? OLEN_TS : 0;
	n += o->has_wscale ? OLEN_WSCALE : 0;
	if (nsack)
		n += OLEN_SACK_BASE + OLEN_SACK_BLOCK * (size_t)nsack;
	return (n + 3) & ~(size_t)3;
}

static void plan_options(const struct ptcp_options *o, struct opt_plan *p)
{
	unsigned n = o->sack_count > PTCP_SACK_MAX ? PTCP_SACK_MAX : o->sack_count;

	for (;; n--) {
		p->nsack = n;
		p->compact = false;
		if ((p->len = aligned_len(o, n)) <= OPT_SPACE)
			return;
		p->compact = true;
		if ((p->len = compact_len(o, n)) <= OPT_SPACE)
			return;
		/* Without SACK blocks the aligned layout needs at most 20
		 * bytes, so this loop ends by n == 0. */
	}
}

size_t ptcp_segment_header_len(const struct ptcp_segment *seg)
{
	struct opt_plan p;

	plan_options(&seg->opt, &p);
	return PTCP_TCP_HDR_MIN + p.len;
}

static uint8_t *put_ts(uint8_t *p, const struct ptcp_options *o)
{
	*p++ = PTCP_OPT_TS;
	*p++ = OLEN_TS;
	ptcp_put32(p, o->ts_val);
	ptcp_put32(p + 4, o->ts_ecr);
	return p + 8;
}

static uint8_t *put_sack(uint8_t *p, const struct ptcp_options *o, unsigned n)
{
	*p++ = PTCP_OPT_SACK;
	*p++ = (uint8_t)(OLEN_SACK_BASE + OLEN_SACK_BLOCK * n);
	for (unsigned i = 0; i < n; i++) {
		ptcp_put32(p, o->sack[i].left);
		ptcp_put32(p + 4, o->sack[i].right);
		p += 8;
	}
	return p;
}

static uint8_t *put_mss(uint8_t *p, const struct ptcp_options *o)
{
	*p++ = PTCP_OPT_MSS;
	*p++ = OLEN_MSS;
	ptcp_put16(p, o->mss);
	return p + 2;
}

static uint8_t *put_wscale(uint8_t *p, const struct ptcp_options *o)
{
	*p++ = PTCP_OPT_WSCALE;
	*p++ = OLEN_WSCALE;
	*p++ = o->wscale;
	return p;
}

static void write_options(uint8_t *p, const struct ptcp_options *o, const struct opt_plan *pl)
{
	uint8_t *end = p + pl->len;

	if (pl->compact) {
		if (o->has_mss)
			p = put_mss(p, o);
		if (o->sack_permitted) {
			*p++ = PTCP_OPT_SACK_PERM;
			*p++ = OLEN_SACK_PERM;
		}
		if (o->has_ts)
			p = put_ts(p, o);
		if (o->has_wscale)
			p = put_wscale(p, o);
		if (pl->nsack)
			p = put_sack(p, o, pl->nsack);
		memset(p, PTCP_OPT_EOL, (size_t)(end - p));
		return;
	}

	if (o->has_mss)
		p = put_mss(p, o);
	if (o->sack_permitted) {
		if (!o->has_ts) {
			*p++ = PTCP_OPT_NOP;
			*p++ = PTCP_OPT_NOP;
		}
		*p++ = PTCP_OPT_SACK_PERM;
		*p++ = OLEN_SACK_PERM;
		if (o->has_ts)
			p = put_ts(p, o);
	} else if (o->has_ts) {
		*p++ = PTCP_OPT_NOP;
		*p++ = PTCP_OPT_NOP;
		p = put_ts(p, o);
	}
	if (o->has_wscale) {
		*p++ = PTCP_OPT_NOP;
		p = put_wscale(p, o);
	}
	if (pl->nsack) {
		*p++ = PTCP_OPT_NOP;
		*p++ = PTCP_OPT_NOP;
		p = put_sack(p, o, pl->nsack);
	}
}

int ptcp_segment_emit(const struct ptcp_segment *seg, uint8_t *buf, size_t cap,
                      const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst)
{
	struct opt_plan pl;
	size_t hlen, total;
	bool csum = src && dst;

	if (csum && !pair_ok(src, dst))
		return PTCP_ERR_INVAL;
	if (seg->len && !seg->payload)
		return PTCP_ERR_INVAL;
	plan_options(&seg->opt, &pl);
	hlen = PTCP_TCP_HDR_MIN + pl.len;
	/* The byte count is returned as an int. */
	if (seg->len > (size_t)INT_MAX - hlen)
		return PTCP_ERR_INVAL;
	total = hlen + seg->len;
	if (cap < total)
		return PTCP_ERR_NOBUF;

	ptcp_put16(buf, seg->sport);
	ptcp_put16(buf + 2, seg->dport);
	ptcp_put32(buf + 4, seg->seq);
	ptcp_put32(buf + 8, seg->ack);
	buf[12] = (uint8_t)((hlen / 4) << 4);
	buf[13] = seg->flags;
	ptcp_put16(buf + 14, seg->wnd);
	ptcp_put16(buf + 16, 0);
	ptcp_put16(buf + 18, seg->urg);
	write_options(buf + PTCP_TCP_HDR_MIN, &seg->opt, &pl);
	/* memmove: a caller may re-emit a parsed segment whose payload lies
	 * in buf itself. */
	if (seg->len && seg->payload != buf + hlen)
		memmove(buf + hlen, seg->payload, seg->len);
	if (csum)
		ptcp_put16(buf + 16, ptcp_tcp_checksum(src, dst, buf, total));
	return (int)total;
}

/* --- format ----------------------------------------------------------------- */

/* Flag letters and their order as tcpdump prints them. */
static const struct {
	uint8_t bit;
	char c;
} flag_chars[] = {
	{ PTCP_TH_FIN, 'F' }, { PTCP_TH_SYN, 'S' }, { PTCP_TH_RST, 'R' },
	{ PTCP_TH_PSH, 'P' }, { PTCP_TH_ACK, '.' }, { PTCP_TH_URG, 'U' },
	{ PTCP_TH_ECE, 'E' }, { PTCP_TH_CWR, 'W' },
};

static void out_sep(struct ptcp_strbuf *o, bool *first)
{
	ptcp_strbuf_str(o, *first ? " <" : ",");
	*first = false;
}

char *ptcp_segment_format(const struct ptcp_segment *seg, char *buf, size_t cap)
{
	struct ptcp_strbuf o = { buf, cap, 0 };
	const struct ptcp_options *opt = &seg->opt;
	bool first = true;
	unsigned nsack;

	if (cap == 0)
		return buf;
	ptcp_strbuf_ch(&o, '[');
	if (!seg->flags)
		ptcp_strbuf_str(&o, "none");
	for (size_t i = 0; i < sizeof(flag_chars) / sizeof(flag_chars[0]); i++)
		if (seg->flags & flag_chars[i].bit)
			ptcp_strbuf_ch(&o, flag_chars[i].c);
	ptcp_strbuf_str(&o, "] seq ");
	ptcp_strbuf_u64(&o, seg->seq);
	if (seg->flags & PTCP_TH_ACK) {
		ptcp_strbuf_str(&o, " ack ");
		ptcp_strbuf_u64(&o, seg->ack);
	}
	ptcp_strbuf_str(&o, " win ");
	ptcp_strbuf_u64(&o, seg->wnd);
	if (seg->flags & PTCP_TH_URG) {
		ptcp_strbuf_str(&o, " urg ");
		ptcp_strbuf_u64(&o, seg->urg);
	}
	ptcp_strbuf_str(&o, " len ");
	ptcp_strbuf_u64(&o, seg->len);

	if (opt->has_mss) {
		out_sep(&o, &first);
		ptcp_strbuf_str(&o, "mss ");
		ptcp_strbuf_u64(&o, opt->mss);
	}
	if (opt->sack_permitted) {
		out_sep(&o, &first);
		ptcp_strbuf_str(&o, "sackOK");
	}
	if (opt->has_ts) {
		out_sep(&o, &first);
		ptcp_strbuf_str(&o, "TS val ");
		ptcp_strbuf_u64(&o, opt->ts_val);
		ptcp_strbuf_str(&o, " ecr ");
		ptcp_strbuf_u64(&o, opt->ts_ecr);
	}
	if (opt->has_wscale) {
		out_sep(&o, &first);
		ptcp_strbuf_str(&o, "ws ");
		ptcp_strbuf_u64(&o, opt->wscale);
	}
	nsack = opt->sack_count > PTCP_SACK_MAX ? PTCP_SACK_MAX : opt->sack_count;
	if (nsack) {
		out_sep(&o, &first);
		ptcp_strbuf_str(&o, "sack ");
		ptcp_strbuf_u64(&o, nsack);
		ptcp_strbuf_ch(&o, ' ');
		for (unsigned i = 0; i < nsack; i++) {
			ptcp_strbuf_ch(&o, '{');
			ptcp_strbuf_u64(&o, opt->sack[i].left);
			ptcp_strbuf_ch(&o, ':');
			ptcp_strbuf_u64(&o, opt->sack[i].right);
			ptcp_strbuf_ch(&o, '}');
		}
	}
	if (!first)
		ptcp_strbuf_ch(&o, '>');
	buf[o.pos] = '\0';
	return buf;
}
