/* load: files, directories and standard input into a cluster, as one
 * transaction.
 *
 * Everything is decoded into a scratch cluster first. Only when no error
 * was recorded are the objects moved into the caller's cluster, their
 * source positions re-pointed at the caller's file table; otherwise the
 * scratch cluster is dropped and the caller's cluster is left as it was.
 */
#include "decode_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Directory nesting we follow, to bound the recursion. */
#define LOAD_MAX_DEPTH 64

/* The directories being read, innermost first: a symbolic link back to one
 * of them would make the walk endless. */
struct dir_chain {
	dev_t dev;
	ino_t ino;
	int depth;
	const struct dir_chain *up;
};

/* ---- one buffer -------------------------------------------------------------- */

/* Parses and decodes one buffer into c->cl. Every document that parsed is
 * decoded, even after a syntax error later in the stream, so that the user
 * sees every problem at once. */
static void decode_text(struct dctx *c, const char *name, const char *buf, size_t len,
			bool json)
{
	struct doc_stream docs = {0};
	size_t before = c->diags->n;
	int r = decode_read_docs(name, buf, len, json, &docs, c->diags);
	if (r == -ENOMEM)
		dctx_oom(c);
	else if (r < 0)
		c->nerrors += c->diags->n - before;
	c->file = name;
	c->pos_file = cluster_intern_file(c->cl, name);
	if (!c->pos_file)
		dctx_oom(c);
	for (size_t i = 0; i < docs.n && !c->oom; i++)
		decode_document(c, docs.docs[i]);
	doc_stream_clear(&docs);
}

/* ---- moving a scratch cluster into the caller's ------------------------------ */

static int relocate_pos(struct np_cluster *to, struct np_pos *p)
{
	if (!p->file)
		return 0;
	p->file = cluster_intern_file(to, p->file);
	return p->file ? 0 : -ENOMEM;
}

static int relocate_selector(struct np_cluster *to, struct np_selector *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (relocate_pos(to, &s->reqs[i].pos) < 0)
			return -ENOMEM;
	return 0;
}

static int relocate_rules(struct np_cluster *to, struct np_rule *rules, size_t n)
{
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct np_rule *rule = &rules[i];
		r = relocate_pos(to, &rule->pos);
		for (size_t j = 0; j < rule->nports && r == 0; j++)
			r = relocate_pos(to, &rule->ports[j].pos);
		for (size_t j = 0; j < rule->npeers && r == 0; j++) {
			struct np_peer *peer = &rule->peers[j];
			r = relocate_pos(to, &peer->pos);
			if (r == 0)
				r = relocate_pos(to, &peer->ipblock.pos);
			if (r == 0)
				r = relocate_selector(to, &peer->pod_sel);
			if (r == 0)
				r = relocate_selector(to, &peer->ns_sel);
		}
	}
	return r;
}

/* Re-points every np_pos of from's objects at to's file table (positions
 * point into the owning cluster's table, and from is about to go). */
static int relocate(struct np_cluster *from, struct np_cluster *to)
{
	int r = 0;
	for (size_t i = 0; i < from->nnamespaces && r == 0; i++)
		r = relocate_pos(to, &from->namespaces[i]->meta.pos);
	for (size_t i = 0; i < from->npods && r == 0; i++)
		r = relocate_pos(to, &from->pods[i]->meta.pos);
	for (size_t i = 0; i < from->nservices && r == 0; i++)
		r = relocate_pos(to, &from->services[i]->meta.pos);
	for (size_t i = 0; i < from->ndeployments && r == 0; i++) {
		r = relocate_pos(to, &from->deployments[i]->meta.pos);
		if (r == 0)
			r = relocate_selector(to, &from->deployments[i]->selector);
	}
	for (size_t i = 0; i < from->npolicies && r == 0; i++) {
		struct np_policy *p = from->policies[i];
		r = relocate_pos(to, &p->meta.pos);
		if (r == 0)
			r = relocate_selector(to, &p->pod_sel);
		if (r == 0)
			r = relocate_rules(to, p->ingress, p->ningress);
		if (r == 0)
			r = relocate_rules(to, p->egress, p->negress);
	}
	return r;
}

static bool same_name(const struct np_meta *a, const struct np_meta *b)
{
	return strcmp(a->name, b->name) == 0 &&
	       (!a->namespace || !b->namespace || strcmp(a->namespace, b->namespace) == 0);
}

/* An object of from that to already has is an error, reported at the new
 * object. Namespaces that to only knows implicitly are not conflicts. */
static void report_conflicts(struct dctx *c, const char *kind, void *const *objs, size_t n,
			     void *const *have, size_t nhave)
{
	for (size_t i = 0; i < n; i++) {
		const struct np_meta *m = objs[i];
		for (size_t j = 0; j < nhave; j++) {
			const struct np_meta *h = have[j];
			if (!same_name(m, h))
				continue;
			if (strcmp(kind, "Namespace") == 0 && ((const struct np_namespace *)h)->implicit)
				continue;
			c->nerrors++;
			if (diag_add(c->diags, DIAG_ERROR, m->pos.file, m->pos.line, m->pos.col, NULL,
				     "%s \"%s%s%s\" already exists", kind, m->namespace ? m->namespace : "",
				     m->namespace ? "/" : "", m->name) < 0)
				dctx_oom(c);
		}
	}
}

#define CONFLICTS(c, kind, from, to, list, n)                                   \
	report_conflicts(c, kind, (void *const *)(from)->list, (from)->n,       \
			 (void *const *)(to)->list, (to)->n)

/* Moves what add accepts, leaving NULL behind, then closes the gaps. */
static int move_all(void **objs, size_t *n, struct np_cluster *to,
		    int (*add)(struct np_cluster *, void *))
{
	int r = 0;
	size_t kept = 0;
	for (size_t i = 0; i < *n; i++) {
		if (r == 0 && (r = add(to, objs[i])) == 0)
			continue;
		objs[kept++] = objs[i];
	}
	*n = kept;
	return r;
}

static int add_namespace(struct np_cluster *cl, void *o)
{
	struct np_namespace *ns = o, *have = cluster_find_namespace(cl, ns->meta.name);
	if (!have)
		return cluster_add_namespace(cl, ns);
	/* declared now, used before: the declaration replaces the implicit one */
	meta_clear(&have->meta);
	have->meta = ns->meta;
	memset(&ns->meta, 0, sizeof(ns->meta));
	have->implicit = false;
	namespace_free(ns);
	return 0;
}

static int add_pod(struct np_cluster *cl, void *o) { return cluster_add_pod(cl, o); }
static int add_deployment(struct np_cluster *cl, void *o) { return cluster_add_deployment(cl, o); }
static int add_service(struct np_cluster *cl, void *o) { return cluster_add_service(cl, o); }
static int add_policy(struct np_cluster *cl, void *o) { return cluster_add_policy(cl, o); }

static int merge(struct dctx *c, struct np_cluster *from, struct np_cluster *to)
{
	CONFLICTS(c, "Namespace", from, to, namespaces, nnamespaces);
	CONFLICTS(c, "Pod", from, to, pods, npods);
	CONFLICTS(c, "Deployment", from, to, deployments, ndeployments);
	CONFLICTS(c, "Service", from, to, services, nservices);
	CONFLICTS(c, "NetworkPolicy", from, to, policies, npolicies);
	if (c->oom)
		return -ENOMEM;
	if (c->nerrors)
		return -EINVAL;
	int r = relocate(from, to);
	if (r == 0)
		r = move_all((void **)from->namespaces, &from->nnamespaces, to, add_namespace);
	if (r == 0)
		r = move_all((void **)from->pods, &from->npods, to, add_pod);
	if (r == 0)
		r = move_all((void **)from->deployments, &from->ndeployments, to, add_deployment);
	if (r == 0)
		r = move_all((void **)from->services, &from->nservices, to, add_service);
	if (r == 0)
		r = move_all((void **)from->policies, &from->npolicies, to, add_policy);
	return r;
}

/* ---- files, directories, standard input --------------------------------------- */

static int read_fd(int fd, char **out, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			char *grown = realloc(buf, cap *= 2);
			if (!grown) {
				free(buf);
				return -ENOMEM;
			}
			buf = grown;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;
			free(buf);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > DECODE_MAX_BYTES)
			break;   /* enough to be refused */
	}
	*out = buf;
	*len = n;
	return 0;
}

static void path_error(struct dctx *c, const char *path, int err)
{
	c->nerrors++;
	if (diag_add(c->diags, DIAG_ERROR, path, 0, 0, NULL, "cannot read: %s", strerror(-err)) < 0)
		dctx_oom(c);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void decode_file(struct dctx *c, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r = fd < 0 ? -errno : read_fd(fd, &buf, &len);
	if (fd >= 0)
		close(fd);
	if (r == -ENOMEM) {
		dctx_oom(c);
		return;
	}
	if (r < 0) {
		path_error(c, path, r);
		return;
	}
	decode_text(c, path, buf, len, decode_is_json(path, buf, len));
	free(buf);
}

static bool is_manifest_name(const char *name)
{
	return has_suffix(name, ".yaml") || has_suffix(name, ".yml") || has_suffix(name, ".json");
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void decode_path(struct dctx *c, const char *path, const struct dir_chain *up);

/* Entries in byte order (not the locale's), so that every machine decodes
 * a tree in the same order. */
static void decode_dir(struct dctx *c, const char *path, const struct dir_chain *self)
{
	DIR *d = opendir(path);
	char **names = NULL;
	size_t n = 0;
	if (!d) {
		path_error(c, path, -errno);
		return;
	}
	for (struct dirent *e; (e = readdir(d));) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *full = NULL;
		if (asprintf(&full, "%s%s%s", path, has_suffix(path, "/") ? "" : "/", e->d_name) < 0) {
			dctx_oom(c);
			break;
		}
		char **slot = DCTX_APPEND(c, names, n);
		if (!slot) {
			free(full);
			break;
		}
		*slot = full;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (!c->oom && stat(names[i], &st) == 0 &&
		    (S_ISDIR(st.st_mode) || is_manifest_name(names[i])))
			decode_path(c, names[i], self);
		free(names[i]);
	}
	free(names);
}

static void decode_path(struct dctx *c, const char *path, const struct dir_chain *up)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		path_error(c, path, -errno);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		decode_file(c, path);
		return;
	}
	for (const struct dir_chain *d = up; d; d = d->up)
		if (d->dev == st.st_dev && d->ino == st.st_ino) {
			if (diag_add(c->diags, DIAG_WARNING, path, 0, 0, NULL,
				     "skipped: a link back to a directory being read") < 0)
				dctx_oom(c);
			return;
		}
	struct dir_chain self = {st.st_dev, st.st_ino, up ? up->depth + 1 : 0, up};
	if (self.depth < LOAD_MAX_DEPTH) {
		decode_dir(c, path, &self);
		return;
	}
	c->nerrors++;
	if (diag_add(c->diags, DIAG_ERROR, path, 0, 0, NULL,
		     "directories nested deeper than %d levels", LOAD_MAX_DEPTH) < 0)
		dctx_oom(c);
}

static void decode_stdin(struct dctx *c)
{
	char *buf = NULL;
	size_t len = 0;
	int r = read_fd(STDIN_FILENO, &buf, &len);
	if (r == -ENOMEM)
		dctx_oom(c);
	else if (r < 0)
		path_error(c, "<stdin>", r);
	else
		decode_text(c, "<stdin>", buf, len, decode_looks_like_json(buf, len));
	free(buf);
}

/* ---- entry points -------------------------------------------------------------- */

static int finish(struct dctx *c, struct np_cluster *scratch, struct np_cluster *cl)
{
	int r = c->oom ? -ENOMEM : c->nerrors ? -EINVAL : merge(c, scratch, cl);
	cluster_free(scratch);
	dctx_clear(c);
	return r;
}

int decode_buffer_as(const char *name, const char *buf, size_t len, bool json,
		     struct np_cluster *cl, struct diag_list *diags)
{
	struct np_cluster *scratch = cluster_new();
	if (!scratch)
		return -ENOMEM;
	struct dctx c = {.diags = diags, .cl = scratch};
	decode_text(&c, name, buf, len, json);
	return finish(&c, scratch, cl);
}

int decode_buffer(const char *name, const char *buf, size_t len,
		  struct np_cluster *cl, struct diag_list *diags)
{
	return decode_buffer_as(name, buf, len, decode_looks_like_json(buf, len), cl, diags);
}

int decode_paths(const char *const *paths, size_t npaths, struct np_cluster *cl,
		 struct diag_list *diags)
{
	struct np_cluster *scratch = cluster_new();
	if (!scratch)
		return -ENOMEM;
	struct dctx c = {.diags = diags, .cl = scratch};
	for (size_t i = 0; i < npaths && !c.oom; i++) {
		if (strcmp(paths[i], "-") == 0)
			decode_stdin(&c);
		else
			decode_path(&c, paths[i], NULL);
	}
	int r = finish(&c, scratch, cl);
	if (r < 0)
		return r;
	/* derived pod names can (very rarely) collide with declared pods */
	r = cluster_finish(cl);
	if (r < 0 && diag_add(diags, DIAG_ERROR, NULL, 0, 0, NULL,
			      "cannot complete the cluster: %s", strerror(-r)) < 0)
		r = -ENOMEM;
	return r;
}
