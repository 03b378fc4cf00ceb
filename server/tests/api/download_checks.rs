//! A download link's check (`X-Khaosat-Check: 1`): the office asks first, so
//! that a refusal is said on the page rather than saved as a file, then
//! downloads. The check answers 204 without making the file, so each export
//! is made once per download, and it refuses whatever the download would.

use crate::helpers::{send, TestApp, TestResponse};
use axum::body::Body;
use axum::http::Request;
use server::api::exports::CHECK_HEADER;

async fn check(app: &TestApp, cookie: &str, uri: &str) -> TestResponse {
    send(
        &app.router,
        Request::get(uri)
            .header("cookie", cookie)
            .header(CHECK_HEADER, "1")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn every_export_is_checked_without_being_made(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let (admin, _) = app.login("quantri").await;
    let (inspector, _) = app.login("ksv1").await;
    let files = [
        (&boss, "/api/exports/visits.xlsx?district=213"),
        (&boss, "/api/exports/visits.csv?q=lo%20ren"),
        (&boss, "/api/exports/plan.xlsx?year=2020"),
        (&boss, "/api/exports/plan.csv?year=2020"),
        (
            &admin,
            "/api/forms/xlsform.xlsx?form_id=khuyen-cong&version=1",
        ),
        (&boss, "/api/registry/template.xlsx"),
        (&boss, "/api/registry/export.xlsx?year=2020"),
    ];
    for (who, uri) in files {
        let checked = check(&app, who, uri).await;
        assert_eq!(checked.status, 204, "{uri}: {}", checked.text());
        assert!(checked.body.is_empty(), "{uri}: a check carries no file");
        assert!(
            checked
                .headers
                .get(axum::http::header::CONTENT_DISPOSITION)
                .is_none(),
            "{uri}: a check names no file"
        );
        // The download itself still makes the file.
        let made = app.get(uri, Some(who)).await;
        assert_eq!(made.status, 200, "{uri}: {}", made.text());
        assert!(!made.body.is_empty(), "{uri}");
    }
    // What the download refuses, the check refuses, with the same answer.
    let refused = [
        (&inspector, "/api/exports/visits.xlsx", 403),
        (&inspector, "/api/exports/plan.csv?year=2020", 403),
        (
            &boss,
            "/api/forms/xlsform.xlsx?form_id=khuyen-cong&version=1",
            403,
        ),
        (&boss, "/api/exports/visits.csv?stat=approved", 400),
        (&boss, "/api/exports/visits.xlsx?from=2020-13-45", 422),
        (&boss, "/api/exports/plan.xlsx?year=next", 400),
        (
            &admin,
            "/api/forms/xlsform.xlsx?form_id=khuyen-cong&version=9",
            404,
        ),
    ];
    for (who, uri, status) in refused {
        let checked = check(&app, who, uri).await;
        let downloaded = app.get(uri, Some(who)).await;
        assert_eq!(checked.status, status, "{uri}: {}", checked.text());
        assert_eq!(downloaded.status, status, "{uri}: {}", downloaded.text());
        assert_eq!(
            checked.json()["code"],
            downloaded.json()["code"],
            "{uri}: the check says what the download would"
        );
    }
}

/// A browser asks for gzip; an XLSX and a ZIP are compressed already and go
/// as they are (gzip on a 4 GB ZIP of JPEGs took a core and gained nothing),
/// while a CSV, plain text, is still gzipped.
async fn files_compressed_already_are_not_gzipped_again(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let files = [
        ("/api/exports/visits.xlsx", None),
        ("/api/exports/plan.xlsx?year=2020", None),
        ("/api/exports/visit-photos.zip?district=213", None),
        ("/api/exports/visits.csv", Some("gzip")),
    ];
    for (uri, encoding) in files {
        let r = send(
            &app.router,
            Request::get(uri)
                .header("cookie", &boss)
                .header("accept-encoding", "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200, "{uri}: {}", r.text());
        assert_eq!(
            r.headers
                .get(axum::http::header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{uri}"
        );
    }
}

crate::engine_tests!(
    every_export_is_checked_without_being_made,
    files_compressed_already_are_not_gzipped_again,
);
