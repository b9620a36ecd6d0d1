/* Peer identities: an Ed25519 key pair (libsodium) kept in a file.
 *
 * The key lives in DIR/private.key, DIR being $XDG_CONFIG_HOME/p2ptcp, or
 * ~/.config/p2ptcp when XDG_CONFIG_HOME is unset or not absolute (XDG
 * Base Directory specification). A directory made for it gets mode 0700
 * (one that exists keeps its own), the file 0600, whatever the umask. The file is text:
 *
 *   # p2ptcp identity: an Ed25519 private key. Keep it secret.
 *   # peer id: hy7fscnnvw7sbcofbbxbhhmmxvq3b6gptnwfpx46xmk2ykpkzifhwpi
 *   seed 5f0c...(64 hex digits)
 *
 * Only the "seed" line counts (the 32-byte Ed25519 seed, RFC 8032 section
 * 5.1.5); lines starting with '#' and blank lines are ignored. Loading
 * refuses a file that group or others may access, as ssh does.
 *
 * Functions return 0 or a negative errno value; those that take an err
 * buffer also put one line there for the user, quoting the path. */
#ifndef PTCP_IDENTITY_H
#define PTCP_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PTCP_IDENTITY_PK_LEN 32
#define PTCP_IDENTITY_SK_LEN 64   /* libsodium's form: seed, then public key */
#define PTCP_IDENTITY_SEED_LEN 32
#define PTCP_IDENTITY_SIG_LEN 64
#define PTCP_IDENTITY_FILE "private.key"
#define PTCP_IDENTITY_PATH_MAX 4096

struct ptcp_identity {
	uint8_t pk[PTCP_IDENTITY_PK_LEN];
	uint8_t sk[PTCP_IDENTITY_SK_LEN];
};

/* Writes the default identity directory into buf (cap bytes). Returns 0,
 * -ENOENT when neither an absolute XDG_CONFIG_HOME nor HOME is set, or
 * -ENAMETOOLONG. */
int ptcp_identity_default_dir(char *buf, size_t cap);

/* Makes a new key pair from libsodium's random source. Returns 0 or -EIO
 * when libsodium cannot start. */
int ptcp_identity_generate(struct ptcp_identity *id);

/* Derives the key pair of a 32-byte seed (deterministic: for tests).
 * Returns 0 or -EIO. */
int ptcp_identity_from_seed(struct ptcp_identity *id, const uint8_t seed[PTCP_IDENTITY_SEED_LEN]);

/* Writes id to dir/private.key (mode 0600), creating dir (and missing
 * parents) with mode 0700; a directory that exists keeps its mode. The file is written
 * to a temporary name, synced, and then linked into place, so a crash
 * leaves either the old key or the new one.
 *
 * Returns 0; -EEXIST when the file exists and force is false (the file
 * is not touched); -ENAMETOOLONG; -ENOTDIR when dir exists and is not a
 * directory; or the errno of the failed system call. */
int ptcp_identity_save(const struct ptcp_identity *id, const char *dir, bool force,
                       char *err, size_t errlen);

/* Reads dir/private.key into id. Returns 0; -ENOENT when there is no key
 * (err says to run `p2ptcp keygen`); -EPERM when group or others may
 * access the file (err says how to fix it); -EINVAL when it is not a
 * regular file or not in the format above ("corrupt"); -ENAMETOOLONG; or
 * the errno of the failed system call. id is wiped on failure. */
int ptcp_identity_load(struct ptcp_identity *id, const char *dir, char *err, size_t errlen);

/* Overwrites the secret key in memory. */
void ptcp_identity_wipe(struct ptcp_identity *id);

/* Signs msg[0..len) (Ed25519, RFC 8032). Returns 0 or -EIO. */
int ptcp_identity_sign(const struct ptcp_identity *id, const uint8_t *msg, size_t len,
                       uint8_t sig[PTCP_IDENTITY_SIG_LEN]);

/* True when sig is pk's signature of msg[0..len). False for a bad
 * signature and for a pk that is not a valid Ed25519 point. */
bool ptcp_identity_verify(const uint8_t pk[PTCP_IDENTITY_PK_LEN], const uint8_t *msg, size_t len,
                          const uint8_t sig[PTCP_IDENTITY_SIG_LEN]);

/* Writes the peer id of id (with "label-" in front when label is not
 * NULL) into out; PTCP_PEERID_TEXT_MAX bytes suffice. Returns 0 or
 * -EINVAL (bad label, or out too small) with a line in err. */
int ptcp_identity_peerid(const struct ptcp_identity *id, const char *label, char *out, size_t cap,
                         char *err, size_t errlen);

/* Decodes a peer id typed by a user into key. Returns 0 or -EINVAL with
 * a line that quotes the text and says what is wrong, e.g.
 * "invalid peer id 'hy7f0...': invalid character '0' at position 5
 * (peer ids use only a-z and 2-7; did you mean 'o'?)". */
int ptcp_identity_parse_peer(uint8_t key[PTCP_IDENTITY_PK_LEN], const char *text,
                             char *err, size_t errlen);

#endif
