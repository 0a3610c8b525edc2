/* pktinfo.h: a UDP answer that leaves from the address the datagram was
 * sent to. From a wildcard socket the kernel would pick the source the
 * route back prefers (for a link-local client, a pod's link-local address
 * once it has left DAD), and a client's connected socket drops an answer
 * from any address but the one it asked: UDP servers on hosts with several
 * addresses must answer this way. Used by netpol-probe and nft-ktest. */
#ifndef NETPOL_UTIL_PKTINFO_H
#define NETPOL_UTIL_PKTINFO_H

#include <netinet/in.h>
#include <sys/socket.h>

/* Turns the IP_PKTINFO / IPV6_PKTINFO control message that recvmsg put in
 * m (sockets with IP_PKTINFO / IPV6_RECVPKTINFO set) into the one sendmsg
 * needs to answer from that address; drops the control data otherwise. */
static inline void pktinfo_reply_from_destination(struct msghdr *m)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(m);

	if (c && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
		struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);

		pi->ipi_spec_dst = pi->ipi_addr;
		pi->ipi_ifindex = 0;
	} else if (c && c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
		((struct in6_pktinfo *)CMSG_DATA(c))->ipi6_ifindex = 0;
	} else {
		m->msg_control = NULL;
		m->msg_controllen = 0;
		return;
	}
	m->msg_controllen = c->cmsg_len;
}

#endif
