use axum::extract::ConnectInfo;
use axum::http::Request;
use std::net::{IpAddr, SocketAddr};

/// The client's address as the rate limits and the audit trail see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

/// The TCP peer, unless the peer is a configured trusted proxy: then the
/// right-most address in `X-Forwarded-For` that is not itself a trusted proxy.
/// Without a trusted proxy the header is ignored: anyone can write it.
pub fn resolve<B>(request: &Request<B>, trusted_proxies: &[IpAddr]) -> ClientAddr {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical());
    let Some(peer) = peer else {
        return ClientAddr(None);
    };
    if !trusted_proxies.contains(&peer) {
        return ClientAddr(Some(peer));
    }
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    let client = forwarded
        .iter()
        .rev()
        .filter_map(|s| s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical()))
        .find(|ip| !trusted_proxies.contains(ip));
    ClientAddr(Some(client.unwrap_or(peer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, xff: Option<&str>) -> Request<()> {
        let mut builder = Request::builder();
        if let Some(xff) = xff {
            builder = builder.header("x-forwarded-for", xff);
        }
        let mut request = builder.body(()).unwrap();
        request.extensions_mut().insert(ConnectInfo(
            format!("{peer}:5000").parse::<SocketAddr>().unwrap(),
        ));
        request
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let forged = request("198.51.100.9", Some("203.0.113.7"));
        assert_eq!(
            resolve(&forged, &[proxy]).0,
            Some("198.51.100.9".parse().unwrap())
        );
        let proxied = request("10.0.0.1", Some("1.2.3.4, 203.0.113.7"));
        assert_eq!(
            resolve(&proxied, &[proxy]).0,
            Some("203.0.113.7".parse().unwrap())
        );
        let chained = request("10.0.0.1", Some("203.0.113.7, 10.0.0.1"));
        assert_eq!(
            resolve(&chained, &[proxy]).0,
            Some("203.0.113.7".parse().unwrap())
        );
        let bare = request("10.0.0.1", None);
        assert_eq!(resolve(&bare, &[proxy]).0, Some(proxy));
    }

    /// A dual-stack listener reports the IPv4 proxy as ::ffff:10.0.0.1.
    #[test]
    fn an_ipv4_mapped_peer_is_its_ipv4_address() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let proxied = request("[::ffff:10.0.0.1]", Some("::ffff:203.0.113.7"));
        assert_eq!(
            resolve(&proxied, &[proxy]).0,
            Some("203.0.113.7".parse().unwrap())
        );
        let direct = request("[::ffff:198.51.100.9]", Some("203.0.113.7"));
        assert_eq!(
            resolve(&direct, &[proxy]).0,
            Some("198.51.100.9".parse().unwrap())
        );
    }
}
