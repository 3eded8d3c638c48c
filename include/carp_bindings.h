/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What carp.ko uses from the kernel's C API: bindgen turns this header into
 * carp_bindings_generated.rs inside Kbuild, so the kernel tree stays
 * unpatched. Static inline functions are wrapped in carp_helpers.c.
 */
#include <linux/etherdevice.h>
#include <linux/hrtimer.h>
#include <linux/if_arp.h>
#include <linux/igmp.h>
#include <linux/inetdevice.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/random.h>
#include <linux/rtnetlink.h>
#include <linux/sysctl.h>
#include <net/addrconf.h>
#include <net/arp.h>
#include <net/genetlink.h>
#include <net/if_inet6.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ndisc.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/protocol.h>
#include <net/rtnetlink.h>

#include "carp_helpers.h"
#include "uapi/linux/carp.h"
#include "carp_nl_gen.h"
