/* conntrack: cutting the established flows that policy now denies
 * (--cut-denied-connections), over ctnetlink with libmnl.
 *
 * The table is dumped first and the condemned entries are deleted after,
 * one request each: deleting while the kernel walks the dump would disturb
 * it. An entry that went away meanwhile (ENOENT) is no error.
 */
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One conntrack entry, enough to judge it and to name it for deletion. */
struct ct_entry {
	int family;
	uint8_t proto;
	struct np_ip osrc, odst, rsrc;
	uint16_t osport, odport, rsport;   /* network order */
};

struct ct_list {
	struct ct_entry *v;
	size_t n, cap;
};

struct tuple {
	struct np_ip src, dst;
	uint8_t proto;
	uint16_t sport, dport;
	bool has_ports;
};

static int nested_attrs(const struct nlattr *nest, const struct nlattr **tb, int max)
{
	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	const struct nlattr *a;
	mnl_attr_for_each_nested(a, nest) {
		int t = mnl_attr_get_type(a);
		if (t <= max)
			tb[t] = a;
	}
	return 0;
}

static void take_ip(const struct nlattr *a, int family, struct np_ip *out)
{
	out->family = family;
	memcpy(out->addr, mnl_attr_get_payload(a), family == AF_INET ? 4 : 16);
}

static bool parse_tuple(const struct nlattr *nest, int family, struct tuple *t)
{
	const struct nlattr *tb[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1], *pr[CTA_PROTO_MAX + 1];
	memset(t, 0, sizeof(*t));
	nested_attrs(nest, tb, CTA_TUPLE_MAX);
	if (!tb[CTA_TUPLE_IP] || !tb[CTA_TUPLE_PROTO])
		return false;
	nested_attrs(tb[CTA_TUPLE_IP], ip, CTA_IP_MAX);
	nested_attrs(tb[CTA_TUPLE_PROTO], pr, CTA_PROTO_MAX);
	int s = family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC;
	int d = family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST;
	if (!ip[s] || !ip[d] || !pr[CTA_PROTO_NUM])
		return false;
	take_ip(ip[s], family, &t->src);
	take_ip(ip[d], family, &t->dst);
	t->proto = mnl_attr_get_u8(pr[CTA_PROTO_NUM]);
	if (pr[CTA_PROTO_SRC_PORT] && pr[CTA_PROTO_DST_PORT]) {
		t->sport = mnl_attr_get_u16(pr[CTA_PROTO_SRC_PORT]);
		t->dport = mnl_attr_get_u16(pr[CTA_PROTO_DST_PORT]);
		t->has_ports = true;
	}
	return true;
}

static int on_entry(const struct nlmsghdr *nlh, void *data)
{
	struct ct_list *l = data;
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *orig = NULL, *reply = NULL;
	int family = g->nfgen_family;
	struct tuple o, r;
	if (family != AF_INET && family != AF_INET6)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*g)) {
		if (mnl_attr_get_type(a) == CTA_TUPLE_ORIG)
			orig = a;
		else if (mnl_attr_get_type(a) == CTA_TUPLE_REPLY)
			reply = a;
	}
	if (!orig || !reply || !parse_tuple(orig, family, &o) || !parse_tuple(reply, family, &r) ||
	    !o.has_ports || !r.has_ports ||
	    (o.proto != IPPROTO_TCP && o.proto != IPPROTO_UDP && o.proto != IPPROTO_SCTP))
		return MNL_CB_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct ct_entry *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return MNL_CB_ERROR;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct ct_entry){family, o.proto, o.src, o.dst, r.src,
					 o.sport, o.dport, r.sport};
	return MNL_CB_OK;
}

static struct nlmsghdr *ct_header(char *buf, uint16_t type, uint16_t flags, int family,
				  uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = (uint8_t)family;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return nlh;
}

/* Sends nlh and reads answers until done; cb may be NULL. */
static int talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = nlh->nlmsg_seq, port = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		int r = mnl_cb_run(buf, (size_t)n, seq, port, cb, data);
		if (r < 0)
			return -errno;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static void put_tuple(struct nlmsghdr *nlh, const struct ct_entry *e)
{
	struct nlattr *t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	size_t len = e->family == AF_INET ? 4 : 16;
	mnl_attr_put(nlh, e->family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, len, e->osrc.addr);
	mnl_attr_put(nlh, e->family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST, len, e->odst.addr);
	mnl_attr_nest_end(nlh, ip);
	struct nlattr *pr = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, e->proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, e->osport);
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, e->odport);
	mnl_attr_nest_end(nlh, pr);
	mnl_attr_nest_end(nlh, t);
}

static int delete_entry(struct mnl_socket *nl, const struct ct_entry *e, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = ct_header(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, e->family, seq);
	put_tuple(nlh, e);
	int err = talk(nl, nlh, NULL, NULL);
	return err == -ENOENT ? 0 : err;
}

/* Opens a ctnetlink socket in netns: a socket stays in the namespace it
 * was made in, so only its creation happens inside. */
static int open_in(const char *netns, struct mnl_socket **out)
{
	int self = -1, target = -1, err = 0;
	*out = NULL;
	if (netns) {
		if ((self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0 ||
		    (target = open(netns, O_RDONLY | O_CLOEXEC)) < 0 || setns(target, CLONE_NEWNET) < 0) {
			err = -errno;
			goto cleanup;
		}
	}
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		if (nl)
			mnl_socket_close(nl);
	} else {
		*out = nl;
	}
	if (netns && setns(self, CLONE_NEWNET) < 0 && !err)
		err = -errno;
cleanup:
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	if (err && *out) {
		mnl_socket_close(*out);
		*out = NULL;
	}
	return err;
}

int agent_ct_strict_tcp(const char *netns)
{
	int self = -1, target = -1, fd = -1, err = 0;
	if (netns && ((self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0 ||
		      (target = open(netns, O_RDONLY | O_CLOEXEC)) < 0 ||
		      setns(target, CLONE_NEWNET) < 0)) {
		err = -errno;
		goto cleanup;
	}
	/* /proc/sys/net shows the namespace of the thread that opens it */
	fd = open("/proc/sys/net/netfilter/nf_conntrack_tcp_loose", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0\n", 2) != 2)
		err = -errno;
	if (netns && setns(self, CLONE_NEWNET) < 0 && !err)
		err = -errno;
cleanup:
	if (fd >= 0)
		close(fd);
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	return err;
}

static void entry_flow(const struct ct_entry *e, struct agent_flow *f)
{
	f->src = e->osrc;
	f->dst = e->rsrc;   /* after DNAT: who really answers */
	f->port.port = ntohs(e->rsport);
	f->port.proto = e->proto == IPPROTO_TCP ? NP_TCP : e->proto == IPPROTO_UDP ? NP_UDP : NP_SCTP;
}

int agent_ct_cut(const char *netns, agent_ct_judge_fn judge, void *ctx, size_t *cut)
{
	struct mnl_socket *nl = NULL;
	struct ct_list l = {0};
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = (uint32_t)time(NULL);
	int err = open_in(netns, &nl);
	*cut = 0;
	if (err < 0)
		return err;
	struct nlmsghdr *nlh = ct_header(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC, seq);
	if ((err = talk(nl, nlh, on_entry, &l)) < 0)
		goto cleanup;
	for (size_t i = 0; i < l.n; i++) {
		struct agent_flow f;
		entry_flow(&l.v[i], &f);
		if (!judge(ctx, &f))
			continue;
		if ((err = delete_entry(nl, &l.v[i], ++seq)) < 0)
			goto cleanup;
		(*cut)++;
	}
cleanup:
	free(l.v);
	mnl_socket_close(nl);
	return err;
}
