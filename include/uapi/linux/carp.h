/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * carp(4) for Linux: userspace API.
 *
 * IFLA_INFO_DATA attributes of the "carp" link type: set on create
 * (ip link add ... type carp) or later (RTM_NEWLINK on the device, as
 * changelink), reported by RTM_GETLINK. A request is validated as a whole;
 * on any error nothing changes and the extack message names the problem.
 */
#ifndef _UAPI_LINUX_CARP_H
#define _UAPI_LINUX_CARP_H

#include <linux/types.h>

#define CARP_LINK_KIND "carp"

enum {
	IFLA_CARP_UNSPEC,
	IFLA_CARP_VHID,		/* u32: 1..255, a single node */
	IFLA_CARP_ADVSKEW,	/* u32: 0..254, the first node's skew */
	IFLA_CARP_ADVBASE,	/* u32: 0..254 seconds */
	IFLA_CARP_STATE,	/* u32: enum carp_state; set: force MASTER/BACKUP */
	IFLA_CARP_PASS,		/* binary, at most 19 bytes; never reported */
	IFLA_CARP_CARPNODES,	/* binary: struct carp_node[1..32] */
	IFLA_CARP_BALANCING,	/* u32: enum carp_balancing */
	IFLA_CARP_PEER,		/* be32 IPv4 unicast peer; 0 = 224.0.0.18 */
	IFLA_CARP_DEMOTE,	/* u32: namespace demotion counter, read only */
	IFLA_CARP_NODE_STATES,	/* binary: u8 enum carp_state per node, read only */
	IFLA_CARP_PEER6,	/* binary in6_addr: IPv6 unicast peer; :: = ff02::12 */
	__IFLA_CARP_MAX
};
#define IFLA_CARP_MAX (__IFLA_CARP_MAX - 1)

struct carp_node {
	__u8 vhid;
	__u8 advskew;
};

enum carp_state {
	CARP_STATE_INIT,
	CARP_STATE_BACKUP,
	CARP_STATE_MASTER,
};

enum carp_balancing {
	CARP_BALANCING_NONE,
	CARP_BALANCING_IP,
	CARP_BALANCING_IP_STEALTH,
	CARP_BALANCING_IP_UNICAST,
	CARP_BALANCING_ARP,
};

#endif /* _UAPI_LINUX_CARP_H */
