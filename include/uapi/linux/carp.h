/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * carp(4) for Linux: userspace API.
 *
 * IFLA_INFO_DATA attributes of the "carp" link type. The generic netlink
 * family "carp" (see Documentation/netlink/specs/carp.yaml) comes with the
 * configuration interface.
 */
#ifndef _UAPI_LINUX_CARP_H
#define _UAPI_LINUX_CARP_H

#define CARP_LINK_KIND "carp"

enum {
	IFLA_CARP_UNSPEC,
	IFLA_CARP_VHID,		/* u32: 1..255 */
	IFLA_CARP_ADVSKEW,	/* u32: 0..254 */
	IFLA_CARP_ADVBASE,	/* u32: 0..254 */
	IFLA_CARP_STATE,	/* u32: enum carp_state, read only */
	__IFLA_CARP_MAX
};
#define IFLA_CARP_MAX (__IFLA_CARP_MAX - 1)

enum carp_state {
	CARP_STATE_INIT,
	CARP_STATE_BACKUP,
	CARP_STATE_MASTER,
};

#endif /* _UAPI_LINUX_CARP_H */
