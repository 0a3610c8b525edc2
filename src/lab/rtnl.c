/* rtnetlink primitives with libmnl: the few link, address, route and
 * neighbour operations the lab needs, each one request answered by an ACK.
 * A socket belongs to the namespace it was opened in, so rtnl_open enters
 * the target namespace just long enough to create it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "lab/lab_internal.h"

struct rtnl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
};

int rtnl_open(int netns_fd, struct rtnl **out)
{
	struct rtnl *nl = calloc(1, sizeof(*nl));
	int saved = -1, rc = 0;

	*out = NULL;
	if (!nl)
		return -ENOMEM;
	if (netns_fd >= 0) {
		rc = netns_enter(netns_fd, &saved);
		if (rc < 0)
			goto cleanup;
	}
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		rc = -errno;
	else if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		rc = -errno;
	netns_leave(saved);
	if (rc < 0)
		goto cleanup;
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned int)time(NULL);
	*out = nl;
	return 0;
cleanup:
	rtnl_close(nl);
	return rc;
}

void rtnl_close(struct rtnl *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl);
}

/* Sends the request and reads until its ACK (or error); data messages go
 * to cb. */
static int rtnl_talk(struct rtnl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int seq = ++nl->seq;
	ssize_t n;
	int rc;

	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, seq, nl->portid, cb, data);
		if (rc < 0)
			return -errno;
		if (rc == MNL_CB_STOP)
			return 0;
	}
}

static struct nlmsghdr *rtnl_msg(char *buf, int type, int flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

static int link_index_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	*(int *)data = ifi->ifi_index;
	return MNL_CB_OK;
}

int rtnl_link_index(struct rtnl *nl, const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = rtnl_msg(buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int index = 0, rc;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	rc = rtnl_talk(nl, nlh, link_index_cb, &index);
	if (rc < 0)
		return rc;
	return index > 0 ? index : -ENODEV;
}

int rtnl_link_up(struct rtnl *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = rtnl_msg(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return rtnl_talk(nl, nlh, NULL, NULL);
}

int rtnl_link_del(struct rtnl *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = rtnl_msg(buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return rtnl_talk(nl, nlh, NULL, NULL);
}

int rtnl_veth_create(struct rtnl *nl, const char *name, const uint8_t *mac,
		     const char *peer, const uint8_t *peer_mac, int peer_netns_fd)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = rtnl_msg(buf, RTM_NEWLINK,
					NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct nlattr *linkinfo, *data, *peer_attr;
	struct ifinfomsg *pifi;

	/* Created up. The peer cannot be: it is opened before the pair is
	 * joined, and a veth without its peer refuses to open (ENOTCONN). */
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer_attr = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, peer_attr);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return rtnl_talk(nl, nlh, NULL, NULL);
}

static int addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

int rtnl_addr_add(struct rtnl *nl, int ifindex, int family, const void *addr,
		  int prefixlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = rtnl_msg(buf, RTM_NEWADDR,
					NLM_F_CREATE | NLM_F_REPLACE);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	/* A pod's address is its own from the start: no IPv6 DAD delay. */
	ifa->ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	mnl_attr_put(nlh, IFA_LOCAL, addr_len(family), addr);
	mnl_attr_put(nlh, IFA_ADDRESS, addr_len(family), addr);
	return rtnl_talk(nl, nlh, NULL, NULL);
}

static struct nlmsghdr *route_msg(char *buf, int type, int flags, int family,
				  const void *dst, int dst_len, int ifindex,
				  struct rtmsg **rtm_out)
{
	struct nlmsghdr *nlh = rtnl_msg(buf, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)dst_len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	if (dst && dst_len > 0)
		mnl_attr_put(nlh, RTA_DST, addr_len(family), dst);
	if (ifindex > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	*rtm_out = rtm;
	return nlh;
}

int rtnl_route_add(struct rtnl *nl, int family, const void *dst, int dst_len,
		   const void *gw, int ifindex, bool onlink)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rtmsg *rtm;
	struct nlmsghdr *nlh = route_msg(buf, RTM_NEWROUTE,
					 NLM_F_CREATE | NLM_F_REPLACE, family,
					 dst, dst_len, ifindex, &rtm);

	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, addr_len(family), gw);
	else
		rtm->rtm_scope = RT_SCOPE_LINK;
	if (onlink)
		rtm->rtm_flags |= RTNH_F_ONLINK;
	return rtnl_talk(nl, nlh, NULL, NULL);
}

int rtnl_route_local(struct rtnl *nl, int family, const void *dst, int dst_len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rtmsg *rtm;

	route_msg(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, family, dst,
		  dst_len, 1 /* lo */, &rtm);
	rtm->rtm_type = RTN_LOCAL;
	rtm->rtm_table = RT_TABLE_LOCAL;
	rtm->rtm_scope = RT_SCOPE_HOST;
	return rtnl_talk(nl, (struct nlmsghdr *)buf, NULL, NULL);
}

int rtnl_route_del(struct rtnl *nl, int family, const void *dst, int dst_len,
		   int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rtmsg *rtm;
	struct nlmsghdr *nlh = route_msg(buf, RTM_DELROUTE, 0, family, dst,
					 dst_len, ifindex, &rtm);

	rtm->rtm_scope = RT_SCOPE_NOWHERE;
	return rtnl_talk(nl, nlh, NULL, NULL);
}

int rtnl_neigh_add(struct rtnl *nl, int ifindex, int family, const void *addr,
		   const uint8_t mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = rtnl_msg(buf, RTM_NEWNEIGH,
					NLM_F_CREATE | NLM_F_REPLACE);
	struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));

	nd->ndm_family = (uint8_t)family;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_PERMANENT;
	mnl_attr_put(nlh, NDA_DST, addr_len(family), addr);
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	return rtnl_talk(nl, nlh, NULL, NULL);
}
