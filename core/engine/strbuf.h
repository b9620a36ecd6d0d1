/* A bounded string writer for the engine's formatters (which may not call
 * printf): output past cap - 1 bytes is dropped, so the result is always a
 * NUL-terminated prefix of the full text. */
#ifndef PTCP_STRBUF_H
#define PTCP_STRBUF_H

#include <stddef.h>
#include <stdint.h>

struct ptcp_strbuf {
	char *buf;
	size_t cap;   /* bytes, including the NUL */
	size_t pos;   /* bytes written so far */
};

void ptcp_strbuf_ch(struct ptcp_strbuf *o, char c);
void ptcp_strbuf_str(struct ptcp_strbuf *o, const char *s);
/* Decimal. */
void ptcp_strbuf_u64(struct ptcp_strbuf *o, uint64_t v);
/* Lower-case hex of a 16-bit value without leading zeros (RFC 5952 4.1). */
void ptcp_strbuf_hex16(struct ptcp_strbuf *o, unsigned v);

#endif
