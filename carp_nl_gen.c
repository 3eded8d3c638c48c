// SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/carp.yaml */
/* YNL-GEN kernel source */

#include <net/netlink.h>
#include <net/genetlink.h>

#include "carp_nl_gen.h"

#include <uapi/linux/carp_genl.h>
#include <linux/carp.h>
#include <linux/carp.h>

/* Common nested types */
const struct nla_policy carp_node_nl_policy[CARP_A_NODE_TRANSITIONS + 1] = {
	[CARP_A_NODE_VHID] = NLA_POLICY_RANGE(NLA_U32, 1, 255),
	[CARP_A_NODE_ADVSKEW] = NLA_POLICY_MAX(NLA_U32, 254),
	[CARP_A_NODE_STATE] = NLA_POLICY_MAX(NLA_U32, 2),
	[CARP_A_NODE_ACCEPTED] = { .type = NLA_UINT, },
	[CARP_A_NODE_DROPPED] = { .type = NLA_UINT, },
	[CARP_A_NODE_ANSWERED] = { .type = NLA_UINT, },
	[CARP_A_NODE_IGNORED] = { .type = NLA_UINT, },
	[CARP_A_NODE_TRANSITIONS] = NLA_POLICY_NESTED(carp_transitions_nl_policy),
};

const struct nla_policy carp_transitions_nl_policy[CARP_A_TRANSITIONS_BOW_OUT + 1] = {
	[CARP_A_TRANSITIONS_START] = { .type = NLA_UINT, },
	[CARP_A_TRANSITIONS_MASTER_DOWN] = { .type = NLA_UINT, },
	[CARP_A_TRANSITIONS_PREEMPT] = { .type = NLA_UINT, },
	[CARP_A_TRANSITIONS_MASTER_DEMOTED] = { .type = NLA_UINT, },
	[CARP_A_TRANSITIONS_MASTER_TOO_SLOW] = { .type = NLA_UINT, },
	[CARP_A_TRANSITIONS_BETTER_MASTER] = { .type = NLA_UINT, },
	[CARP_A_TRANSITIONS_USER] = { .type = NLA_UINT, },
	[CARP_A_TRANSITIONS_STOPPED] = { .type = NLA_UINT, },
	[CARP_A_TRANSITIONS_RESTART] = { .type = NLA_UINT, },
	[CARP_A_TRANSITIONS_BOW_OUT] = { .type = NLA_UINT, },
};

/* CARP_CMD_DEV_GET - do */
static const struct nla_policy carp_dev_get_nl_policy[CARP_A_DEV_IFNAME + 1] = {
	[CARP_A_DEV_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[CARP_A_DEV_IFNAME] = { .type = NLA_NUL_STRING, .len = 15, },
};

/* CARP_CMD_DEV_SET - do */
static const struct nla_policy carp_dev_set_nl_policy[CARP_A_DEV_PEER6 + 1] = {
	[CARP_A_DEV_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[CARP_A_DEV_IFNAME] = { .type = NLA_NUL_STRING, .len = 15, },
	[CARP_A_DEV_CARPDEV] = { .type = NLA_U32, },
	[CARP_A_DEV_VHID] = NLA_POLICY_RANGE(NLA_U32, 1, 255),
	[CARP_A_DEV_ADVSKEW] = NLA_POLICY_MAX(NLA_U32, 254),
	[CARP_A_DEV_ADVBASE] = NLA_POLICY_MAX(NLA_U32, 254),
	[CARP_A_DEV_PASS] = { .type = NLA_BINARY, },
	[CARP_A_DEV_NODE] = NLA_POLICY_NESTED(carp_node_nl_policy),
	[CARP_A_DEV_BALANCING] = NLA_POLICY_MAX(NLA_U32, 4),
	[CARP_A_DEV_PEER] = { .type = NLA_U32, },
	[CARP_A_DEV_PEER6] = NLA_POLICY_EXACT_LEN(16),
	[CARP_A_DEV_STATE] = NLA_POLICY_MAX(NLA_U32, 2),
};

/* CARP_CMD_STATS_GET - do */
static const struct nla_policy carp_stats_get_nl_policy[CARP_A_DEV_IFNAME + 1] = {
	[CARP_A_DEV_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[CARP_A_DEV_IFNAME] = { .type = NLA_NUL_STRING, .len = 15, },
};

/* CARP_CMD_GROUP_GET - do */
static const struct nla_policy carp_group_get_nl_policy[CARP_A_GROUP_NAME + 1] = {
	[CARP_A_GROUP_NAME] = { .type = NLA_NUL_STRING, },
};

/* CARP_CMD_GROUP_SET - do */
static const struct nla_policy carp_group_set_nl_policy[CARP_A_GROUP_DEMOTE_ADJUST + 1] = {
	[CARP_A_GROUP_NAME] = { .type = NLA_NUL_STRING, },
	[CARP_A_GROUP_DEMOTE_USER] = NLA_POLICY_MAX(NLA_U32, 255),
	[CARP_A_GROUP_DEMOTE_ADJUST] = { .type = NLA_S32, },
};

/* Ops table for carp */
const struct genl_split_ops carp_nl_ops[6] = {
	{
		.cmd		= CARP_CMD_DEV_GET,
		.doit		= carp_nl_dev_get_doit,
		.policy		= carp_dev_get_nl_policy,
		.maxattr	= CARP_A_DEV_IFNAME,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd	= CARP_CMD_DEV_GET,
		.dumpit	= carp_nl_dev_get_dumpit,
		.flags	= GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= CARP_CMD_DEV_SET,
		.doit		= carp_nl_dev_set_doit,
		.policy		= carp_dev_set_nl_policy,
		.maxattr	= CARP_A_DEV_PEER6,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= CARP_CMD_STATS_GET,
		.doit		= carp_nl_stats_get_doit,
		.policy		= carp_stats_get_nl_policy,
		.maxattr	= CARP_A_DEV_IFNAME,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= CARP_CMD_GROUP_GET,
		.doit		= carp_nl_group_get_doit,
		.policy		= carp_group_get_nl_policy,
		.maxattr	= CARP_A_GROUP_NAME,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= CARP_CMD_GROUP_SET,
		.doit		= carp_nl_group_set_doit,
		.policy		= carp_group_set_nl_policy,
		.maxattr	= CARP_A_GROUP_DEMOTE_ADJUST,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
};

static const struct genl_multicast_group carp_nl_mcgrps[] = {
	[CARP_NLGRP_EVENTS] = { "events", },
};
