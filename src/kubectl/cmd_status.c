/* cmd_status.c: `netpol status` (the labs that run, from the records
 * `netpol serve` keeps in /run/netpol/LAB.daemon while it serves) and
 * `version` (the client's, and the server's when a daemon answers). */
#include "commands.h"
#include "kctl.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATUS_DIR "/run/netpol"

static char *record_path(const char *lab)
{
	char *path = NULL;
	if (asprintf(&path, "%s/%s.daemon", STATUS_DIR, lab ? lab : KCTL_DEFAULT_LAB) < 0)
		return NULL;
	return path;
}

int kctl_status_record(const char *lab, const char *socket, const char *state_dir, int tls_port)
{
	char *path = record_path(lab), tls[64] = "";
	if (!path)
		return -ENOMEM;
	mkdir(STATUS_DIR, 0755);
	if (tls_port > 0)
		snprintf(tls, sizeof(tls), "https://127.0.0.1:%d", tls_port);
	json_t *rec = json_pack("{s:s, s:I, s:s, s:s, s:s}", "lab", lab ? lab : KCTL_DEFAULT_LAB,
				"pid", (json_int_t)getpid(), "socket", socket, "stateDir", state_dir,
				"tls", tls);
	int ret = rec && json_dump_file(rec, path, JSON_COMPACT) == 0 ? 0 : -EIO;
	json_decref(rec);
	free(path);
	return ret;
}

void kctl_status_unrecord(const char *lab)
{
	char *path = record_path(lab);
	if (path)
		unlink(path);
	free(path);
}

/* One line per record; a pid that no longer runs is "stale" (a daemon
 * that was killed). */
static int print_record(const char *path)
{
	json_t *rec = json_load_file(path, 0, NULL);
	if (!rec)
		return 0;
	json_int_t pid = json_integer_value(json_object_get(rec, "pid"));
	bool alive = pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
	const char *tls = json_string_value(json_object_get(rec, "tls"));
	printf("%-20s %-8s %-8lld %-40s %s\n", json_string_value(json_object_get(rec, "lab")),
	       alive ? "running" : "stale", (long long)pid,
	       json_string_value(json_object_get(rec, "socket")), tls && *tls ? tls : "-");
	json_decref(rec);
	return 1;
}

static const char status_usage[] =
	"usage: netpol status\n\n"
	"Lists the labs whose daemon (`netpol serve`) recorded itself in " STATUS_DIR ":\n"
	"the lab's name, whether its daemon runs (\"stale\": it was killed), its pid,\n"
	"its API socket and its TLS address (for `netpol kubeconfig`).\n";

int cmd_status(int argc, char **argv)
{
	struct kctl k;
	setenv("NETPOL_PROG", "netpol", 0);
	int r = kctl_init(&k, argc, argv, (const struct kflag[]){{0}}, status_usage);
	if (r != 0)
		return r < 0 ? 1 : 0;
	kctl_done(&k);
	struct dirent **names = NULL;
	int n = scandir(STATUS_DIR, &names, NULL, alphasort), shown = 0;
	printf("%-20s %-8s %-8s %-40s %s\n", "LAB", "DAEMON", "PID", "SOCKET", "TLS");
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);
		char path[4096];
		if (len > 7 && strcmp(names[i]->d_name + len - 7, ".daemon") == 0) {
			snprintf(path, sizeof(path), "%s/%s", STATUS_DIR, names[i]->d_name);
			shown += print_record(path);
		}
		free(names[i]);
	}
	free(names);
	if (!shown)
		printf("(no lab daemon has recorded itself in %s)\n", STATUS_DIR);
	return 0;
}

static const char version_usage[] =
	"Print the client and server version information.\n\n"
	"Usage:\n"
	"  kubectl version [options]\n";

int cmd_version(int argc, char **argv)
{
	struct kctl k;
	int r = kctl_init(&k, argc, argv, (const struct kflag[]){{0}}, version_usage);
	if (r != 0)
		return r < 0 ? 1 : 0;
	printf("Client Version: netpol-" NETPOL_VERSION "\n");
	fflush(stdout);
	k.started = true; /* asking for a version starts no daemon */
	long status = 0;
	json_t *resp = NULL;
	int ret = kctl_request(&k, "GET", "/version", NULL, NULL, &status, &resp) < 0 ? 1 : 0;
	if (ret == 0 && status == 200)
		printf("Server Version: %s\n", json_string_value(json_object_get(resp, "gitVersion")));
	else if (ret == 0)
		ret = kctl_print_status(resp, status);
	json_decref(resp);
	kctl_done(&k);
	return ret;
}
