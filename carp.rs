// SPDX-License-Identifier: GPL-2.0

//! carp(4) for Linux: the Common Address Redundancy Protocol.
//!
//! `carpN` devices (`ip link add carp0 link eth0 type carp`) share virtual
//! IPv4/IPv6 addresses between hosts on one LAN, wire-compatible with
//! OpenBSD and ucarp.
//!
//! Layout (one file per concern):
//! - `carp.rs`: module init/exit, nothing else.
//! - `carp_dev.rs`: the net_device, its `rtnl_link_ops`, the per-lower-device
//!   port and the netdevice notifier.
//! - `carp_net.rs`: per-network-namespace state, logging, demotion.
//! - `carp_netlink.rs`: the "carp" generic netlink family (tables
//!   generated from its YNL spec into `carp_nl_gen.c`).
//! - `carp_sysctl.rs`: `net.inet.carp.*`.
//! - `carp_tx.rs` / `carp_rx.rs`: advertisements out and in; the lower
//!   device's rx_handler (virtual MAC, ARP/NDP for the virtual addresses).
//! - `carp_proto.rs`, `carp_balance.rs`, `carp_sha1.rs`: the pure protocol
//!   core (no kernel types), also compiled and tested on the host.
//! - `carp_sys.rs`: raw bindings (generated in Kbuild) and C helpers.

use kernel::prelude::*;

pub mod carp_balance;
mod carp_dev;
mod carp_net;
mod carp_netlink;
pub mod carp_proto;
mod carp_rx;
pub mod carp_sha1;
mod carp_sys;
mod carp_sysctl;
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
/// type first (which deletes every carp device), then the notifier, then the
/// per-netns state.
struct CarpModule {
    _link: carp_dev::LinkRegistration,
    _genl: carp_netlink::Registration,
    _notifier: carp_dev::NotifierRegistration,
    _proto: carp_rx::ProtoRegistration,
    _net: carp_net::Registration,
}

impl kernel::Module for CarpModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // The per-netns state must exist before a device can be created,
        // so the link type is registered last.
        let net = carp_net::Registration::new()?;
        let proto = carp_rx::ProtoRegistration::new()?;
        let notifier = carp_dev::NotifierRegistration::new()?;
        let genl = carp_netlink::Registration::new()?;
        let link = carp_dev::LinkRegistration::new()?;
        pr_info!("carp: Common Address Redundancy Protocol loaded\n");
        Ok(Self {
            _net: net,
            _notifier: notifier,
            _proto: proto,
            _genl: genl,
            _link: link,
        })
    }
}

impl Drop for CarpModule {
    fn drop(&mut self) {
        pr_info!("carp: unloaded\n");
    }
}
