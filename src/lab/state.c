/* What a restarted daemon needs to adopt a running lab: every pod (and the
 * outside world) keeps a pod.json in its directory, every Service a file
 * under <lab>/services, rewritten (by rename) whenever they change. On
 * adoption a process whose pid still runs with the start time recorded is
 * the same process: it keeps running and is watched through a pidfd, as it
 * may no longer be our child. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <jansson.h>

#include "lab/lab_internal.h"

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *ctr_json(const struct lab_ctr *c)
{
	json_t *ports = json_array();

	for (size_t i = 0; ports && i < c->n_ports; i++)
		json_array_append_new(ports, json_integer(c->ports[i]));
	return json_pack("{s:s, s:i, s:I, s:i, s:b, s:i, s:s, s:s?, s:o, s:o, s:o, s:b, s:b}",
			 "name", c->name, "pid", (int)c->pid,
			 "start_time", (json_int_t)c->start_time, "restarts", c->restarts,
			 "finished", c->finished, "exit_code", c->exit_code,
			 "log", c->log_path, "applet_dir", c->applet_dir,
			 "argv", strv_json(c->argv), "env", strv_json(c->env), "ports", ports,
			 "stdin", c->open_stdin, "tty", c->tty);
}

/* Writes j to path by way of a temporary file and a rename. */
static int save_json(json_t *j, const char *path)
{
	char *tmp = lab_strdup_printf("%s.tmp", path);
	int rc = j && tmp ? 0 : -ENOMEM;

	if (rc == 0 && json_dump_file(j, tmp, JSON_INDENT(1)) < 0)
		rc = -EIO;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0 && tmp)
		unlink(tmp);
	free(tmp);
	json_decref(j);
	return rc;
}

int pod_save(const struct lab_pod *pod)
{
	json_t *ctrs = json_array(), *j;
	char *path = lab_strdup_printf("%s/pod.json", pod->dir);
	int rc;

	for (size_t i = 0; ctrs && i < pod->n_ctrs; i++)
		json_array_append_new(ctrs, ctr_json(&pod->ctrs[i]));
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o}",
		      "ns", pod->ns, "name", pod->name, "ip", pod->ip, "netns", pod->netns,
		      "dir", pod->dir, "resolv_conf", pod->resolv_conf, "hosts", pod->hosts,
		      "ifname", pod->ifname, "restart", (int)pod->restart, "containers", ctrs);
	rc = path ? save_json(j, path) : -ENOMEM;
	if (!path)
		json_decref(j);
	free(path);
	return rc;
}

static char *svc_path(const struct lab *lab, const struct lab_svc *s)
{
	return lab_strdup_printf("%s/services/%s.%s.json", lab->dir, s->ns, s->name);
}

int svc_save(const struct lab *lab, const struct lab_svc *s)
{
	json_t *ports = json_array(), *j;
	char *path = svc_path(lab, s);
	char *dir = lab_strdup_printf("%s/services", lab->dir);
	int rc = path && dir ? lab_mkdir_p(dir, 0755) : -ENOMEM;

	for (size_t i = 0; ports && i < s->n_ports; i++)
		json_array_append_new(ports, json_pack("[i,i,i]", s->ports[i].protocol,
						       s->ports[i].port, s->ports[i].target_port));
	j = json_pack("{s:s, s:s, s:s, s:o, s:I}", "ns", s->ns, "name", s->name, "ip", s->ip,
		      "ports", ports, "endpoints", (json_int_t)s->n_endpoints);
	if (rc == 0)
		rc = save_json(j, path);
	else
		json_decref(j);
	free(path);
	free(dir);
	return rc;
}

void svc_unsave(const struct lab *lab, const struct lab_svc *s)
{
	char *path = svc_path(lab, s);

	if (path)
		unlink(path);
	free(path);
}

/* ---- loading ----------------------------------------------------------- */

static char **json_strv(json_t *a)
{
	char **v = NULL;
	size_t n = 0, i;
	json_t *e;

	json_array_foreach(a, i, e) {
		if (!json_is_string(e) || lab_strv_push(&v, &n, json_string_value(e)) < 0) {
			lab_strv_free(v);
			return NULL;
		}
	}
	return v ? v : calloc(1, sizeof(char *));
}

static int dupstr(char **dst, json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	*dst = s ? strdup(s) : NULL;
	return *dst ? 0 : -EINVAL;
}

/* The recorded process, if it still runs as the same process. */
static void ctr_adopt(struct lab_ctr *c, pid_t pid, unsigned long long start)
{
	int fd;

	c->pid = 0;
	if (pid <= 0 || start == 0 || proc_start_time(pid) != start)
		return;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* Checked again with the pidfd held: the pid cannot be reused now. */
	if (fd < 0 || proc_start_time(pid) != start) {
		if (fd >= 0)
			close(fd);
		return;
	}
	c->pid = pid;
	c->pidfd = fd;
	c->has_pidfd = true;
	c->start_time = start;
	c->started_ms = lab_now_ms();
	/* what the run wrote before the daemon came back is not known apart
	 * from earlier runs': an attach starts from now */
	struct stat sb;
	c->log_start = c->log_path && stat(c->log_path, &sb) == 0 ? (long long)sb.st_size : 0;
	c->prev_log_start = -1;
}

static int ctr_load(struct lab_ctr *c, json_t *j)
{
	json_t *ports = json_object_get(j, "ports"), *e;
	const char *applet = json_string_value(json_object_get(j, "applet_dir"));
	size_t i;
	int rc = dupstr(&c->name, j, "name");

	if (rc == 0)
		rc = dupstr(&c->log_path, j, "log");
	c->argv = json_strv(json_object_get(j, "argv"));
	c->env = json_strv(json_object_get(j, "env"));
	if (rc == 0 && (!c->argv || !c->argv[0] || !c->env))
		rc = -EINVAL;
	if (rc == 0 && applet && !(c->applet_dir = strdup(applet)))
		rc = -ENOMEM;
	c->n_ports = json_array_size(ports);
	if (rc == 0 && c->n_ports && !(c->ports = calloc(c->n_ports, sizeof(*c->ports))))
		rc = -ENOMEM;
	json_array_foreach(ports, i, e)
		if (c->ports)
			c->ports[i] = (uint16_t)json_integer_value(e);
	c->restarts = (int)json_integer_value(json_object_get(j, "restarts"));
	c->finished = json_is_true(json_object_get(j, "finished"));
	/* An adopted run's stdin died with its previous owner; the next run
	 * gets a new one. */
	c->open_stdin = json_is_true(json_object_get(j, "stdin"));
	c->tty = json_is_true(json_object_get(j, "tty"));
	c->exit_code = (int)json_integer_value(json_object_get(j, "exit_code"));
	if (rc == 0 && !c->finished)
		ctr_adopt(c, (pid_t)json_integer_value(json_object_get(j, "pid")),
			  (unsigned long long)json_integer_value(json_object_get(j, "start_time")));
	/* Not running any more: lab_reap restarts it per the policy. */
	return rc;
}

static int pod_load(const char *path, struct lab_pod **out)
{
	json_t *j = json_load_file(path, 0, NULL), *ctrs, *e;
	struct lab_pod *pod = calloc(1, sizeof(*pod));
	const char *ip, *ifname;
	size_t i;
	int rc = j && pod ? 0 : -EINVAL;

	if (rc == 0)
		rc = dupstr(&pod->ns, j, "ns");
	if (rc == 0)
		rc = dupstr(&pod->name, j, "name");
	if (rc == 0)
		rc = dupstr(&pod->netns, j, "netns");
	if (rc == 0)
		rc = dupstr(&pod->dir, j, "dir");
	if (rc == 0)
		rc = dupstr(&pod->resolv_conf, j, "resolv_conf");
	if (rc == 0)
		rc = dupstr(&pod->hosts, j, "hosts");
	if (rc == 0) {
		pod->hostname_file = lab_strdup_printf("%s/hostname", pod->dir);
		rc = pod->hostname_file ? 0 : -ENOMEM;
	}
	ip = json_string_value(json_object_get(j, "ip"));
	ifname = json_string_value(json_object_get(j, "ifname"));
	if (rc == 0 && (!ip || !ifname || inet_pton(AF_INET, ip, &pod->addr) != 1))
		rc = -EINVAL;
	if (rc == 0) {
		snprintf(pod->ip, sizeof(pod->ip), "%s", ip);
		snprintf(pod->ifname, sizeof(pod->ifname), "%s", ifname);
		pod->restart = (enum lab_restart)json_integer_value(json_object_get(j, "restart"));
		ctrs = json_object_get(j, "containers");
		pod->n_ctrs = json_array_size(ctrs);
		pod->ctrs = calloc(pod->n_ctrs ? pod->n_ctrs : 1, sizeof(*pod->ctrs));
		if (!pod->ctrs)
			rc = -ENOMEM;
		json_array_foreach(ctrs, i, e)
			if (rc == 0)
				rc = ctr_load(&pod->ctrs[i], e);
	}
	json_decref(j);
	if (rc < 0) {
		lab_pod_free_internal(pod);
		return rc;
	}
	*out = pod;
	return 0;
}

static int adopt_pod(struct lab *lab, const char *path, struct diag_list *diags)
{
	struct lab_pod *pod = NULL;
	int rc = pod_load(path, &pod);

	if (rc == 0) {
		char *ns = lab_strdup_printf(LAB_NETNS_DIR "/%s", pod->netns);
		if (!ns || access(ns, F_OK) < 0)
			rc = -ENOENT;
		free(ns);
	}
	if (rc == 0 && strcmp(pod->ns, "world") == 0 && strcmp(pod->ifname, "uplink") == 0) {
		lab->world = pod;
		return 0;
	}
	if (rc == 0)
		rc = lab_ipam_reserve(lab->ipam, pod->ip);
	if (rc < 0) {
		diag_error(diags, "lab %s: cannot adopt %s: %s", lab->name, path, strerror(-rc));
		lab_pod_free_internal(pod);
		return rc;
	}
	pod->next = lab->pods;
	lab->pods = pod;
	lab->n_pods++;
	return 0;
}

static int adopt_service(struct lab *lab, const char *path)
{
	json_t *j = json_load_file(path, 0, NULL), *ports, *e;
	struct lab_svc *s = calloc(1, sizeof(*s));
	const char *ip = json_string_value(json_object_get(j, "ip"));
	char *key;
	size_t i;
	int rc = j && s && ip ? 0 : -EINVAL;

	if (rc == 0)
		rc = dupstr(&s->ns, j, "ns");
	if (rc == 0)
		rc = dupstr(&s->name, j, "name");
	if (rc == 0) {
		snprintf(s->ip, sizeof(s->ip), "%s", ip);
		key = lab_strdup_printf("%s/%s", s->ns, s->name);
		snprintf(s->key, sizeof(s->key), "%012llx",
			 key ? (unsigned long long)(lab_hash64(key) & 0xffffffffffffULL) : 0ULL);
		free(key);
		ports = json_object_get(j, "ports");
		s->n_ports = json_array_size(ports);
		s->ports = calloc(s->n_ports ? s->n_ports : 1, sizeof(*s->ports));
		rc = s->ports ? 0 : -ENOMEM;
		json_array_foreach(ports, i, e)
			if (rc == 0)
				s->ports[i] = (struct lab_service_port){
					(uint8_t)json_integer_value(json_array_get(e, 0)),
					(uint16_t)json_integer_value(json_array_get(e, 1)),
					(uint16_t)json_integer_value(json_array_get(e, 2))};
		s->n_endpoints = (size_t)json_integer_value(json_object_get(j, "endpoints"));
	}
	if (rc == 0 && strcmp(s->ip, lab->dns_ip) != 0)
		rc = lab_ipam_reserve(lab->svc_ipam, s->ip);
	json_decref(j);
	if (rc < 0) {
		if (s) {
			free(s->ns);
			free(s->name);
			free(s->ports);
		}
		free(s);
		return rc;
	}
	s->next = lab->services;
	lab->services = s;
	return 0;
}

/* Calls fn on every file named `want` one or two levels under dir (pods
 * live in pods/<ns>/<name>/), or every *.json directly in it. */
static int each_file(struct lab *lab, const char *dir, const char *want,
		     int (*fn)(struct lab *, const char *, struct diag_list *),
		     struct diag_list *diags)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		char *path;
		size_t n = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		path = lab_strdup_printf("%s/%s", dir, e->d_name);
		if (!path) {
			rc = -ENOMEM;
			break;
		}
		if (!want && n > 5 && strcmp(e->d_name + n - 5, ".json") == 0)
			fn(lab, path, diags);
		else if (want && strcmp(e->d_name, want) == 0)
			fn(lab, path, diags);
		else if (want && e->d_type == DT_DIR)
			each_file(lab, path, want, fn, diags);
		free(path);
	}
	closedir(d);
	return rc;
}

static int adopt_service_cb(struct lab *lab, const char *path, struct diag_list *diags)
{
	int rc = adopt_service(lab, path);

	if (rc < 0)
		diag_error(diags, "lab %s: cannot adopt %s: %s", lab->name, path, strerror(-rc));
	return rc;
}

int lab_adopt(struct lab *lab, struct diag_list *diags)
{
	char *pods = lab_strdup_printf("%s/pods", lab->dir);
	char *world = lab_strdup_printf("%s/world", lab->dir);
	char *svcs = lab_strdup_printf("%s/services", lab->dir);
	int rc = pods && world && svcs ? services_init(lab) : -ENOMEM;

	if (rc == 0)
		rc = each_file(lab, pods, "pod.json", adopt_pod, diags);
	if (rc == 0)
		rc = each_file(lab, world, "pod.json", adopt_pod, diags);
	if (rc == 0)
		rc = each_file(lab, svcs, NULL, adopt_service_cb, diags);
	/* The table outlives its last Service: only its absence means a new
	 * one must be made. */
	if (rc == 0) {
		char *list = lab_strdup_printf("list table ip %s-services", lab->name);
		lab->svc_table_ready = list && nft_node_run(lab, list, NULL) == 0;
		free(list);
	}
	free(pods);
	free(world);
	free(svcs);
	return rc;
}
