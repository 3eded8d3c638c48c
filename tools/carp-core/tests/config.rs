// SPDX-License-Identifier: GPL-2.0
//! Configuration validation: every rule and its message.

use carp_core::carp_balance::*;
use carp_core::carp_proto::*;

fn apply(u: ConfigUpdate<'_>) -> Result<Config, ConfigError> {
    Config::default().apply(&u)
}

fn err(u: ConfigUpdate<'_>) -> ConfigError {
    apply(u).unwrap_err()
}

#[test]
fn vhid_range() {
    assert_eq!(
        err(ConfigUpdate {
            vhid: Some(0),
            ..Default::default()
        })
        .attr,
        ConfigAttr::Vhid
    );
    assert_eq!(
        err(ConfigUpdate {
            vhid: Some(256),
            ..Default::default()
        })
        .text(),
        "vhid must be 1..255"
    );
    for v in [1, 128, 255] {
        let c = apply(ConfigUpdate {
            vhid: Some(v),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.nodes.unwrap().leader().vhid as u32, v);
    }
}

#[test]
fn advskew_and_advbase_ranges() {
    let e = err(ConfigUpdate {
        vhid: Some(1),
        advskew: Some(255),
        ..Default::default()
    });
    assert_eq!(
        (e.attr, e.text()),
        (ConfigAttr::Advskew, "advskew must be 0..254")
    );
    let e = err(ConfigUpdate {
        advskew: Some(5),
        ..Default::default()
    });
    assert_eq!(e.text(), "advskew needs a vhid");
    let e = err(ConfigUpdate {
        advbase: Some(255),
        ..Default::default()
    });
    assert_eq!(
        (e.attr, e.text()),
        (ConfigAttr::Advbase, "advbase must be 0..254")
    );
    let c = apply(ConfigUpdate {
        vhid: Some(3),
        advskew: Some(254),
        advbase: Some(0),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.advbase, 0);
    assert_eq!(c.nodes.unwrap().leader().advskew, 254);
    // Both ends of advbase's range.
    let c = c
        .apply(&ConfigUpdate {
            advbase: Some(254),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(c.advbase, 254);
}

#[test]
fn vhid_keeps_advskew_and_advskew_keeps_vhid() {
    let c = apply(ConfigUpdate {
        vhid: Some(3),
        advskew: Some(100),
        ..Default::default()
    })
    .unwrap();
    let c2 = c
        .apply(&ConfigUpdate {
            vhid: Some(9),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        c2.nodes.unwrap().leader(),
        Node {
            vhid: 9,
            advskew: 100
        }
    );
    let c3 = c2
        .apply(&ConfigUpdate {
            advskew: Some(7),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        c3.nodes.unwrap().leader(),
        Node {
            vhid: 9,
            advskew: 7
        }
    );
}

#[test]
fn carpnodes_rules() {
    let pairs: Vec<(u32, u32)> = (1..=33).map(|v| (v, 0)).collect();
    assert_eq!(
        err(ConfigUpdate {
            carpnodes: Some(&pairs),
            ..Default::default()
        })
        .text(),
        "too many carpnodes (at most 32)"
    );
    let ok = apply(ConfigUpdate {
        carpnodes: Some(&pairs[..32]),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(ok.count(), 32);
    assert_eq!(
        err(ConfigUpdate {
            carpnodes: Some(&[(1, 0), (1, 5)]),
            ..Default::default()
        })
        .text(),
        "duplicate vhid in carpnodes"
    );
    assert_eq!(
        err(ConfigUpdate {
            carpnodes: Some(&[(1, 255)]),
            ..Default::default()
        })
        .text(),
        "carpnodes advskew must be 0..254"
    );
    assert_eq!(
        err(ConfigUpdate {
            carpnodes: Some(&[(0, 1)]),
            ..Default::default()
        })
        .text(),
        "carpnodes vhid must be 1..255"
    );
    assert_eq!(
        err(ConfigUpdate {
            carpnodes: Some(&[]),
            ..Default::default()
        })
        .text(),
        "carpnodes list is empty"
    );
    let e = err(ConfigUpdate {
        vhid: Some(1),
        carpnodes: Some(&[(2, 0)]),
        ..Default::default()
    });
    assert_eq!(e.attr, ConfigAttr::Carpnodes);
}

#[test]
fn carpnodes_sorted_and_default_balancing() {
    let c = apply(ConfigUpdate {
        carpnodes: Some(&[(6, 100), (3, 0), (4, 0)]),
        ..Default::default()
    })
    .unwrap();
    let v: Vec<u8> = c.nodes.unwrap().as_slice().iter().map(|n| n.vhid).collect();
    assert_eq!(v, [3, 4, 6]);
    assert_eq!(
        c.nodes.unwrap().leader(),
        Node {
            vhid: 3,
            advskew: 0
        }
    );
    assert_eq!(
        c.balancing,
        Balancing::Ip,
        "several nodes default to ip balancing"
    );
    let c = apply(ConfigUpdate {
        carpnodes: Some(&[(1, 0), (2, 0)]),
        balancing: Some(4),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.balancing, Balancing::Arp);
}

#[test]
fn balancing_rules() {
    let e = err(ConfigUpdate {
        carpnodes: Some(&[(1, 0), (2, 0)]),
        balancing: Some(9),
        ..Default::default()
    });
    assert_eq!(e.attr, ConfigAttr::Balancing);
    assert!(e.text().starts_with("unknown balancing mode"));
    let e = err(ConfigUpdate {
        vhid: Some(1),
        balancing: Some(1),
        ..Default::default()
    });
    assert_eq!(e.text(), "balancing needs at least two carpnodes");
    for m in BALANCING_MODES {
        assert_eq!(Balancing::from_name(m.name()), Some(m));
        assert_eq!(Balancing::from_u32(m as u32), Some(m));
    }
    assert_eq!(
        Balancing::from_name("IP-Stealth"),
        Some(Balancing::IpStealth)
    );
    assert_eq!(Balancing::from_name("bogus"), None);
}

#[test]
fn pass_and_peer() {
    let e = err(ConfigUpdate {
        pass: Some(b"this pass is far too long"),
        ..Default::default()
    });
    assert_eq!(e.attr, ConfigAttr::Pass);
    let c = apply(ConfigUpdate {
        pass: Some(b"secret"),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.key.as_bytes(), b"secret");
    for bad in [[224, 0, 0, 18], [127, 0, 0, 1], [127, 9, 9, 9], [0; 4]] {
        let e = err(ConfigUpdate {
            peer: Some(Some(bad)),
            ..Default::default()
        });
        assert_eq!(e.attr, ConfigAttr::Peer);
        assert_eq!(
            e.text(),
            "carppeer must be a unicast IPv4 address, not loopback"
        );
    }
    let c = apply(ConfigUpdate {
        peer: Some(Some([192, 0, 2, 7])),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.peer, Some([192, 0, 2, 7]));
    let c = c
        .apply(&ConfigUpdate {
            peer: Some(None),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(c.peer, None);
    // IPv6 peers: unicast only; independent of the IPv4 one.
    let mut ll = [0u8; 16];
    ll[0] = 0xfe;
    ll[1] = 0x80;
    ll[15] = 2;
    let mut lo = [0u8; 16];
    lo[15] = 1;
    let mut mc = [0u8; 16];
    mc[0] = 0xff;
    mc[1] = 0x02;
    mc[15] = 0x12;
    for bad in [[0u8; 16], lo, mc] {
        let e = err(ConfigUpdate {
            peer6: Some(Some(bad)),
            ..Default::default()
        });
        assert_eq!(e.attr, ConfigAttr::Peer6);
        assert_eq!(
            e.text(),
            "carppeer must be a unicast IPv6 address, not loopback"
        );
    }
    // Global and link-local unicast peers, also ones ending in ::1.
    for last in [1, 2] {
        let mut g = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        g[15] = last;
        let mut low = [0u8; 16];
        low[15] = 2;
        for ok in [g, low] {
            let c = apply(ConfigUpdate {
                peer6: Some(Some(ok)),
                ..Default::default()
            });
            assert_eq!(c.map(|c| c.peer6), Ok(Some(ok)), "{ok:02x?}");
        }
    }
    let c = apply(ConfigUpdate {
        peer: Some(Some([192, 0, 2, 7])),
        peer6: Some(Some(ll)),
        ..Default::default()
    })
    .unwrap();
    assert_eq!((c.peer, c.peer6), (Some([192, 0, 2, 7]), Some(ll)));
    let c = c
        .apply(&ConfigUpdate {
            peer6: Some(None),
            ..Default::default()
        })
        .unwrap();
    assert_eq!((c.peer, c.peer6), (Some([192, 0, 2, 7]), None));
}

#[test]
fn error_leaves_config_unchanged() {
    let c = apply(ConfigUpdate {
        vhid: Some(5),
        pass: Some(b"x"),
        ..Default::default()
    })
    .unwrap();
    // A good field with a bad one: the whole update is refused, naming the
    // bad attribute (the glue points the extack at it).
    let e = c
        .apply(&ConfigUpdate {
            advbase: Some(3),
            advskew: Some(300),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(e.attr, ConfigAttr::Advskew);
    assert_eq!(e.text(), "advskew must be 0..254");
}

#[test]
fn carpnodes_text() {
    let n = Carpnodes::parse("3:0,4:0,6:100").unwrap();
    assert_eq!(n.len(), 3);
    assert_eq!(
        Carpnodes::parse("1:0,2:100").unwrap().leader(),
        Node {
            vhid: 1,
            advskew: 0
        }
    );
    assert_eq!(Carpnodes::parse("1"), Err(NodesError::Syntax));
    assert_eq!(Carpnodes::parse("1:x"), Err(NodesError::Syntax));
    assert_eq!(Carpnodes::parse(""), Err(NodesError::Syntax));
    assert_eq!(Carpnodes::parse("1:0,1:1"), Err(NodesError::Duplicate));
    assert_eq!(Carpnodes::parse("256:0"), Err(NodesError::BadVhid));
    assert_eq!(Carpnodes::parse(" 2 : 5 , 1:0 ").unwrap().leader().vhid, 1);
    let a = Carpnodes::parse("1:0,2:0,3:0").unwrap();
    let b = Carpnodes::parse("3:0,4:0").unwrap();
    assert_eq!(a.overlap(&b), Some(3));
    assert_eq!(a.overlap(&Carpnodes::parse("9:0").unwrap()), None);
}
