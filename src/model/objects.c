/* objects: constructors and destructors of the Kubernetes kinds, protocols,
 * and named-port lookup. Every object owns its strings and arrays; source
 * positions point into the cluster's file table and are not freed here. */
#include "model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- protocols ------------------------------------------------------------ */

static const char *const proto_names[NP_NPROTO] = {"TCP", "UDP", "SCTP"};

const char *proto_name(enum np_proto p)
{
	return (unsigned)p < NP_NPROTO ? proto_names[p] : "?";
}

int proto_parse(const char *text, enum np_proto *out)
{
	for (int i = 0; i < NP_NPROTO; i++) {
		if (strcmp(text, proto_names[i]) == 0) {
			*out = (enum np_proto)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- constructors ----------------------------------------------------------- */

struct np_namespace *namespace_new(void)
{
	return calloc(1, sizeof(struct np_namespace));
}

struct np_pod *pod_new(void)
{
	return calloc(1, sizeof(struct np_pod));
}

struct np_deployment *deployment_new(void)
{
	struct np_deployment *d = calloc(1, sizeof(*d));
	if (d)
		d->replicas = 1;
	return d;
}

struct np_service *service_new(void)
{
	return calloc(1, sizeof(struct np_service));
}

struct np_policy *policy_new(void)
{
	return calloc(1, sizeof(struct np_policy));
}

/* ---- destructors ------------------------------------------------------------ */

void meta_clear(struct np_meta *m)
{
	free(m->name);
	free(m->namespace);
	labels_clear(&m->labels);
	labels_clear(&m->annotations);
	memset(m, 0, sizeof(*m));
}

void namespace_free(struct np_namespace *ns)
{
	if (!ns)
		return;
	meta_clear(&ns->meta);
	free(ns);
}

static void ports_free(struct np_container_port *ports, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ports[i].name);
	free(ports);
}

void pod_free(struct np_pod *p)
{
	if (!p)
		return;
	meta_clear(&p->meta);
	ports_free(p->ports, p->nports);
	free(p->ips);
	free(p->owner);
	free(p);
}

void deployment_free(struct np_deployment *d)
{
	if (!d)
		return;
	meta_clear(&d->meta);
	selector_clear(&d->selector);
	labels_clear(&d->template_labels);
	ports_free(d->ports, d->nports);
	free(d);
}

void service_free(struct np_service *s)
{
	if (!s)
		return;
	meta_clear(&s->meta);
	labels_clear(&s->selector);
	for (size_t i = 0; i < s->nports; i++) {
		free(s->ports[i].name);
		free(s->ports[i].target_port_name);
	}
	free(s->ports);
	free(s->type);
	free(s->cluster_ip);
	free(s);
}

void peer_clear(struct np_peer *p)
{
	selector_clear(&p->pod_sel);
	selector_clear(&p->ns_sel);
	free(p->ipblock.except);
	memset(p, 0, sizeof(*p));
}

void rule_clear(struct np_rule *r)
{
	for (size_t i = 0; i < r->npeers; i++)
		peer_clear(&r->peers[i]);
	free(r->peers);
	for (size_t i = 0; i < r->nports; i++)
		free(r->ports[i].name);
	free(r->ports);
	memset(r, 0, sizeof(*r));
}

static void rules_free(struct np_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rule_clear(&rules[i]);
	free(rules);
}

void policy_free(struct np_policy *p)
{
	if (!p)
		return;
	meta_clear(&p->meta);
	selector_clear(&p->pod_sel);
	rules_free(p->ingress, p->ningress);
	rules_free(p->egress, p->negress);
	free(p);
}

/* ---- named ports ------------------------------------------------------------ */

int pod_resolve_named_port(const struct np_pod *pod, const char *name, enum np_proto proto)
{
	/* A name only resolves for the protocol it was declared with: "dns"
	 * on UDP 53 says nothing about TCP. */
	for (size_t i = 0; i < pod->nports; i++) {
		const struct np_container_port *cp = &pod->ports[i];
		if (cp->name && cp->proto == proto && strcmp(cp->name, name) == 0)
			return cp->port;
	}
	return -ENOENT;
}
