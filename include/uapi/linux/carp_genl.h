/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/carp.yaml */
/* YNL-GEN uapi header */

#ifndef _UAPI_LINUX_CARP_GENL_H
#define _UAPI_LINUX_CARP_GENL_H

#define CARP_FAMILY_NAME	"carp"
#define CARP_FAMILY_VERSION	1

/**
 * enum carp_reason - Why a virtual host entry changed state.
 * @CARP_REASON_START: Came up (INIT to BACKUP).
 * @CARP_REASON_MASTER_DOWN: The master-down timer expired.
 * @CARP_REASON_PREEMPT: Preempted a less preferred master
 *   (net.inet.carp.preempt).
 * @CARP_REASON_MASTER_DEMOTED: The master is more demoted than this host.
 * @CARP_REASON_MASTER_TOO_SLOW: The master advertises more slowly than this
 *   host.
 * @CARP_REASON_BETTER_MASTER: A more preferred master advertised; this host
 *   steps down.
 * @CARP_REASON_USER: Forced by the administrator (state master or backup).
 * @CARP_REASON_STOPPED: Admin down, carpdev down, no address or no vhid.
 * @CARP_REASON_RESTART: Restarted after a configuration or address change.
 * @CARP_REASON_BOW_OUT: The master bowed out (an advertisement with advbase
 *   and advskew 255: it is going down); this host takes over at once.
 */
enum carp_reason {
	CARP_REASON_START,
	CARP_REASON_MASTER_DOWN,
	CARP_REASON_PREEMPT,
	CARP_REASON_MASTER_DEMOTED,
	CARP_REASON_MASTER_TOO_SLOW,
	CARP_REASON_BETTER_MASTER,
	CARP_REASON_USER,
	CARP_REASON_STOPPED,
	CARP_REASON_RESTART,
	CARP_REASON_BOW_OUT,
};

enum {
	CARP_A_DEV_IFINDEX = 1,
	CARP_A_DEV_IFNAME,
	CARP_A_DEV_CARPDEV,
	CARP_A_DEV_VHID,
	CARP_A_DEV_ADVSKEW,
	CARP_A_DEV_ADVBASE,
	CARP_A_DEV_PASS,
	CARP_A_DEV_PASS_SET,
	CARP_A_DEV_NODE,
	CARP_A_DEV_BALANCING,
	CARP_A_DEV_PEER,
	CARP_A_DEV_STATE,
	CARP_A_DEV_DEMOTE,
	CARP_A_DEV_OLD_STATE,
	CARP_A_DEV_REASON,
	CARP_A_DEV_STATS,
	CARP_A_DEV_PEER6,

	__CARP_A_DEV_MAX,
	CARP_A_DEV_MAX = (__CARP_A_DEV_MAX - 1)
};

enum {
	CARP_A_NODE_VHID = 1,
	CARP_A_NODE_ADVSKEW,
	CARP_A_NODE_STATE,
	CARP_A_NODE_ACCEPTED,
	CARP_A_NODE_DROPPED,
	CARP_A_NODE_ANSWERED,
	CARP_A_NODE_IGNORED,

	__CARP_A_NODE_MAX,
	CARP_A_NODE_MAX = (__CARP_A_NODE_MAX - 1)
};

enum {
	CARP_A_STATS_IPACKETS = 1,
	CARP_A_STATS_IPACKETS6,
	CARP_A_STATS_BADIF,
	CARP_A_STATS_BADTTL,
	CARP_A_STATS_HDROPS,
	CARP_A_STATS_BADSUM,
	CARP_A_STATS_BADVER,
	CARP_A_STATS_BADLEN,
	CARP_A_STATS_BADAUTH,
	CARP_A_STATS_BADVHID,
	CARP_A_STATS_BADADDRS,
	CARP_A_STATS_OPACKETS,
	CARP_A_STATS_OPACKETS6,
	CARP_A_STATS_ONOMEM,
	CARP_A_STATS_PREEMPT,
	CARP_A_STATS_ACCEPTED,

	__CARP_A_STATS_MAX,
	CARP_A_STATS_MAX = (__CARP_A_STATS_MAX - 1)
};

enum {
	CARP_A_GROUP_NAME = 1,
	CARP_A_GROUP_DEMOTE,
	CARP_A_GROUP_DEMOTE_USER,
	CARP_A_GROUP_DEMOTE_ADJUST,
	CARP_A_GROUP_DEMOTE_DOWN,
	CARP_A_GROUP_DEMOTE_SENDERR,

	__CARP_A_GROUP_MAX,
	CARP_A_GROUP_MAX = (__CARP_A_GROUP_MAX - 1)
};

enum {
	CARP_CMD_DEV_GET = 1,
	CARP_CMD_DEV_SET,
	CARP_CMD_STATS_GET,
	CARP_CMD_STATE_NTF,
	CARP_CMD_GROUP_GET,
	CARP_CMD_GROUP_SET,

	__CARP_CMD_MAX,
	CARP_CMD_MAX = (__CARP_CMD_MAX - 1)
};

#define CARP_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_CARP_GENL_H */
