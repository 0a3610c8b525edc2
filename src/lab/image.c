/* Images are named recipes for programs already on the machine: each knows
 * its entrypoint, its default command, its environment and the private
 * files it needs under the pod's directory. A container's command replaces
 * the entrypoint and the default command; its args replace the default
 * command only (as in Kubernetes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab/lab_internal.h"

#define BASE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* What a recipe produces; image_prepare turns it into argv and env. */
struct recipe {
	char **entry;           /* entrypoint */
	size_t n_entry;
	char **cmd;             /* default command */
	size_t n_cmd;
	char **env;
	size_t n_env;
	uint16_t port;          /* a port the image always serves (readiness) */
	char *applet_dir;
};

struct image_ctx {
	const struct lab *lab;
	const struct lab_pod_spec *spec;
	const struct lab_container *c;
	const char *pod_dir;
	const char *ctr_name;
	struct diag_list *diags;
};

static void recipe_clear(struct recipe *r)
{
	lab_strv_free(r->entry);
	lab_strv_free(r->cmd);
	lab_strv_free(r->env);
	free(r->applet_dir);
	memset(r, 0, sizeof(*r));
}

static int push_all(char ***v, size_t *n, const char *const *items)
{
	for (size_t i = 0; items && items[i]; i++) {
		int rc = lab_strv_push(v, n, items[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A private directory "<pod_dir>/<container>-<image>" in *dir. */
static int private_dir(const struct image_ctx *ctx, const char *image, char **dir)
{
	int rc;

	*dir = lab_strdup_printf("%s/%s-%s", ctx->pod_dir, ctx->ctr_name, image);
	if (!*dir)
		return -ENOMEM;
	rc = lab_mkdir_p(*dir, 0755);
	if (rc < 0) {
		free(*dir);
		*dir = NULL;
	}
	return rc;
}

static const char nginx_conf[] =
	"# netpol lab: the nginx image, private to one pod's container\n"
	"daemon off;\n"
	"master_process on;\n"
	"worker_processes 1;\n"
	"pid nginx.pid;\n"
	"error_log stderr notice;\n"
	"events { worker_connections 512; }\n"
	"http {\n"
	"    include /etc/nginx/mime.types;\n"
	"    default_type application/octet-stream;\n"
	"    access_log /dev/stdout;\n"
	"    client_body_temp_path tmp/body;\n"
	"    proxy_temp_path tmp/proxy;\n"
	"    fastcgi_temp_path tmp/fastcgi;\n"
	"    uwsgi_temp_path tmp/uwsgi;\n"
	"    scgi_temp_path tmp/scgi;\n"
	"    server {\n"
	"        listen 80 default_server;\n"
	"        listen [::]:80 default_server;\n"
	"        root /usr/share/nginx/html;\n"
	"        index index.html;\n"
	"    }\n"
	"}\n";

static int recipe_nginx(const struct image_ctx *ctx, struct recipe *r)
{
	char *dir, *conf = NULL, *tmp = NULL;
	int rc = private_dir(ctx, "nginx", &dir);

	if (rc < 0)
		return rc;
	rc = -ENOMEM;
	conf = lab_strdup_printf("%s/nginx.conf", dir);
	tmp = lab_strdup_printf("%s/tmp", dir);
	if (!conf || !tmp)
		goto cleanup;
	/* Everything the master opens is under -p: config, pid, temp dirs;
	 * logs go to the container's log through stdout/stderr. */
	rc = lab_mkdir_p(tmp, 0755);
	if (rc == 0)
		rc = lab_write_file(conf, nginx_conf, 0644);
	if (rc == 0) {
		const char *cmd[] = {"nginx", "-p", dir, "-c", conf, "-e", "stderr", NULL};
		rc = push_all(&r->cmd, &r->n_cmd, cmd);
	}
	r->port = 80;
cleanup:
	free(dir);
	free(conf);
	free(tmp);
	return rc;
}

static int recipe_busybox(const struct image_ctx *ctx, struct recipe *r)
{
	const char *bb = ctx->lab->busybox_dir;
	char *bin = lab_strdup_printf("%s/busybox", bb);
	char *path = lab_strdup_printf("PATH=%s/bin:" BASE_PATH, bb);
	const char *cmd[] = {"sh", NULL};
	int rc = -ENOMEM;

	if (!bin || !path)
		goto cleanup;
	if (access(bin, X_OK) < 0) {
		diag_error(ctx->diags, "image busybox: %s is missing (scripts/build-busybox.sh builds it)",
			 bin);
		rc = -ENOENT;
		goto cleanup;
	}
	rc = push_all(&r->cmd, &r->n_cmd, cmd);
	if (rc == 0)
		rc = lab_strv_push(&r->env, &r->n_env, path);
	if (rc == 0 && !(r->applet_dir = lab_strdup_printf("%s/bin", bb)))
		rc = -ENOMEM;
cleanup:
	free(bin);
	free(path);
	return rc;
}

static int recipe_dnsmasq(const struct image_ctx *ctx, struct recipe *r)
{
	char *dir, *confd = NULL;
	char *conf_arg = NULL, *confd_arg = NULL, *pid_arg = NULL, *conf = NULL;
	int rc = private_dir(ctx, "dnsmasq", &dir);

	if (rc < 0)
		return rc;
	rc = -ENOMEM;
	confd = lab_strdup_printf("%s/conf.d", dir);
	conf = lab_strdup_printf("%s/dnsmasq.conf", dir);
	conf_arg = lab_strdup_printf("--conf-file=%s", conf ? conf : "");
	confd_arg = lab_strdup_printf("--conf-dir=%s", confd ? confd : "");
	pid_arg = lab_strdup_printf("--pid-file=%s/dnsmasq.pid", dir);
	if (!confd || !conf || !conf_arg || !confd_arg || !pid_arg)
		goto cleanup;
	rc = lab_mkdir_p(confd, 0755);
	/* Never the system's /etc/dnsmasq.conf; the pod's resolv.conf points
	 * at the cluster DNS itself, so upstreams come from the config. */
	if (rc == 0 && access(conf, F_OK) < 0)
		rc = lab_write_file(conf, "no-resolv\n", 0644);
	if (rc == 0) {
		const char *entry[] = {"dnsmasq", "--keep-in-foreground",
				       "--log-facility=-", conf_arg, confd_arg,
				       pid_arg, NULL};
		rc = push_all(&r->entry, &r->n_entry, entry);
	}
cleanup:
	free(dir);
	free(confd);
	free(conf);
	free(conf_arg);
	free(confd_arg);
	free(pid_arg);
	return rc;
}

static int recipe_probe(const struct image_ctx *ctx, struct recipe *r)
{
	const char *probe = ctx->lab->probe_path;
	char *path;
	int rc;

	if (!probe || access(probe, X_OK) < 0) {
		diag_error(ctx->diags, "image probe: netpol-probe not found (%s)",
			 probe ? probe : "set lab_opts.probe_path or NETPOL_PROBE");
		return -ENOENT;
	}
	rc = lab_strv_push(&r->entry, &r->n_entry, probe);
	/* `probe connect ...` and `netpol-probe connect ...` in kubectl exec. */
	path = lab_strdup_printf("PATH=%s/bin:" BASE_PATH, ctx->lab->dir);
	if (rc == 0)
		rc = path ? lab_strv_push(&r->env, &r->n_env, path) : -ENOMEM;
	free(path);
	if (rc == 0)
		rc = lab_strv_push(&r->cmd, &r->n_cmd, "serve");
	for (size_t i = 0; rc == 0 && i < ctx->c->n_ports; i++) {
		char port[8];

		snprintf(port, sizeof(port), "%u", ctx->c->ports[i]);
		rc = lab_strv_push(&r->cmd, &r->n_cmd, port);
	}
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(const struct image_ctx *, struct recipe *);
} images[] = {
	{"busybox", recipe_busybox},
	{"dnsmasq", recipe_dnsmasq},
	{"nginx", recipe_nginx},
	{"probe", recipe_probe},
};

const char *lab_images(void)
{
	return "busybox, dnsmasq, nginx, probe";
}

/* "nginx", "nginx:1.25", "docker.io/library/nginx:latest" all mean nginx:
 * manifests name images the way registries do. */
static const char *image_base(const char *image, char *buf, size_t len)
{
	const char *slash = strrchr(image, '/');
	const char *name = slash ? slash + 1 : image;
	size_t n = strcspn(name, ":@");

	if (n >= len)
		n = len - 1;
	memcpy(buf, name, n);
	buf[n] = '\0';
	return buf;
}

/* Sets "K=V" in env, replacing an entry with the same key. */
static int env_set(char ***env, size_t *n, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; i < *n; i++) {
		if (strncmp((*env)[i], kv, klen) == 0 && (*env)[i][klen] == '=') {
			char *copy = strdup(kv);
			if (!copy)
				return -ENOMEM;
			free((*env)[i]);
			(*env)[i] = copy;
			return 0;
		}
	}
	return lab_strv_push(env, n, kv);
}

static int build_env(const struct image_ctx *ctx, struct recipe *r, char ***out)
{
	char **env = NULL;
	size_t n = 0;
	char *host = lab_strdup_printf("HOSTNAME=%s", ctx->spec->name);
	int rc = host ? 0 : -ENOMEM;
	const char *base[] = {"PATH=" BASE_PATH, "HOME=/root", NULL};

	if (rc == 0)
		rc = push_all(&env, &n, base);
	if (rc == 0)
		rc = env_set(&env, &n, host);
	for (size_t i = 0; rc == 0 && i < r->n_env; i++)
		rc = env_set(&env, &n, r->env[i]);
	for (size_t i = 0; rc == 0 && ctx->c->env && ctx->c->env[i]; i++)
		rc = strchr(ctx->c->env[i], '=') ? env_set(&env, &n, ctx->c->env[i])
						  : -EINVAL;
	free(host);
	if (rc < 0) {
		lab_strv_free(env);
		return rc;
	}
	*out = env;
	return 0;
}

static int build_argv(const struct image_ctx *ctx, struct recipe *r,
		      char **env, const char *applet_dir, char ***out)
{
	const struct lab_container *c = ctx->c;
	char **argv = NULL;
	size_t n = 0;
	int rc = 0;

	if (c->command && c->command[0]) {
		rc = push_all(&argv, &n, c->command);
	} else {
		for (size_t i = 0; rc == 0 && i < r->n_entry; i++)
			rc = lab_strv_push(&argv, &n, r->entry[i]);
	}
	if (rc == 0 && c->args)
		rc = push_all(&argv, &n, c->args);
	else if (rc == 0 && !(c->command && c->command[0]))
		for (size_t i = 0; rc == 0 && i < r->n_cmd; i++)
			rc = lab_strv_push(&argv, &n, r->cmd[i]);
	if (rc == 0 && n == 0)
		rc = -EINVAL;
	if (rc == 0) {
		/* Resolved here, with the image's PATH, as the child may not
		 * search (execvpe would use our PATH, not the image's). */
		char *prog = proc_find_program(argv[0], env, applet_dir);
		if (!prog) {
			rc = -ENOMEM;
		} else {
			free(argv[0]);
			argv[0] = prog;
		}
	}
	if (rc < 0) {
		if (rc == -EINVAL)
			diag_error(ctx->diags, "container %s: nothing to run", ctx->ctr_name);
		lab_strv_free(argv);
		return rc;
	}
	*out = argv;
	return 0;
}

static int set_ports(const struct lab_container *sc, const struct recipe *r,
		     struct lab_ctr *c)
{
	size_t n = sc->n_ports ? sc->n_ports : (r->port && !sc->command ? 1 : 0);

	if (n == 0)
		return 0;
	c->ports = calloc(n, sizeof(*c->ports));
	if (!c->ports)
		return -ENOMEM;
	if (sc->n_ports)
		memcpy(c->ports, sc->ports, n * sizeof(*c->ports));
	else
		c->ports[0] = r->port;
	c->n_ports = n;
	return 0;
}

int image_prepare(const struct lab *lab, const struct lab_pod_spec *spec,
		  const struct lab_container *spec_c, const char *pod_dir,
		  struct lab_ctr *c, struct diag_list *diags)
{
	struct image_ctx ctx = {lab, spec, spec_c, pod_dir, c->name, diags};
	struct recipe r = {0};
	char base[64];
	bool known = false;
	int rc = 0;

	if (!spec_c->image) {
		diag_error(diags, "container %s: no image (known images: %s)", c->name,
			 lab_images());
		return -EINVAL;
	}
	image_base(spec_c->image, base, sizeof(base));
	for (size_t i = 0; !known && i < sizeof(images) / sizeof(images[0]); i++) {
		if (strcmp(images[i].name, base) == 0) {
			known = true;
			rc = images[i].fn(&ctx, &r);
		}
	}
	if (!known) {
		diag_error(diags, "container %s: unknown image \"%s\" (known images: %s)",
			 c->name, spec_c->image, lab_images());
		return -EINVAL;
	}
	if (rc < 0)
		goto cleanup;
	rc = build_env(&ctx, &r, &c->env);
	if (rc == 0)
		rc = build_argv(&ctx, &r, c->env, r.applet_dir, &c->argv);
	if (rc == 0 && r.applet_dir) {
		c->applet_dir = r.applet_dir;
		r.applet_dir = NULL;
	}
	if (rc == 0)
		rc = set_ports(spec_c, &r, c);
cleanup:
	recipe_clear(&r);
	return rc;
}
