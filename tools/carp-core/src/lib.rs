// SPDX-License-Identifier: GPL-2.0

//! The carp kernel module's pure protocol core, compiled on the host from the
//! very files the module builds (`#[path]`), for tests, fuzzing and tools.
#![no_std]

#[path = "../../../carp_sha1.rs"]
pub mod carp_sha1;

#[path = "../../../carp_balance.rs"]
pub mod carp_balance;

#[path = "../../../carp_proto.rs"]
pub mod carp_proto;
