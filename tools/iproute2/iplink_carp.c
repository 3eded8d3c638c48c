/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iplink_carp.c	CARP (carp(4), Common Address Redundancy Protocol) devices
 *
 * ip link add NAME [link DEV] type carp [vhid N] [advskew N] [advbase N]
 *	[pass PASS] [carpnodes V:S,...] [balancing MODE]
 *	[carppeer ADDR | nocarppeer] [state { master | backup }]
 *
 * Built into ip, or as the plugin link_carp.so that ip loads from
 * $IP_LIB_DIR (scripts/build-iproute2.sh).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/carp.h>

#include "rt_names.h"
#include "utils.h"
#include "ip_common.h"

#define CARP_MAX_NODES	32
#define CARP_MAX_PASS	19

static const char * const carp_balancing_names[] = {
	[CARP_BALANCING_NONE]		= "none",
	[CARP_BALANCING_IP]		= "ip",
	[CARP_BALANCING_IP_STEALTH]	= "ip-stealth",
	[CARP_BALANCING_IP_UNICAST]	= "ip-unicast",
	[CARP_BALANCING_ARP]		= "arp",
};

static const char * const carp_state_names[] = {
	[CARP_STATE_INIT]	= "INIT",
	[CARP_STATE_BACKUP]	= "BACKUP",
	[CARP_STATE_MASTER]	= "MASTER",
};

static void print_explain(FILE *f)
{
	fprintf(f,
		"Usage: ... carp [ vhid VHID ] [ advskew ADVSKEW ] [ advbase ADVBASE ]\n"
		"		 [ pass PASS ] [ carpnodes VHID:ADVSKEW[,VHID:ADVSKEW...] ]\n"
		"		 [ balancing MODE ] [ carppeer ADDR | nocarppeer ]\n"
		"		 [ state { master | backup } ]\n"
		"\n"
		"Where: VHID := 1-255\n"
		"       ADVSKEW := 0-254 (1/256 s added to advbase; higher is less preferred)\n"
		"       ADVBASE := 0-254 (seconds between advertisements)\n"
		"       PASS := at most %d bytes\n"
		"       MODE := { none | ip | ip-stealth | ip-unicast | arp }\n"
		"       ADDR := a unicast IPv4 or IPv6 address on the carpdev's link\n"
		"       carpnodes: one entry per host of a load-balanced group, at most %d\n",
		CARP_MAX_PASS, CARP_MAX_NODES);
}

static void explain(void)
{
	print_explain(stderr);
}

static __u32 carp_number(const char *what, const char *arg, __u32 min,
			 __u32 max)
{
	__u32 v;

	if (get_u32(&v, arg, 0) || v < min || v > max) {
		char msg[64];

		snprintf(msg, sizeof(msg), "%s must be %u-%u", what, min, max);
		invarg(msg, arg);
	}
	return v;
}

static int carp_parse_nodes(const char *arg, struct carp_node *nodes)
{
	char *copy = strdup(arg), *item, *save = NULL;
	int n = 0;

	if (!copy)
		return -1;
	for (item = strtok_r(copy, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':');

		if (!colon || n == CARP_MAX_NODES) {
			free(copy);
			invarg(n == CARP_MAX_NODES ?
			       "at most 32 carpnodes" :
			       "carpnodes must be VHID:ADVSKEW[,VHID:ADVSKEW...]",
			       arg);
		}
		*colon = '\0';
		nodes[n].vhid = carp_number("carpnodes vhid", item, 1, 255);
		nodes[n].advskew = carp_number("carpnodes advskew", colon + 1,
					       0, 254);
		n++;
	}
	free(copy);
	if (n == 0)
		invarg("carpnodes must not be empty", arg);
	return n;
}

static int carp_parse_opt(struct link_util *lu, int argc, char **argv,
			  struct nlmsghdr *n)
{
	struct carp_node nodes[CARP_MAX_NODES];
	__u32 v;

	while (argc > 0) {
		if (strcmp(*argv, "vhid") == 0) {
			NEXT_ARG();
			v = carp_number("vhid", *argv, 1, 255);
			addattr32(n, 1024, IFLA_CARP_VHID, v);
		} else if (strcmp(*argv, "advskew") == 0) {
			NEXT_ARG();
			v = carp_number("advskew", *argv, 0, 254);
			addattr32(n, 1024, IFLA_CARP_ADVSKEW, v);
		} else if (strcmp(*argv, "advbase") == 0) {
			NEXT_ARG();
			v = carp_number("advbase", *argv, 0, 254);
			addattr32(n, 1024, IFLA_CARP_ADVBASE, v);
		} else if (strcmp(*argv, "pass") == 0) {
			NEXT_ARG();
			if (strlen(*argv) > CARP_MAX_PASS)
				invarg("pass must be at most 19 bytes", *argv);
			addattr_l(n, 1024, IFLA_CARP_PASS, *argv, strlen(*argv));
		} else if (strcmp(*argv, "carpnodes") == 0) {
			int count;

			NEXT_ARG();
			count = carp_parse_nodes(*argv, nodes);
			if (count < 0)
				return -1;
			addattr_l(n, 1024, IFLA_CARP_CARPNODES, nodes,
				  count * sizeof(nodes[0]));
		} else if (strcmp(*argv, "balancing") == 0) {
			__u32 mode;

			NEXT_ARG();
			for (mode = 0; mode < ARRAY_SIZE(carp_balancing_names);
			     mode++)
				if (strcmp(*argv, carp_balancing_names[mode]) == 0)
					break;
			if (mode == ARRAY_SIZE(carp_balancing_names))
				invarg("balancing must be none, ip, ip-stealth, ip-unicast or arp",
				       *argv);
			addattr32(n, 1024, IFLA_CARP_BALANCING, mode);
		} else if (strcmp(*argv, "carppeer") == 0) {
			struct in_addr a;
			struct in6_addr a6;

			NEXT_ARG();
			if (inet_pton(AF_INET, *argv, &a) == 1) {
				if (IN_MULTICAST(ntohl(a.s_addr)) || a.s_addr == 0)
					invarg("carppeer must be a unicast address",
					       *argv);
				addattr_l(n, 1024, IFLA_CARP_PEER, &a.s_addr, 4);
			} else if (inet_pton(AF_INET6, *argv, &a6) == 1) {
				if (IN6_IS_ADDR_MULTICAST(&a6) ||
				    IN6_IS_ADDR_UNSPECIFIED(&a6) ||
				    IN6_IS_ADDR_LOOPBACK(&a6))
					invarg("carppeer must be a unicast address",
					       *argv);
				addattr_l(n, 1024, IFLA_CARP_PEER6, &a6, 16);
			} else {
				invarg("carppeer must be an IPv4 or IPv6 address",
				       *argv);
			}
		} else if (strcmp(*argv, "nocarppeer") == 0) {
			struct in6_addr any = {};

			addattr32(n, 1024, IFLA_CARP_PEER, 0);
			addattr_l(n, 1024, IFLA_CARP_PEER6, &any, 16);
		} else if (strcmp(*argv, "state") == 0) {
			NEXT_ARG();
			if (strcmp(*argv, "master") == 0)
				v = CARP_STATE_MASTER;
			else if (strcmp(*argv, "backup") == 0)
				v = CARP_STATE_BACKUP;
			else
				invarg("state must be master or backup", *argv);
			addattr32(n, 1024, IFLA_CARP_STATE, v);
		} else if (strcmp(*argv, "help") == 0) {
			explain();
			return -1;
		} else {
			fprintf(stderr, "carp: unknown option \"%s\"?\n", *argv);
			explain();
			return -1;
		}
		argc--, argv++;
	}

	return 0;
}

static const char *carp_state_name(__u32 s)
{
	return s < ARRAY_SIZE(carp_state_names) ? carp_state_names[s] : "?";
}

static void carp_print_opt(struct link_util *lu, FILE *f, struct rtattr *tb[])
{
	const struct carp_node *nodes = NULL;
	const __u8 *states = NULL;
	int count = 0, nstates = 0, i;

	if (!tb)
		return;

	if (tb[IFLA_CARP_STATE])
		print_string(PRINT_ANY, "state", "%s ",
			     carp_state_name(rta_getattr_u32(tb[IFLA_CARP_STATE])));
	if (tb[IFLA_CARP_CARPNODES]) {
		nodes = RTA_DATA(tb[IFLA_CARP_CARPNODES]);
		count = RTA_PAYLOAD(tb[IFLA_CARP_CARPNODES]) / sizeof(*nodes);
	}
	if (tb[IFLA_CARP_NODE_STATES]) {
		states = RTA_DATA(tb[IFLA_CARP_NODE_STATES]);
		nstates = RTA_PAYLOAD(tb[IFLA_CARP_NODE_STATES]);
	}
	if (count <= 1) {
		if (tb[IFLA_CARP_VHID])
			print_uint(PRINT_ANY, "vhid", "vhid %u ",
				   rta_getattr_u32(tb[IFLA_CARP_VHID]));
		if (tb[IFLA_CARP_ADVBASE])
			print_uint(PRINT_ANY, "advbase", "advbase %u ",
				   rta_getattr_u32(tb[IFLA_CARP_ADVBASE]));
		if (tb[IFLA_CARP_ADVSKEW])
			print_uint(PRINT_ANY, "advskew", "advskew %u ",
				   rta_getattr_u32(tb[IFLA_CARP_ADVSKEW]));
	} else if (tb[IFLA_CARP_ADVBASE]) {
		print_uint(PRINT_ANY, "advbase", "advbase %u ",
			   rta_getattr_u32(tb[IFLA_CARP_ADVBASE]));
	}
	if (tb[IFLA_CARP_BALANCING]) {
		__u32 m = rta_getattr_u32(tb[IFLA_CARP_BALANCING]);

		print_string(PRINT_ANY, "balancing", "balancing %s ",
			     m < ARRAY_SIZE(carp_balancing_names) ?
			     carp_balancing_names[m] : "?");
	}
	if (tb[IFLA_CARP_PEER] && rta_getattr_u32(tb[IFLA_CARP_PEER])) {
		char buf[INET_ADDRSTRLEN];
		__u32 a = rta_getattr_u32(tb[IFLA_CARP_PEER]);

		print_string(PRINT_ANY, "carppeer", "carppeer %s ",
			     inet_ntop(AF_INET, &a, buf, sizeof(buf)));
	}
	if (tb[IFLA_CARP_PEER6] && RTA_PAYLOAD(tb[IFLA_CARP_PEER6]) == 16) {
		char buf[INET6_ADDRSTRLEN];

		print_string(PRINT_ANY, "carppeer6", "carppeer %s ",
			     inet_ntop(AF_INET6, RTA_DATA(tb[IFLA_CARP_PEER6]),
				       buf, sizeof(buf)));
	}
	if (tb[IFLA_CARP_DEMOTE])
		print_uint(PRINT_ANY, "demote", "demote %u ",
			   rta_getattr_u32(tb[IFLA_CARP_DEMOTE]));
	if (count > 1) {
		open_json_array(PRINT_JSON, "carpnodes");
		for (i = 0; i < count; i++) {
			print_nl();
			open_json_object(NULL);
			print_string(PRINT_FP, NULL, "%s", "    carpnode ");
			print_string(PRINT_ANY, "state", "state %s ",
				     i < nstates ? carp_state_name(states[i]) : "?");
			print_uint(PRINT_ANY, "vhid", "vhid %u ", nodes[i].vhid);
			print_uint(PRINT_ANY, "advskew", "advskew %u ",
				   nodes[i].advskew);
			close_json_object();
		}
		close_json_array(PRINT_JSON, NULL);
	}
}

static void carp_print_help(struct link_util *lu, int argc, char **argv,
			    FILE *f)
{
	print_explain(f);
}

struct link_util carp_link_util = {
	.id		= "carp",
	.maxattr	= IFLA_CARP_MAX,
	.parse_opt	= carp_parse_opt,
	.print_opt	= carp_print_opt,
	.print_help	= carp_print_help,
};
