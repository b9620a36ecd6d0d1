/* known_servers: see known.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"
#include "known.h"
#include "rdvclient.h"
#include "resolve.h"

int ptcp_known_name(const char *server, char *buf, size_t cap, char *err, size_t errlen)
{
	struct ptcp_endpoint ep;
	char host[256], why[300];
	uint16_t port;
	int n;

	if (ptcp_rdv_parse_hostport(server, PTCP_RENDEZVOUS_PORT, &ep, why, sizeof(why)) == 0) {
		char a[64];

		n = snprintf(buf, cap, "%s", ptcp_endpoint_format(&ep, a, sizeof(a)));
	} else {
		if (ptcp_resolve_split(server, host, sizeof(host), &port, err, errlen) != 0)
			return -1;
		for (char *p = host; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		n = snprintf(buf, cap, "%s:%u", host, port ? port : PTCP_RENDEZVOUS_PORT);
	}
	if (n < 0 || (size_t)n >= cap) {
		snprintf(err, errlen, "invalid rendezvous address: '%s'", server);
		return -1;
	}
	return 0;
}

int ptcp_known_parse_line(const char *line, char *name, size_t cap, uint8_t key[PTCP_ID_LEN])
{
	const char *p = line + strspn(line, " \t"), *id;
	size_t nlen, idlen;
	char idbuf[PTCP_ID_TEXT_MAX];

	if (*p == '#' || *p == '\0' || *p == '\n' || *p == '\r')
		return 0;
	nlen = strcspn(p, " \t\r\n");
	id = p + nlen + strspn(p + nlen, " \t");
	idlen = strcspn(id, " \t\r\n");
	/* Two fields, nothing after them. */
	if (idlen == 0 || nlen >= cap || idlen >= sizeof(idbuf) ||
	    id[idlen + strspn(id + idlen, " \t\r\n")] != '\0')
		return -1;
	memcpy(idbuf, id, idlen);
	idbuf[idlen] = '\0';
	if (ptcp_id_parse(key, idbuf, NULL, 0) != 0)
		return -1;
	memcpy(name, p, nlen);
	name[nlen] = '\0';
	return 1;
}

/* The line as text for an error: without its newline. */
static const char *quoted(char *line)
{
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

int ptcp_known_lookup(struct ptcp_known *k, const char *dir, const char *server, char *err,
                      size_t errlen)
{
	char d[PTCP_IDENTITY_PATH_MAX], line[PTCP_KNOWN_LINE_MAX], name[PTCP_KNOWN_NAME_MAX];
	uint8_t key[PTCP_ID_LEN];
	unsigned lineno = 0;
	struct stat st;
	int rv = 0, kind;
	FILE *f;

	memset(k, 0, sizeof(*k));
	if (ptcp_known_name(server, k->name, sizeof(k->name), err, errlen) != 0)
		return -1;
	if (dir) {
		snprintf(d, sizeof(d), "%s", dir);
	} else if (ptcp_identity_default_dir(d, sizeof(d)) != 0) {
		snprintf(err, errlen, "no directory for %s: set HOME or XDG_CONFIG_HOME, or use --dir "
			 "(or --no-known-servers)", PTCP_KNOWN_FILE);
		return -1;
	}
	if ((size_t)snprintf(k->path, sizeof(k->path), "%s/%s", d, PTCP_KNOWN_FILE) >= sizeof(k->path)) {
		snprintf(err, errlen, "directory name too long: '%s'", d);
		return -1;
	}
	f = fopen(k->path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", k->path, strerror(errno));
		return -1;
	}
	/* A key that others may write is no pin of ours. */
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "%s: writable by others (mode %03o): its keys cannot be "
			 "trusted; chmod 600 it", k->path, (unsigned)(st.st_mode & 0777));
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long (at most %d bytes)", k->path, lineno,
				 PTCP_KNOWN_LINE_MAX - 2);
			rv = -1;
			break;
		}
		kind = ptcp_known_parse_line(line, name, sizeof(name), key);
		if (kind < 0) {
			snprintf(err, errlen, "%s:%u: malformed line '%.200s' (want 'HOST:PORT SERVER-ID'; "
				 "fix or delete it)", k->path, lineno, quoted(line));
			rv = -1;
			break;
		}
		if (kind == 1 && k->line == 0 && strcasecmp(name, k->name) == 0) {
			k->line = lineno;
			memcpy(k->key, key, PTCP_ID_LEN);
		}
	}
	if (rv == 0 && ferror(f)) {
		snprintf(err, errlen, "cannot read %s: %s", k->path, strerror(errno));
		rv = -1;
	}
	fclose(f);
	if (rv != 0)
		k->line = 0;
	return rv;
}

/* Writes len bytes; false on a short write. */
static bool put(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

int ptcp_known_record(struct ptcp_known *k, const uint8_t key[PTCP_ID_LEN], char *err,
                      size_t errlen)
{
	static const char head[] =
		"# p2ptcp: the keys of the rendezvous servers it met, one a line: HOST:PORT SERVER-ID\n"
		"# (recorded on first contact and pinned on the next; see p2ptcp(1), FILES)\n";
	char tmp[sizeof(k->path) + 16], line[PTCP_KNOWN_LINE_MAX], name[PTCP_KNOWN_NAME_MAX];
	char rec[PTCP_KNOWN_NAME_MAX + PTCP_ID_TEXT_MAX + 2], id[PTCP_ID_TEXT_MAX];
	const char *slash = strrchr(k->path, '/');
	unsigned lineno = 0, at = 0;
	uint8_t other[PTCP_ID_LEN];
	bool ok = true;
	int fd, e = 0;
	FILE *f;

	if (ptcp_id_format(key, id, sizeof(id)) < 0)
		return -1;
	snprintf(rec, sizeof(rec), "%s %s\n", k->name, id);
	snprintf(tmp, sizeof(tmp), "%.*s/.%s.XXXXXX", slash ? (int)(slash - k->path) : 1,
		 slash ? k->path : ".", PTCP_KNOWN_FILE);
	fd = mkostemp(tmp, O_CLOEXEC);   /* mode 0600 */
	if (fd < 0) {
		snprintf(err, errlen, "cannot record the rendezvous server's key in %s: %s", k->path,
			 strerror(errno));
		return -1;
	}
	/* What is there now (another p2ptcp may have added a line since
	 * the lookup), our record in place of the name's first line. */
	f = fopen(k->path, "re");
	if (!f)
		ok = put(fd, head, sizeof(head) - 1);
	lineno = f ? 0 : 2;
	while (ok && f && fgets(line, sizeof(line), f)) {
		if (ptcp_known_parse_line(line, name, sizeof(name), other) == 1 &&
		    strcasecmp(name, k->name) == 0) {
			if (at)
				continue;   /* a second record of the name: dropped */
			at = ++lineno;
			ok = put(fd, rec, strlen(rec));
			continue;
		}
		lineno++;
		ok = put(fd, line, strlen(line));
		if (ok && !strchr(line, '\n'))
			ok = put(fd, "\n", 1);
	}
	if (f) {
		if (ferror(f))
			ok = false;
		fclose(f);
	}
	if (ok && !at) {
		at = ++lineno;
		ok = put(fd, rec, strlen(rec));
	}
	if (!ok || fsync(fd) != 0)
		e = errno ? errno : EIO;
	if (close(fd) != 0 && !e)
		e = errno;
	if (!e && rename(tmp, k->path) != 0)
		e = errno;
	if (e) {
		unlink(tmp);
		snprintf(err, errlen, "cannot record the rendezvous server's key in %s: %s", k->path,
			 strerror(e));
		return -1;
	}
	k->line = at;
	memcpy(k->key, key, PTCP_ID_LEN);
	return 0;
}
