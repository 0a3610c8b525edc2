/* evaluate: one connection judged literally as the NetworkPolicy API
 * documents it, with the policy, rule, peer and port that decided it.
 *
 * This file is the reference for the semantics: peers are matched here by
 * their selectors and blocks, not through the index's peer sets, so that
 * the property test "reach == evaluate" checks the index against the
 * definition. Only "which policies select this pod" comes from the index. */
#include "policy_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define METADATA_NAME "kubernetes.io/metadata.name"

bool ipblock_contains(const struct np_ipblock *b, const struct np_ip *ip)
{
	if (!cidr_contains_ip(&b->cidr, ip))
		return false;
	for (size_t i = 0; i < b->nexcept; i++)
		if (cidr_contains_ip(&b->except[i], ip))
			return false;
	return true;
}

bool port_spec_matches(const struct np_port_spec *spec, struct np_port port,
		       const struct np_pod *dst)
{
	if (spec->proto != port.proto)
		return false;
	switch (spec->kind) {
	case PORT_ANY:
		return true;
	case PORT_NUMBER:
		return port.port >= spec->port &&
		       port.port <= (spec->end_port ? spec->end_port : spec->port);
	case PORT_NAMED:
		/* Resolved on the destination pod; an address outside the
		 * cluster declares no names. */
		return dst && spec->name &&
		       pod_resolve_named_port(dst, spec->name, spec->proto) == port.port;
	}
	return false;
}

static const char *ns_name(const char *ns)
{
	return ns ? ns : "default";
}

/* Whether the namespace of pod has labels matching sel. A namespace the
 * input never declared still has its kubernetes.io/metadata.name label. */
static bool ns_matches(struct engine *e, const struct np_selector *sel, const struct np_pod *pod)
{
	const struct ns_entry *ns = index_ns(e, pod->meta.namespace);
	if (ns)
		return selector_matches(sel, &ns->labels);
	struct np_label l = {(char *)METADATA_NAME, (char *)ns_name(pod->meta.namespace)};
	struct np_labels only = {&l, 1};
	return selector_matches(sel, &only);
}

static bool peer_matches(struct engine *e, const char *pol_ns, const struct np_peer *peer,
			 const struct np_endpoint *ep, const struct dir_opts *opts)
{
	if (peer->has_ipblock) {
		if (ep->ip.family)
			return ipblock_contains(&peer->ipblock, &ep->ip);
		return ep->pod && opts && opts->unknown_ip_in_slash0 &&
		       peer->ipblock.cidr.prefix == 0;
	}
	if (!ep->pod)
		return false;    /* selectors only ever match pods */
	if (peer->has_ns_sel) {
		if (!ns_matches(e, &peer->ns_sel, ep->pod))
			return false;
		return !peer->has_pod_sel || selector_matches(&peer->pod_sel, &ep->pod->meta.labels);
	}
	if (!peer->has_pod_sel)
		return false;    /* an empty peer is invalid; it matches nothing */
	return strcmp(ns_name(pol_ns), ns_name(ep->pod->meta.namespace)) == 0 &&
	       selector_matches(&peer->pod_sel, &ep->pod->meta.labels);
}

/* The first peer of r matching ep (-1 when r has no peers: all match);
 * -2 when none does. */
static int first_peer(struct engine *e, const struct np_policy *pol, const struct np_rule *r,
		      const struct np_endpoint *ep, const struct dir_opts *opts)
{
	if (r->npeers == 0)
		return -1;
	for (size_t i = 0; i < r->npeers; i++)
		if (peer_matches(e, pol->meta.namespace, &r->peers[i], ep, opts))
			return (int)i;
	return -2;
}

static int first_port(const struct np_rule *r, struct np_port port, const struct np_pod *dst)
{
	if (r->nports == 0)
		return -1;
	for (size_t i = 0; i < r->nports; i++)
		if (port_spec_matches(&r->ports[i], port, dst))
			return (int)i;
	return -2;
}

/* Looks for the first rule (policies in name order) allowing the peer. */
static void find_rule(struct engine *e, bool egress, const struct np_endpoint *peer,
		      const struct np_pod *dst, struct np_port port,
		      const struct dir_opts *opts, struct np_dir_verdict *out)
{
	for (size_t i = 0; i < out->nisolating; i++) {
		const struct np_policy *pol = out->isolating[i];
		const struct np_rule *rules = egress ? pol->egress : pol->ingress;
		size_t n = egress ? pol->negress : pol->ningress;
		for (size_t r = 0; r < n; r++) {
			int pi = first_peer(e, pol, &rules[r], peer, opts);
			int qi = pi == -2 ? -2 : first_port(&rules[r], port, dst);
			if (qi == -2)
				continue;
			out->allowed = true;
			out->policy = pol;
			out->rule = (int)r;
			out->peer = pi;
			out->port = qi;
			return;
		}
	}
}

int engine_judge(struct engine *e, bool egress, const struct np_endpoint *src,
		 const struct np_endpoint *dst, struct np_port port,
		 const struct dir_opts *opts, struct np_dir_verdict *out)
{
	const struct np_endpoint *self = egress ? src : dst;
	const struct np_endpoint *peer = egress ? dst : src;
	const struct np_policy *const *pols;
	memset(out, 0, sizeof(*out));
	out->rule = out->peer = out->port = -1;
	if (!self->pod) {
		out->allowed = true;   /* outside the cluster: no policy applies */
		return 0;
	}
	out->applies = true;
	size_t n = engine_policies_selecting(e, self->pod, &pols);
	if (!pols)
		return -ENOMEM;
	out->isolating = malloc((n + 1) * sizeof(*out->isolating));
	if (!out->isolating)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (egress ? pols[i]->egress_type : pols[i]->ingress_type)
			out->isolating[out->nisolating++] = pols[i];
	out->isolated = out->nisolating > 0;
	if (!out->isolated) {
		out->allowed = true;
		return 0;
	}
	find_rule(e, egress, peer, dst->pod, port, opts, out);
	return 0;
}

int engine_evaluate(struct engine *e, const struct np_endpoint *src,
		    const struct np_endpoint *dst, struct np_port port,
		    struct np_verdict *out)
{
	int err;
	memset(out, 0, sizeof(*out));
	err = engine_judge(e, true, src, dst, port, NULL, &out->egress);
	if (!err)
		err = engine_judge(e, false, src, dst, port, NULL, &out->ingress);
	if (err) {
		verdict_clear(out);
		return err;
	}
	out->allowed = out->egress.allowed && out->ingress.allowed;
	return 0;
}

void verdict_clear(struct np_verdict *v)
{
	if (!v)
		return;
	free(v->egress.isolating);
	free(v->ingress.isolating);
	memset(v, 0, sizeof(*v));
}
