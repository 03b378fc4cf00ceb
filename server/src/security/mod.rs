//! The request guard and the response headers that every route goes through.
//!
//! Order of checks, for every request: a declared body over the route's limit
//! (413, before a byte is read or the session is looked up), authentication
//! (401), CSRF (403), then the handler parses the body (400/413/415) and
//! authorizes (403). The order matters: an anonymous caller learns nothing
//! about a route's body format or permissions, only its published size limit.

/// Who is calling from where: the TCP peer, or the forwarded client behind a
/// trusted proxy.
pub mod client_addr;
/// The Origin check for state-changing requests.
pub mod csrf;
/// Session, CSRF and password-change checks before any handler runs.
pub mod guard;
/// Content-Security-Policy (with hashes of the page's inline scripts) and the
/// other strict headers.
pub mod headers;
/// Each route's body size limit (413 from the declared length) and the
/// body inactivity timeout.
pub mod limits;
/// U+0000 in a server function's arguments, refused for both engines alike.
pub mod text;
