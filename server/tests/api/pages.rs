//! Server-rendered pages under concurrency: each page's reactive owner must
//! stay current while its handler is parked and resumed, whatever ran on the
//! thread in between (a 500 on `/login` after a logout, once in ten CI runs).

use crate::helpers::{send, TestApp};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};

const PAGES: usize = 200;

fn page(uri: &str, lang: &str) -> Request<Body> {
    Request::get(uri)
        .header("accept", "text/html")
        .header("cookie", format!("khaosat_lang={lang}"))
        .body(Body::empty())
        .unwrap()
}

/// The page's `<title>`, which Leptos writes after the body has rendered.
fn title(html: &str) -> &str {
    let start = html.find("<title>").expect("a title") + "<title>".len();
    &html[start..start + html[start..].find("</title>").unwrap()]
}

/// Many page loads at once on one thread: while one render is parked, others
/// start and finish, and leave their (dropped) owner as the thread's current
/// one. Every page must still render whole, with its title.
async fn pages_rendered_at_once_each_keep_their_own_owner(app: TestApp) {
    let lang = |i: usize| if i.is_multiple_of(2) { "vi" } else { "en" };
    let requests = (0..PAGES).map(|i| send(&app.router, page("/login", lang(i))));
    let answers = futures_util::future::join_all(requests).await;
    let failed: Vec<_> = answers
        .iter()
        .filter(|a| a.status != StatusCode::OK)
        .map(|a| (a.status, a.text().chars().take(200).collect::<String>()))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {PAGES} failed: {failed:?}",
        failed.len()
    );
    // A title written under another request's owner has its language.
    for (i, answer) in answers.iter().enumerate() {
        let html = answer.text();
        assert!(html.contains("<form"), "{html}");
        let expected = match lang(i) {
            "vi" => "Đăng nhập · Khảo sát khuyến công",
            _ => "Log in · Industrial-extension survey",
        };
        assert_eq!(title(&html), expected, "page {i}");
    }
}

crate::engine_tests!(pages_rendered_at_once_each_keep_their_own_owner);
