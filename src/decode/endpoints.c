/* endpoints: an Endpoints object's subsets, validated as core's
 * ValidateEndpoints does. netpol does not model Endpoints (the daemon's
 * controller writes them for Services), but the API stores what clients
 * send, so it must be what the API server would have accepted. */
#include "decode_internal.h"

#include <sys/socket.h>

/* validateNonSpecialIP: addresses a Service may never send traffic to. */
static void special_ip(struct dctx *c, const struct doc_node *v, const char *s,
		       const struct np_ip *ip)
{
	const uint8_t *a = ip->addr;
	static const uint8_t zero[16];
	static const uint8_t loop6[16] = {[15] = 1};
	const char *why = NULL;
	if (ip->family == AF_INET) {
		if (memcmp(a, zero, 4) == 0)
			why = "may not be unspecified (0.0.0.0)";
		else if (a[0] == 127)
			why = "may not be in the loopback range (127.0.0.0/8, ::1/128)";
		else if (a[0] == 169 && a[1] == 254)
			why = "may not be in the link-local range (169.254.0.0/16, fe80::/10)";
		else if (a[0] == 224 && a[1] == 0 && a[2] == 0)
			why = "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)";
	} else {
		if (memcmp(a, zero, 16) == 0)
			why = "may not be unspecified (::)";
		else if (memcmp(a, loop6, 16) == 0)
			why = "may not be in the loopback range (127.0.0.0/8, ::1/128)";
		else if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
			why = "may not be in the link-local range (169.254.0.0/16, fe80::/10)";
		else if (a[0] == 0xff && (a[1] & 0x0f) == 0x02)
			why = "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)";
	}
	if (why)
		validate_invalid_str(c, v, NULL, s, NULL, why);
}

static void f_ep_ip(struct dctx *c, const struct doc_node *v, void *in)
{
	struct np_ip ip;
	const char *s = doc_string_of(c, v);
	(void)in;
	if (s && validate_ip(c, v, NULL, s, &ip))
		special_ip(c, v, s, &ip);
}

static void f_ep_hostname(struct dctx *c, const struct doc_node *v, void *in)
{
	const char *s = doc_string_of(c, v);
	(void)in;
	if (s && *s)
		validate_dns1123_label(c, v, NULL, s);
}

static void f_ep_node_name(struct dctx *c, const struct doc_node *v, void *in)
{
	const char *s = doc_string_of(c, v);
	(void)in;
	if (s && *s)
		validate_dns1123_subdomain(c, v, NULL, s);
}

static const struct field object_reference_fields[] = {
	{"kind", decode_f_string, NULL}, {"namespace", decode_f_string, NULL},
	{"name", decode_f_string, NULL}, {"uid", decode_f_string, NULL},
	{"apiVersion", decode_f_string, NULL}, {"resourceVersion", decode_f_string, NULL},
	{"fieldPath", decode_f_string, NULL}, {NULL, NULL, NULL},
};

static void f_ep_target_ref(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_walk(c, v, object_reference_fields, in);
}

static const struct field address_fields[] = {
	{"ip", f_ep_ip, NULL}, {"hostname", f_ep_hostname, NULL},
	{"nodeName", f_ep_node_name, NULL}, {"targetRef", f_ep_target_ref, NULL},
	{NULL, NULL, NULL},
};

static void f_ep_address(struct dctx *c, const struct doc_node *item, void *in)
{
	doc_walk(c, item, address_fields, in);
	const struct doc_node *ip = item->type == DOC_MAP ? doc_get(item, "ip") : NULL;
	if (item->type == DOC_MAP && (!ip || ip->type == DOC_NULL))
		validate_invalid_str(c, item, "ip", "", NULL,
				     "must be a valid IP address (e.g. 10.9.8.7 or 2001:db8::ffff)");
}

static void f_ep_addresses(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_ep_address, in);
}

struct eport_in {
	const struct doc_node *node, *name, *port, *proto;
};

#define EPORT_SETTER(fn, member)                                              \
	static void fn(struct dctx *c, const struct doc_node *v, void *in)    \
	{                                                                     \
		(void)c;                                                      \
		((struct eport_in *)in)->member = v;                          \
	}

EPORT_SETTER(f_epp_name, name)
EPORT_SETTER(f_epp_port, port)
EPORT_SETTER(f_epp_proto, proto)

static const struct field endpoint_port_fields[] = {
	{"name", f_epp_name, NULL}, {"port", f_epp_port, NULL}, {"protocol", f_epp_proto, NULL},
	{"appProtocol", decode_f_string, NULL}, {NULL, NULL, NULL},
};

/* validateEndpointPort; a missing protocol is TCP (defaulting). */
static void endpoint_port(struct dctx *c, const struct eport_in *p, bool need_name)
{
	const char *s;
	long long v;
	enum np_proto proto;
	size_t mark = dctx_push_key(c, "name");
	s = p->name ? doc_string_of(c, p->name) : "";
	if (s && !*s && need_name)
		validate_required(c, p->name ? p->name : p->node, NULL, NULL);
	else if (s && *s)
		validate_dns1123_label(c, p->name, NULL, s);
	dctx_pop(c, mark);
	mark = dctx_push_key(c, "port");
	if (!p->port)
		validate_required(c, p->node, NULL, NULL);
	else if (doc_want_int(c, p->port, &v) == 0)
		validate_port_number(c, p->port, NULL, v);
	dctx_pop(c, mark);
	mark = dctx_push_key(c, "protocol");
	if (p->proto && (s = doc_string_of(c, p->proto)))
		validate_protocol(c, p->proto, NULL, s, &proto);
	dctx_pop(c, mark);
}

static void duplicate_port_names(struct dctx *c, const struct eport_in *ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct doc_node *a = ps[i].name;
		if (!a || a->type != DOC_STRING || !*a->text)
			continue;
		for (size_t j = 0; j < i; j++) {
			const struct doc_node *b = ps[j].name;
			if (b && b->type == DOC_STRING && strcmp(a->text, b->text) == 0) {
				size_t mark = dctx_push_index(c, i);
				validate_duplicate(c, a, "name", a->text);
				dctx_pop(c, mark);
				break;
			}
		}
	}
}

static void f_ep_ports(struct dctx *c, const struct doc_node *v, void *in)
{
	(void)in;
	if (doc_want_seq(c, v) < 0 || v->type != DOC_SEQ || v->n == 0)
		return;
	struct eport_in *ps = calloc(v->n, sizeof(*ps));
	if (!ps) {
		dctx_oom(c);
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		size_t mark = dctx_push_index(c, i);
		ps[i].node = v->vals[i];
		size_t errors = c->nerrors;
		doc_walk(c, v->vals[i], endpoint_port_fields, &ps[i]);
		if (v->vals[i]->type == DOC_MAP && c->nerrors == errors)
			endpoint_port(c, &ps[i], v->n > 1);
		dctx_pop(c, mark);
	}
	duplicate_port_names(c, ps, v->n);
	free(ps);
}

static const struct field subset_fields[] = {
	{"addresses", f_ep_addresses, NULL}, {"notReadyAddresses", f_ep_addresses, NULL},
	{"ports", f_ep_ports, NULL}, {NULL, NULL, NULL},
};

static bool has_items(const struct doc_node *map, const char *key)
{
	const struct doc_node *v = doc_get(map, key);
	return v && v->type == DOC_SEQ && v->n > 0;
}

static void f_subset(struct dctx *c, const struct doc_node *item, void *in)
{
	doc_walk(c, item, subset_fields, in);
	if (item->type == DOC_MAP && !has_items(item, "addresses") &&
	    !has_items(item, "notReadyAddresses"))
		validate_required(c, item, NULL, "must specify `addresses` or `notReadyAddresses`");
}

void decode_f_endpoints_subsets(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_subset, in);
}
