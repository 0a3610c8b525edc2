/* pki.c: the lab's TLS material and bearer token, made at first start
 * with GnuTLS's x509 API and reused afterwards: a self-signed CA (what a
 * kubeconfig's certificate-authority-data holds) and a server
 * certificate for 127.0.0.1 and localhost signed by it. Keys and the
 * token are written 0600, atomically (temp file, fsync, rename), so a
 * crash never leaves half a key. */
#include "api_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VALID_SECONDS (10L * 365 * 24 * 3600)

static int set_errf(char **err, int ret, const char *fmt, const char *a, const char *b)
{
	if (err && asprintf(err, fmt, a, b) < 0)
		*err = NULL;
	return ret;
}

static char *path_in(const char *dir, const char *file)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return NULL;
	return p;
}

static int write_file(const char *dir, const char *file, const void *data, size_t len,
		      mode_t mode, char **err)
{
	char *path = path_in(dir, file), *tmp = NULL;
	int ret = 0, fd = -1;
	if (!path || asprintf(&tmp, "%s.tmp", path) < 0) {
		free(path);
		return -ENOMEM;
	}
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) < 0 ||
	    rename(tmp, path) < 0)
		ret = set_errf(err, -errno, "writing %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlink(tmp);
	free(path);
	free(tmp);
	return ret;
}

static int read_file(const char *dir, const char *file, char **out, char **err)
{
	char *path = path_in(dir, file);
	if (!path)
		return -ENOMEM;
	FILE *f = fopen(path, "re");
	int ret = 0;
	if (!f) {
		ret = set_errf(err, -errno, "reading %s: %s", path, strerror(errno));
		free(path);
		return ret;
	}
	char *buf = NULL;
	size_t cap = 0, len = 0, n;
	char chunk[4096];
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		char *nb = len + n + 1 > cap ? realloc(buf, cap = (len + n + 1) * 2) : buf;
		if (!nb) {
			ret = -ENOMEM;
			break;
		}
		buf = nb;
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	free(path);
	if (ret == 0 && !buf)
		buf = calloc(1, 1);
	if (ret < 0 || !buf) {
		free(buf);
		return ret < 0 ? ret : -ENOMEM;
	}
	buf[len] = 0;
	*out = buf;
	return 0;
}

static bool file_exists(const char *dir, const char *file)
{
	char *p = path_in(dir, file);
	bool ok = p && access(p, R_OK) == 0;
	free(p);
	return ok;
}

/* ---- certificates ---------------------------------------------------------------- */

static int new_key(gnutls_x509_privkey_t *key)
{
	if (gnutls_x509_privkey_init(key) < 0)
		return -ENOMEM;
	if (gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0)
		return -EIO;
	return 0;
}

/* What both certificates share: version, serial, validity, subject. */
static int cert_base(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *cn)
{
	unsigned char serial[16];
	if (getrandom(serial, sizeof(serial), 0) != (ssize_t)sizeof(serial))
		return -EIO;
	serial[0] &= 0x7f;  /* positive */
	time_t now = time(NULL);
	if (gnutls_x509_crt_set_version(crt, 3) < 0 ||
	    gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)) < 0 ||
	    gnutls_x509_crt_set_activation_time(crt, now - 3600) < 0 ||
	    gnutls_x509_crt_set_expiration_time(crt, now + VALID_SECONDS) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
					  (unsigned)strlen(cn)) < 0 ||
	    gnutls_x509_crt_set_key(crt, key) < 0)
		return -EIO;
	unsigned char id[64];
	size_t idlen = sizeof(id);
	if (gnutls_x509_crt_get_key_id(crt, 0, id, &idlen) < 0 ||
	    gnutls_x509_crt_set_subject_key_id(crt, id, idlen) < 0)
		return -EIO;
	return 0;
}

static int make_ca(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	int ret = cert_base(crt, key, "netpol-lab-ca");
	if (ret < 0)
		return ret;
	if (gnutls_x509_crt_set_basic_constraints(crt, 1, -1) < 0 ||
	    gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN |
						  GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
	    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0)
		return -EIO;
	return 0;
}

static int make_server(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
		       gnutls_x509_crt_t ca, gnutls_x509_privkey_t ca_key)
{
	static const unsigned char loopback[4] = {127, 0, 0, 1};
	unsigned char id[64];
	size_t idlen = sizeof(id);
	int ret = cert_base(crt, key, "netpol-apiserver");
	if (ret < 0)
		return ret;
	if (gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
	    gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
						  GNUTLS_KEY_KEY_ENCIPHERMENT) < 0 ||
	    gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, loopback, 4,
						 GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
						 GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_get_subject_key_id(ca, id, &idlen, NULL) < 0 ||
	    gnutls_x509_crt_set_authority_key_id(crt, id, idlen) < 0 ||
	    gnutls_x509_crt_sign2(crt, ca, ca_key, GNUTLS_DIG_SHA256, 0) < 0)
		return -EIO;
	return 0;
}

static int save_pair(const char *dir, const char *cert_file, const char *key_file,
		     gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, char **err)
{
	gnutls_datum_t c = {0}, k = {0};
	int ret = -EIO;
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &c) >= 0 &&
	    gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &k) >= 0) {
		ret = write_file(dir, key_file, k.data, k.size, 0600, err);
		if (ret == 0)
			ret = write_file(dir, cert_file, c.data, c.size, 0644, err);
	}
	gnutls_free(c.data);
	gnutls_free(k.data);
	return ret;
}

static int make_pki(const char *dir, char **err)
{
	gnutls_x509_privkey_t ca_key = NULL, key = NULL;
	gnutls_x509_crt_t ca = NULL, crt = NULL;
	int ret = new_key(&ca_key);
	if (ret == 0)
		ret = new_key(&key);
	if (ret == 0 && (gnutls_x509_crt_init(&ca) < 0 || gnutls_x509_crt_init(&crt) < 0))
		ret = -ENOMEM;
	if (ret == 0)
		ret = make_ca(ca, ca_key);
	if (ret == 0)
		ret = make_server(crt, key, ca, ca_key);
	if (ret == 0)
		ret = save_pair(dir, API_CA_CERT_FILE, API_CA_KEY_FILE, ca, ca_key, err);
	if (ret == 0)
		ret = save_pair(dir, API_SERVER_CERT_FILE, API_SERVER_KEY_FILE, crt, key, err);
	if (ret < 0 && err && !*err)
		set_errf(err, ret, "%s%s", "generating the lab's certificates failed", "");
	if (ca)
		gnutls_x509_crt_deinit(ca);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (ca_key)
		gnutls_x509_privkey_deinit(ca_key);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return ret;
}

static int make_token(const char *dir, char **err)
{
	unsigned char b[32];
	char hex[65];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return set_errf(err, -EIO, "%s%s", "no randomness for the token", "");
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	return write_file(dir, API_TOKEN_FILE, hex, 64, 0600, err);
}

int api_pki_ensure(const char *state_dir, char **err)
{
	if (err)
		*err = NULL;
	char *pki = path_in(state_dir, "pki");
	if (!pki)
		return -ENOMEM;
	int ret = mkdir(pki, 0700) < 0 && errno != EEXIST
		? set_errf(err, -errno, "creating %s: %s", pki, strerror(errno)) : 0;
	free(pki);
	bool have = file_exists(state_dir, API_CA_CERT_FILE) &&
		    file_exists(state_dir, API_CA_KEY_FILE) &&
		    file_exists(state_dir, API_SERVER_CERT_FILE) &&
		    file_exists(state_dir, API_SERVER_KEY_FILE);
	if (ret == 0 && !have)
		ret = make_pki(state_dir, err);
	if (ret == 0 && !file_exists(state_dir, API_TOKEN_FILE))
		ret = make_token(state_dir, err);
	return ret;
}

int api_read_token(const char *state_dir, char **token, char **err)
{
	if (err)
		*err = NULL;
	char *t = NULL;
	int ret = read_file(state_dir, API_TOKEN_FILE, &t, err);
	if (ret < 0)
		return ret;
	t[strcspn(t, "\r\n")] = 0;
	if (!*t) {
		free(t);
		return set_errf(err, -EINVAL, "%s/%s is empty", state_dir, API_TOKEN_FILE);
	}
	*token = t;
	return 0;
}

int api_pki_load_server(const char *state_dir, char **cert, char **key, char **err)
{
	int ret = read_file(state_dir, API_SERVER_CERT_FILE, cert, err);
	if (ret < 0)
		return ret;
	ret = read_file(state_dir, API_SERVER_KEY_FILE, key, err);
	if (ret < 0) {
		free(*cert);
		*cert = NULL;
	}
	return ret;
}
