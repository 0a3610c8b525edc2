/* cmd_kubeconfig.c: `netpol kubeconfig [--server URL]`: a kubeconfig that
 * points the real kubectl at the lab daemon's TLS port, with the lab CA
 * embedded and the daemon's bearer token. The port is the one the daemon
 * announced ("serving on https://127.0.0.1:PORT") in STATE_DIR/daemon.log,
 * where an auto-started daemon writes its output. */
#include "commands.h"
#include "kctl.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char kubeconfig_usage[] =
	"usage: netpol kubeconfig [--server https://127.0.0.1:PORT] [--state-dir DIR] [--socket PATH]\n\n"
	"Prints a kubeconfig for the lab: the real kubectl then works against it\n"
	"(netpol kubeconfig > lab.conf; kubectl --kubeconfig lab.conf get pods).\n";

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0;
	FILE *m = open_memstream(&buf, &cap);
	char chunk[4096];
	size_t n;
	while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	if (m)
		fclose(m);
	if (len)
		*len = cap;
	return buf;
}

static char *base64(const char *in, size_t len)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
	const unsigned char *p = (const unsigned char *)in;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = p[i] << 16 | (i + 1 < len ? p[i + 1] << 8 : 0) | (i + 2 < len ? p[i + 2] : 0);
		*o++ = tbl[v >> 18 & 63];
		*o++ = tbl[v >> 12 & 63];
		*o++ = i + 1 < len ? tbl[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? tbl[v & 63] : '=';
	}
	*o = 0;
	return out;
}

/* The last port the daemon announced. */
static int announced_port(const char *state_dir)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/daemon.log", state_dir);
	char *log = read_file(path, NULL);
	int port = 0;
	const char *mark = "serving on https://127.0.0.1:";
	for (char *p = log; p && (p = strstr(p, mark)); p += strlen(mark))
		port = atoi(p + strlen(mark));
	free(log);
	return port;
}

static int print_config(const char *server, const char *ca, size_t ca_len, const char *token)
{
	char *ca64 = base64(ca, ca_len);
	char *tok = strdup(token);
	if (!ca64 || !tok)
		return 1;
	tok[strcspn(tok, "\r\n")] = 0;
	printf("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
	       "    certificate-authority-data: %s\n    server: %s\n  name: netpol\n"
	       "contexts:\n- context:\n    cluster: netpol\n    namespace: default\n"
	       "    user: netpol\n  name: netpol\ncurrent-context: netpol\npreferences: {}\n"
	       "users:\n- name: netpol\n  user:\n    token: %s\n", ca64, server, tok);
	free(ca64);
	free(tok);
	return 0;
}

int cmd_kubeconfig(int argc, char **argv)
{
	struct kctl k;
	const char *server = NULL;
	const struct kflag flags[] = {{"server", 0, KF_STRING, &server}, {0}};
	setenv("NETPOL_PROG", "netpol", 0);
	int r = kctl_init(&k, argc, argv, flags, kubeconfig_usage);
	if (r != 0)
		return r < 0 ? 1 : 0;
	int ret = 1;
	long status = 0;
	json_t *resp = NULL;
	char url[64], path[4200];
	char *ca = NULL, *token = NULL;
	size_t ca_len = 0;
	if (kctl_request(&k, "GET", "/version", NULL, NULL, &status, &resp) < 0)
		goto cleanup;
	if (!server) {
		/* the daemon answers on its socket a moment before it writes
		 * the announcement: give a just-started one that moment */
		int port = announced_port(k.state_dir);
		for (int i = 0; port <= 0 && i < 40; i++) {
			usleep(50000);
			port = announced_port(k.state_dir);
		}
		if (port <= 0) {
			fprintf(stderr, "netpol: the lab daemon announced no TLS port in %s/daemon.log "
				"(start it with --listen, or pass --server)\n", k.state_dir);
			goto cleanup;
		}
		snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
		server = url;
	}
	snprintf(path, sizeof(path), "%s/pki/ca.crt", k.state_dir);
	ca = read_file(path, &ca_len);
	snprintf(path + strlen(k.state_dir), sizeof(path) - strlen(k.state_dir), "/token");
	token = read_file(path, NULL);
	if (!ca || !token) {
		fprintf(stderr, "netpol: cannot read the lab CA and token under %s\n", k.state_dir);
		goto cleanup;
	}
	ret = print_config(server, ca, ca_len, token);
cleanup:
	json_decref(resp);
	free(ca);
	free(token);
	kctl_done(&k);
	return ret;
}
