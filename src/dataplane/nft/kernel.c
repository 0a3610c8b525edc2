/* kernel: libnftables in-process. Every change is one call of
 * nft_run_cmd_from_buffer, which libnftables sends as one netlink batch:
 * the kernel commits all of it or none, and no packet sees half. */
#include "nft_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nftables/libnftables.h>

struct nft_conn {
	struct nft_ctx *ctx;    /* created inside the namespace, on first use */
	int netns;              /* -1: the caller's namespace */
};

int nft_conn_new(const char *netns, struct nft_conn **out)
{
	struct nft_conn *c = calloc(1, sizeof(*c));
	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->netns = -1;
	if (netns && (c->netns = open(netns, O_RDONLY | O_CLOEXEC)) < 0) {
		int err = -errno;
		free(c);
		return err;
	}
	*out = c;
	return 0;
}

void nft_conn_free(struct nft_conn *c)
{
	if (!c)
		return;
	if (c->ctx)
		nft_ctx_free(c->ctx);
	if (c->netns >= 0)
		close(c->netns);
	free(c);
}

/* Enters the connection's namespace; *self gets the fd to come back with
 * (-1 when nothing was entered). */
static int enter(struct nft_conn *c, int *self)
{
	*self = -1;
	if (c->netns < 0)
		return 0;
	if ((*self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (setns(c->netns, CLONE_NEWNET) < 0) {
		int err = -errno;
		close(*self);
		*self = -1;
		return err;
	}
	return 0;
}

static int leave(int self)
{
	int err = 0;
	if (self < 0)
		return 0;
	if (setns(self, CLONE_NEWNET) < 0)
		err = -errno;
	close(self);
	return err;
}

static int ensure_ctx(struct nft_conn *c)
{
	if (c->ctx)
		return 0;
	if (!(c->ctx = nft_ctx_new(NFT_CTX_DEFAULT)))
		return -ENOMEM;
	if (nft_ctx_buffer_output(c->ctx) < 0 || nft_ctx_buffer_error(c->ctx) < 0) {
		nft_ctx_free(c->ctx);
		c->ctx = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Runs cmds; *output (optional) gets what nft printed. On failure, nft's
 * messages go to diags; ENOENT is told apart because "no such table" is
 * an answer, not an error, to a reader. */
static int run(struct nft_conn *c, const char *cmds, char **output, struct diag_list *diags)
{
	int self, err = enter(c, &self), rc;
	if (output)
		*output = NULL;
	if (err < 0)
		return err;
	if ((err = ensure_ctx(c)) < 0)
		goto out;
	rc = nft_run_cmd_from_buffer(c->ctx, cmds);
	const char *o = nft_ctx_get_output_buffer(c->ctx);
	const char *e = nft_ctx_get_error_buffer(c->ctx);
	if (rc != 0) {
		err = e && strstr(e, "No such file or directory") ? -ENOENT : -EIO;
		if (err == -EIO || !output)
			diag_error(diags, "nft: %s",
				 e && *e ? e : "command failed");
	} else if (output && !(*output = strdup(o ? o : ""))) {
		err = -ENOMEM;
	}
out:;
	int lerr = leave(self);
	return err ? err : lerr;
}

int nft_conn_run(struct nft_conn *c, const char *cmds, struct diag_list *diags)
{
	return run(c, cmds, NULL, diags);
}

int nft_read(struct nft_conn *c, const char *table, struct nft_prog **out,
	     struct diag_list *diags)
{
	char cmd[300], *text = NULL;
	int err;
	*out = NULL;
	snprintf(cmd, sizeof(cmd), "list table inet %s", table ? table : NFT_TABLE);
	if ((err = run(c, cmd, &text, diags)) < 0)
		return err;
	err = nft_prog_parse(text, out, diags);
	free(text);
	return err;
}

int nft_apply(struct nft_conn *c, const struct nft_delta *d, struct diag_list *diags)
{
	if (nft_delta_empty(d))
		return 0;
	return run(c, d->text, NULL, diags);
}

int nft_load(struct nft_conn *c, const struct nft_prog *p, struct diag_list *diags)
{
	struct nft_delta *d;
	int err = nft_delta_full(p, &d);
	if (err < 0)
		return err;
	err = nft_apply(c, d, diags);
	nft_delta_free(d);
	return err;
}

int nft_sync(struct nft_conn *c, const struct nft_prog *desired,
	     struct nft_delta **applied, struct diag_list *diags)
{
	struct diag_list why = {0};
	struct nft_prog *cur = NULL;
	struct nft_delta *d = NULL;
	int err = nft_read(c, desired->table, &cur, &why);
	if (applied)
		*applied = NULL;
	/* absent: build it; unreadable (not ours to understand): replace it */
	if (err == -ENOENT || err == -EINVAL)
		err = err == -ENOENT ? nft_delta_compute(NULL, desired, &d)
				     : nft_delta_full(desired, &d);
	else if (err == 0)
		err = nft_delta_compute(cur, desired, &d);
	else
		diag_error(diags, "%s",
			 why.n ? why.items[0].msg : "reading the table failed");
	if (!err)
		err = nft_apply(c, d, diags);
	if (!err && applied) {
		*applied = d;
		d = NULL;
	}
	nft_delta_free(d);
	nft_prog_free(cur);
	diag_list_clear(&why);
	return err;
}

int nft_remove(struct nft_conn *c, const char *table, struct diag_list *diags)
{
	char cmd[600];
	const char *t = table ? table : NFT_TABLE;
	/* "add" first: deleting then never fails for want of a table */
	snprintf(cmd, sizeof(cmd), "add table inet %s\ndelete table inet %s\n", t, t);
	return run(c, cmd, NULL, diags);
}
