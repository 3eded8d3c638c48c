// SPDX-License-Identifier: GPL-2.0

//! carp(4) for Linux: the Common Address Redundancy Protocol.
//!
//! `carpN` devices (`ip link add carp0 link eth0 type carp`) share virtual
//! IPv4/IPv6 addresses between hosts on one LAN, wire-compatible with
//! OpenBSD and ucarp.
//!
//! Layout: the pure protocol core, then one file per kernel facility; each
//! file only uses the ones listed after it (see
//! `Documentation/networking/carp-design.rst`).
//! - `carp.rs`: module init/exit.
//! - `carp_link.rs`: the link type (`rtnl_link_ops`, IFLA_INFO_DATA).
//! - `carp_netlink.rs`: the "carp" generic netlink family.
//! - `carp_notify.rs`: netdevice and address notifiers and validators.
//! - `carp_config.rs`: one configuration path for both netlink interfaces.
//! - `carp_netfilter.rs`: netfilter hooks (ARP output fix-up).
//! - `carp_rx.rs`: advertisements in (IP protocol 112).
//! - `carp_port.rs`: the lower device's port, its rx_handler, attach and
//!   detach, group demotion.
//! - `carp_timer.rs`: the hrtimer and the work item driving a device.
//! - `carp_dev.rs`: the net_device, its ops and the engine around the core.
//! - `carp_tx.rs`: advertisements out.
//! - `carp_events.rs`: the family's `events` multicast group.
//! - `carp_addr.rs`: a device's address lists.
//! - `carp_net.rs`, `carp_sysctl.rs`: per-namespace state, logging,
//!   statistics; sysctls.
//! - `carp_util.rs`, `carp_sys.rs`: small wrappers; raw bindings.
//! - `carp_proto.rs`, `carp_balance.rs`, `carp_sha1.rs`: the pure protocol
//!   core (no kernel types), also compiled and tested on the host.

// C-owned fields that change under readers are `Opaque<T>` or atomics,
// never written through a pointer cast from a shared reference.
#![deny(clippy::as_ptr_cast_mut)]

use kernel::prelude::*;

mod carp_addr;
pub mod carp_balance;
mod carp_config;
mod carp_dev;
mod carp_events;
mod carp_link;
mod carp_net;
mod carp_netfilter;
mod carp_netlink;
mod carp_notify;
mod carp_port;
pub mod carp_proto;
mod carp_rx;
pub mod carp_sha1;
mod carp_sys;
mod carp_sysctl;
mod carp_timer;
mod carp_tx;
mod carp_util;

module! {
    type: CarpModule,
    name: "carp",
    author: "carp for Linux developers",
    description: "Common Address Redundancy Protocol (carp(4))",
    license: "GPL",
    alias: ["rtnl-link-carp"],
}

/// The loaded module: what is registered with the kernel.
///
/// Fields drop in declaration order, the reverse of registration: the link
/// type first (which deletes every carp device), then the family, the
/// notifiers, the work queue (drained), the protocol handlers and the
/// per-namespace state.
struct CarpModule {
    _link: carp_link::Registration,
    _genl: carp_netlink::Registration,
    _notifier: carp_notify::Registration,
    _wq: carp_dev::Workqueue,
    _proto: carp_rx::ProtoRegistration,
    _net: carp_net::Registration,
}

impl kernel::Module for CarpModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // The per-netns state must exist before a device can be created,
        // so the link type is registered last.
        let net = carp_net::Registration::new()?;
        let proto = carp_rx::ProtoRegistration::new()?;
        let wq = carp_dev::Workqueue::new()?;
        let notifier = carp_notify::Registration::new()?;
        let genl = carp_netlink::Registration::new()?;
        let link = carp_link::Registration::new()?;
        pr_info!("Common Address Redundancy Protocol loaded\n");
        Ok(Self {
            _link: link,
            _genl: genl,
            _notifier: notifier,
            _wq: wq,
            _proto: proto,
            _net: net,
        })
    }
}

impl Drop for CarpModule {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
