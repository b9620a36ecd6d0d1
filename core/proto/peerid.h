/* Peer ids: the text form of a peer's Ed25519 public key.
 *
 * A peer id is the RFC 4648 base32 encoding (lower-case alphabet a-z 2-7,
 * no padding) of 34 bytes: the 32-byte public key followed by a CRC-16 of
 * the key, big-endian. 34 bytes are 272 bits, so the text is 55
 * characters; the last one carries 2 bits and 3 zero bits.
 *
 *   hy7fscnnvw7sbcofbbxbhhmmxvq3b6gptnwfpx46xmk2ykpkzifhwpi
 *
 * An optional label, for people only, may come first, separated by '-':
 * "laptop-hy7fscnn...". The label is not checked by anything (it is not
 * part of the key); it is 1 to PTCP_PEERID_LABEL_MAX characters of a-z,
 * A-Z, 0-9, '_', '.' and '-'. The whole id is a valid host name label
 * character set, so `ssh -o ProxyCommand='p2ptcp connect %h' <id>` works.
 *
 * The checksum is CRC-16/CCITT-FALSE (polynomial 0x1021, initial value
 * 0xffff, no reflection, no final xor; "123456789" gives 0x29b1). A CRC
 * with 16 check bits detects every error burst of up to 16 bits, so any
 * one mistyped character (a burst of at most 5 bits) and any two swapped
 * neighbours (at most 10 bits) are caught; a mistyped last character that
 * sets one of its three zero bits is caught by requiring them to be zero.
 * Decoding accepts upper case.
 *
 * Pure code: no libc beyond memcpy/memset, no I/O. */
#ifndef PTCP_PEERID_H
#define PTCP_PEERID_H

#include <stddef.h>
#include <stdint.h>

#define PTCP_PEERID_KEY_LEN 32     /* bytes of an Ed25519 public key */
#define PTCP_PEERID_CHARS 55       /* base32 characters of key + CRC */
#define PTCP_PEERID_LABEL_MAX 32   /* characters of the optional label */
/* Room for the longest id with its label and the terminating NUL. */
#define PTCP_PEERID_TEXT_MAX (PTCP_PEERID_LABEL_MAX + 1 + PTCP_PEERID_CHARS + 1)

enum ptcp_peerid_error {
	PTCP_PEERID_E_EMPTY = -1,     /* no text at all */
	PTCP_PEERID_E_LENGTH = -2,    /* the key part is not 55 characters */
	PTCP_PEERID_E_CHAR = -3,      /* a character outside a-z and 2-7 */
	PTCP_PEERID_E_PADDING = -4,   /* the last character is impossible */
	PTCP_PEERID_E_CHECKSUM = -5,  /* the CRC does not match the key */
	PTCP_PEERID_E_LABEL = -6,     /* the label is too long or has a bad character */
	PTCP_PEERID_E_NOBUF = -7,     /* encode: the output buffer is too small */
};

/* CRC-16/CCITT-FALSE of p[0..n) (see above). */
uint16_t ptcp_peerid_crc16(const uint8_t *p, size_t n);

/* Writes the peer id of key, with "label-" before it when label is not
 * NULL, into out and NUL-terminates it. cap is the size of out
 * (PTCP_PEERID_TEXT_MAX always suffices).
 *
 * Returns the length written without the NUL, PTCP_PEERID_E_LABEL for a
 * label that decoding would reject (empty, too long, bad character), or
 * PTCP_PEERID_E_NOBUF (out is then "" when cap > 0). */
int ptcp_peerid_encode(char *out, size_t cap, const uint8_t key[PTCP_PEERID_KEY_LEN],
                       const char *label);

/* Decodes text[0..len) (no NUL needed) into key. Upper and lower case
 * are both accepted; a label before the last '-' is checked for its
 * characters and length and then ignored.
 *
 * Returns 0, or a negative enum ptcp_peerid_error. For E_CHAR, E_LABEL
 * and E_PADDING, *bad_pos (when not NULL) is set to the offset in text of
 * the offending character; otherwise to len. key is left unchanged on
 * failure. */
int ptcp_peerid_decode(uint8_t key[PTCP_PEERID_KEY_LEN], const char *text, size_t len,
                       size_t *bad_pos);

/* A short English phrase for a value of enum ptcp_peerid_error ("bad
 * checksum"); "unknown error" for others. Never NULL. */
const char *ptcp_peerid_strerror(int err);

#endif
