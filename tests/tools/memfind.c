/* memfind: counts where a byte string lies in another process's memory,
 * for the tests that check that a secret was wiped.
 *
 *   memfind PID HEX      prints "N" (the number of places HEX's bytes were
 *                        found in PID's readable mappings), exit 0; 1 when
 *                        PID's memory cannot be read at all, 2 on bad usage
 *
 * Reads /proc/PID/maps and /proc/PID/mem (root, or ptrace rights); a
 * mapping that cannot be read ([vvar], guard pages) is skipped, and so is
 * one larger than 1 GiB (a sanitizer's shadow memory: 14 TiB of reserved
 * zeros here, which would take hours to read; said on stderr). The
 * pattern may straddle reads: each read keeps the last len-1 bytes of the
 * previous one. Plain libc only. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1 << 20)
#define PAT_MAX 256
#define MAPPING_MAX (UINTMAX_C(1) << 30)

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t parse_hex(const char *s, uint8_t *out)
{
	size_t n = strlen(s), i;

	if (n == 0 || n % 2 || n / 2 > PAT_MAX)
		return 0;
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return 0;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return n / 2;
}

static unsigned long count_in(const uint8_t *buf, size_t n, const uint8_t *pat, size_t len)
{
	unsigned long found = 0;
	size_t i;

	for (i = 0; i + len <= n; i++)
		if (buf[i] == pat[0] && memcmp(buf + i, pat, len) == 0)
			found++;
	return found;
}

int main(int argc, char **argv)
{
	static uint8_t buf[PAT_MAX + CHUNK];
	uint8_t pat[PAT_MAX];
	char path[64], line[512], perms[8];
	unsigned long found = 0, regions = 0;
	uintmax_t lo, hi;
	size_t len;
	FILE *maps;
	int mem;

	if (argc != 3 || (len = parse_hex(argv[2], pat)) == 0) {
		fprintf(stderr, "usage: memfind PID HEX (at most %d bytes)\n", PAT_MAX);
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	maps = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	if (!maps || mem < 0) {
		fprintf(stderr, "memfind: cannot read process %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), maps)) {
		size_t keep = 0;
		uintmax_t at;

		if (sscanf(line, "%jx-%jx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r')
			continue;
		if (hi - lo > MAPPING_MAX) {
			fprintf(stderr, "memfind: skipped the mapping %jx-%jx (%ju MiB)\n", lo, hi,
				(hi - lo) >> 20);
			continue;
		}
		for (at = lo; at < hi;) {
			size_t want = hi - at < CHUNK ? (size_t)(hi - at) : CHUNK, total;
			ssize_t r = pread(mem, buf + keep, want, (off_t)at);

			if (r <= 0)
				break;
			total = keep + (size_t)r;
			found += count_in(buf, total, pat, len);
			at += (uintmax_t)r;
			/* A match may begin in the last len - 1 bytes (not counted
			 * yet) and end in the next read. */
			keep = total < len - 1 ? total : len - 1;
			memmove(buf, buf + total - keep, keep);
		}
		regions++;
	}
	fclose(maps);
	close(mem);
	if (regions == 0) {
		fprintf(stderr, "memfind: no readable mapping in process %s\n", argv[1]);
		return 1;
	}
	printf("%lu\n", found);
	return 0;
}
