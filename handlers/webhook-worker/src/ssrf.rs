//! The SSRF guard: which addresses a webhook may be delivered to, checked at delivery time on every address
//! the endpoint's host resolves to (a DNS answer can change after the URL was registered, and one public answer
//! next to a private one is still a way in). The delivery then connects to a checked address only
//! (`powertools::http::HttpClient::send_pinned`), so no second lookup can answer differently.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why an address is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    /// `0.0.0.0/8` ("this network"), `::`.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918 (`10/8`, `172.16/12`, `192.168/16`), unique local `fc00::/7`, deprecated site-local `fec0::/10`.
    Private,
    /// `169.254.169.254` and `fd00:ec2::254`: the EC2 instance metadata service (credentials live there).
    Metadata,
    /// `169.254.0.0/16`, `fe80::/10` (also the ECS and Lambda-internal endpoints).
    LinkLocal,
    /// Shared address space `100.64.0.0/10` (RFC 6598, carrier-grade NAT; also used inside some VPC setups).
    SharedCgnat,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `240.0.0.0/4` including the broadcast address: never a unicast host.
    Reserved,
}

impl Range {
    /// Lowercase name for messages and logs.
    pub fn name(self) -> &'static str {
        match self {
            Range::Unspecified => "unspecified",
            Range::Loopback => "loopback",
            Range::Private => "private",
            Range::Metadata => "metadata",
            Range::LinkLocal => "link-local",
            Range::SharedCgnat => "shared address space (100.64.0.0/10)",
            Range::Multicast => "multicast",
            Range::Reserved => "reserved",
        }
    }
}

/// The refused range `ip` is in, `None` for an address a webhook may be delivered to.
pub fn refused_range(ip: IpAddr) -> Option<Range> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<Range> {
    let [a, b, _, _] = ip.octets();
    match (a, b) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => Some(Range::Metadata),
        (0, _) => Some(Range::Unspecified),
        (127, _) => Some(Range::Loopback),
        (10, _) | (192, 168) => Some(Range::Private),
        (172, b) if (16..=31).contains(&b) => Some(Range::Private),
        (169, 254) => Some(Range::LinkLocal),
        (100, b) if (64..=127).contains(&b) => Some(Range::SharedCgnat),
        (224..=239, _) => Some(Range::Multicast),
        (240..=255, _) => Some(Range::Reserved),
        _ => None,
    }
}

/// The IPv4 address embedded in an IPv6 address that reaches it: IPv4-mapped `::ffff:0:0/96`, the deprecated
/// IPv4-compatible `::/96`, NAT64 `64:ff9b::/96` (RFC 6052) and 6to4 `2002::/16` (RFC 3056).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let seg = ip.segments();
    let o = ip.octets();
    let low = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match seg {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        // `::` and `::1` are themselves, not 0.0.0.0 and 0.0.0.1.
        [0, 0, 0, 0, 0, 0, hi, _] if hi != 0 => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, _, _, _, _, _, _, _] => Some(Ipv4Addr::new(o[2], o[3], o[4], o[5])),
        _ => None,
    }
}

fn refused_v6(ip: Ipv6Addr) -> Option<Range> {
    if let Some(v4) = embedded_v4(ip) {
        return refused_v4(v4);
    }
    let first = ip.segments()[0];
    match () {
        _ if ip.is_unspecified() => Some(Range::Unspecified),
        _ if ip.is_loopback() => Some(Range::Loopback),
        _ if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => Some(Range::Metadata),
        _ if first & 0xfe00 == 0xfc00 => Some(Range::Private),
        _ if first & 0xffc0 == 0xfe80 => Some(Range::LinkLocal),
        _ if first & 0xffc0 == 0xfec0 => Some(Range::Private),
        _ if first & 0xff00 == 0xff00 => Some(Range::Multicast),
        _ => None,
    }
}

/// Why a delivery was not attempted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// The host resolves to (or is) an address in a refused range. Permanent: retrying resolves again, but an
    /// endpoint that pointed inside once is not to be trusted with the next event either.
    #[error("webhook host {host:?} resolves to {addr}, a {} address: only public addresses are called", range.name())]
    Refused { host: String, addr: IpAddr, range: Range },
    /// The URL has no host (cannot happen for a URL the API accepted).
    #[error("webhook url {0:?} has no host")]
    NoHost(String),
    /// The lookup failed or answered nothing. Transient: DNS may be back on the next attempt.
    #[error("webhook host {host:?} does not resolve: {reason}")]
    Unresolved { host: String, reason: String },
}

/// Resolves the host of `uri` (port from the URL, else the scheme's) and returns its addresses if every one is
/// allowed: not in a refused range, or listed in `allowed` (tests).
pub async fn vetted_addresses(uri: &http::Uri, allowed: &[IpAddr]) -> Result<Vec<SocketAddr>, GuardError> {
    let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| GuardError::NoHost(uri.to_string()))?;
    // IPv6 literals come bracketed; `lookup_host` takes them bare.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 });
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| GuardError::Unresolved { host: host.into(), reason: e.to_string() })?
        .collect();
    if addrs.is_empty() {
        return Err(GuardError::Unresolved { host: host.into(), reason: "no addresses".into() });
    }
    check(host, &addrs, allowed)?;
    Ok(addrs)
}

/// Refuses `addrs` if ANY of them is in a refused range and not in `allowed`.
pub fn check(host: &str, addrs: &[SocketAddr], allowed: &[IpAddr]) -> Result<(), GuardError> {
    for a in addrs {
        let ip = a.ip();
        if allowed.contains(&ip) {
            continue;
        }
        if let Some(range) = refused_range(ip) {
            return Err(GuardError::Refused { host: host.into(), addr: ip, range });
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn check(addr: &str, expected: Option<Range>) {
        let ip: IpAddr = addr.parse().unwrap();
        assert_eq!(refused_range(ip), expected, "{addr}");
    }

    #[test]
    fn ipv4_ranges() {
        use Range::*;
        for (addr, expected) in [
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Unspecified)),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("10.0.0.1", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("172.15.255.255", None),
            ("172.16.0.0", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.0", None),
            ("192.168.0.1", Some(Private)),
            ("192.169.0.1", None),
            ("169.254.169.254", Some(Metadata)),
            ("169.254.170.2", Some(LinkLocal)),
            ("169.254.0.1", Some(LinkLocal)),
            ("169.253.255.255", None),
            ("100.63.255.255", None),
            ("100.64.0.0", Some(SharedCgnat)),
            ("100.127.255.255", Some(SharedCgnat)),
            ("100.128.0.0", None),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.250", Some(Multicast)),
            ("240.0.0.1", Some(Reserved)),
            ("255.255.255.255", Some(Reserved)),
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("52.95.110.1", None),
            ("223.255.255.255", None),
        ] {
            check(addr, expected);
        }
    }

    #[test]
    fn ipv6_ranges() {
        use Range::*;
        for (addr, expected) in [
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("fd00:ec2::254", Some(Metadata)),
            ("fd00:ec2::253", Some(Private)),
            ("fc00::1", Some(Private)),
            ("fdff:ffff::1", Some(Private)),
            ("fe80::1", Some(LinkLocal)),
            ("febf::1", Some(LinkLocal)),
            ("fec0::1", Some(Private)),
            ("ff02::1", Some(Multicast)),
            ("2001:4860:4860::8888", None),
            ("2600:1f18::1", None),
            ("fbff::1", None),
        ] {
            check(addr, expected);
        }
    }

    #[test]
    fn ipv4_inside_ipv6_is_classified_as_ipv4() {
        use Range::*;
        for (addr, expected) in [
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:7f00:1", Some(Loopback)),
            ("::ffff:10.1.2.3", Some(Private)),
            ("::ffff:169.254.169.254", Some(Metadata)),
            ("::ffff:100.64.0.1", Some(SharedCgnat)),
            ("::ffff:0.0.0.0", Some(Unspecified)),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some(Loopback)),
            ("::192.168.1.1", Some(Private)),
            ("64:ff9b::a9fe:a9fe", Some(Metadata)),
            ("64:ff9b::8.8.8.8", None),
            ("2002:7f00:1::", Some(Loopback)),
            ("2002:c0a8:101::1", Some(Private)),
            ("2002:808:808::1", None),
        ] {
            check(addr, expected);
        }
    }

    fn sock(a: &str) -> SocketAddr {
        SocketAddr::new(a.parse().unwrap(), 443)
    }

    #[test]
    fn any_refused_address_refuses_the_host_unless_allowed() {
        let public_and_private = [sock("93.184.216.34"), sock("10.0.0.7")];
        assert_eq!(
            super::check("h", &public_and_private, &[]).unwrap_err().to_string(),
            "webhook host \"h\" resolves to 10.0.0.7, a private address: only public addresses are called"
        );
        assert_eq!(super::check("h", &public_and_private, &["10.0.0.7".parse().unwrap()]), Ok(()));
        assert_eq!(super::check("h", &[sock("93.184.216.34")], &[]), Ok(()));
        // Allowing 127.0.0.1 does not allow the rest of 127/8.
        assert!(super::check("h", &[sock("127.0.0.2")], &["127.0.0.1".parse().unwrap()]).is_err());
    }

    #[tokio::test]
    async fn literals_and_localhost_are_resolved_and_refused() {
        for url in [
            "https://127.0.0.1/x",
            "https://[::1]:8443/x",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::ffff:169.254.169.254]/",
            "https://localhost/",
            "https://0/",
        ] {
            let uri: http::Uri = url.parse().unwrap();
            let e = vetted_addresses(&uri, &[]).await.unwrap_err();
            assert!(matches!(e, GuardError::Refused { .. }), "{url}: {e}");
        }
        let uri: http::Uri = "http://127.0.0.1:8080/x".parse().unwrap();
        let ok = vetted_addresses(&uri, &["127.0.0.1".parse().unwrap()]).await.unwrap();
        assert_eq!(
            ok,
            vec![sock("127.0.0.1")]
                .into_iter()
                .map(|mut a| {
                    a.set_port(8080);
                    a
                })
                .collect::<Vec<_>>()
        );
    }
}
