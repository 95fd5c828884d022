/* curve: ZeroMQ CURVE for genred's publisher, so that subscribers on other
 * machines are authenticated and what they receive is encrypted.
 *
 * Keys are Z85 text files: one 40-character key, lines starting with '#' are
 * comments; the format zmq_curve_keypair() produces and `genred --gen-keys
 * DIR` writes as DIR/curve.key (secret, mode 0600) and DIR/curve.pub
 * (public, 0644). A secret key file that group or others can read, or that
 * someone other than genred's user or root owns, is refused, as ssh refuses
 * a loose identity file. The optional allow-list file holds one client public
 * key per line; with it, a ZAP handler (ZeroMQ RFC 27) admits only those
 * clients. Without it, any client that knows the server public key may
 * subscribe. */
#ifndef GENRED_CURVE_H
#define GENRED_CURVE_H

#include <stddef.h>
#include <stdint.h>

#define CURVE_KEY_Z85_LEN 40

typedef struct curve curve_t;

/* Loads the server secret key and the allow-list (NULL or "" for none) and,
 * with an allow-list, starts the ZAP handler thread on zmq_ctx (one per
 * context). NULL with a one-line reason naming the file, e.g.
 * "curve_secret_key '/etc/genred/curve.key': readable by group or others
 * (mode 0640); chmod 600 it". */
curve_t *curve_create(void *zmq_ctx, const char *secret_key_path, const char *allow_path, char *err,
                      size_t err_len);
/* A client identity, for programs that subscribe to genred (genre-web,
 * genre-sub): the keypair of the secret key file at secret_key_path, read
 * with the checks genred applies to its own key (`what`, e.g.
 * "--client-key", names it in errors), or with a NULL path a fresh keypair
 * for this run. Use with curve_apply_client. NULL with a one-line reason. */
curve_t *curve_create_client(const char *what, const char *secret_key_path, char *err,
                             size_t err_len);
/* Reads and checks the same files without keeping or serving anything
 * (--check-config and reloads). 0, or -1 with the reason curve_create would
 * give. */
int curve_check_files(const char *secret_key_path, const char *allow_path, char *err,
                      size_t err_len);
/* Makes socket a CURVE server with the loaded key; call before bind. */
int curve_apply(const curve_t *c, void *socket, char *err, size_t err_len);
/* Makes socket a CURVE client of the server whose public key (Z85) is
 * server_public, authenticating with this keypair (genre-hub connecting to
 * genred hosts); call before connect. */
int curve_apply_client(const curve_t *c, void *socket, const char *server_public, char *err,
                       size_t err_len);
/* Reads a public key file (one Z85 key; '#' comments; not writable by group
 * or others) into out. 0, or -1 with "what 'PATH': reason". */
int curve_read_public(const char *what, const char *path, char out[CURVE_KEY_Z85_LEN + 1],
                      char *err, size_t err_len);
/* The server public key (Z85), to log and to hand to clients. */
const char *curve_public_key(const curve_t *c);
/* Client keys in the allow-list; 0 when there is none. */
unsigned curve_allowed(const curve_t *c);
/* Handshakes the ZAP handler refused so far (from any thread). */
uint64_t curve_denied(const curve_t *c);
/* Stops the ZAP handler; call before the context is terminated. */
void curve_destroy(curve_t *c);

/* Writes a new keypair as DIR/curve.key (0600) and DIR/curve.pub (0644),
 * creating DIR (0755) if it does not exist; never overwrites a key. 0, or
 * -1 with err set. */
int curve_generate_keys(const char *dir, char *err, size_t err_len);

/* Whether a ZeroMQ endpoint stays on this machine: ipc://, inproc://, or tcp://
 * on a loopback address (127.0.0.0/8, ::1, localhost). Everything else,
 * wildcards and interface names included, counts as remote. */
int curve_endpoint_is_local(const char *endpoint);

#endif
