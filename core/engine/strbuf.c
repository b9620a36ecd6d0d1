#include "strbuf.h"

void ptcp_strbuf_ch(struct ptcp_strbuf *o, char c)
{
	if (o->pos + 1 < o->cap)
		o->buf[o->pos++] = c;
}

void ptcp_strbuf_str(struct ptcp_strbuf *o, const char *s)
{
	while (*s)
		ptcp_strbuf_ch(o, *s++);
}

void ptcp_strbuf_u64(struct ptcp_strbuf *o, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		ptcp_strbuf_ch(o, tmp[--n]);
}

void ptcp_strbuf_hex16(struct ptcp_strbuf *o, unsigned v)
{
	static const char digits[] = "0123456789abcdef";
	int shift = 12;

	while (shift > 0 && !((v >> shift) & 0xf))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		ptcp_strbuf_ch(o, digits[(v >> shift) & 0xf]);
}
