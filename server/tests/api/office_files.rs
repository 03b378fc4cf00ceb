//! What the office's files hold when the data is busy or alike: a visits
//! export is the list at one moment, every word of a search counts, and a
//! photos ZIP gives each proposal its own folder under its unit, also on the
//! 2025 tree that the plan names by bare commune code.
//!
//! One file (about 510 lines): each test builds the data an office file is
//! made from (proposals, visits, uploaded photos) with the helpers above, and
//! reads the file back whole.

use crate::console::download;
use crate::helpers::TestApp;
use crate::phone::{statuses, Phone};
use crate::security::{call, ok};
use app::office::review::contract::VisitQuery;
use serde_json::{json, Value};
use std::io::Read;

/// A facility and a 2026 proposal titled `title` in phường Đa Mai (which
/// ksv1's Bắc Giang city holds); the proposal's ID.
async fn proposal(app: &TestApp, boss: &str, facility: &str, title: &str) -> String {
    let id = ok(&call(
        app,
        boss,
        "save_facility",
        json!({"draft": {"id": null, "name": facility, "owner_name": "Nguyễn Văn Tư",
            "address": "thôn Đông", "unit": "bac-ninh-2025/07228", "industry_group": "handicrafts",
            "phone": "", "tax_code": "", "main_products": "mây tre đan"}}),
    )
    .await);
    let created = ok(&call(
        app,
        boss,
        "create_proposal",
        json!({"proposal": {"facility_id": id, "year": 2026, "unit": "bac-ninh-2025/07228",
            "title": title, "support_kind": "machinery", "requested_amount": 50_000_000}}),
    )
    .await);
    created.as_str().unwrap().to_string()
}

/// ksv1's visit of `proposal`; its ID.
async fn visit(app: &TestApp, phone: &mut Phone, proposal: &str) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let m = phone.new_visit(&id, proposal, json!({"workforce": 6}));
    assert_eq!(statuses(&phone.push_ok(app, &[m]).await), ["applied"]);
    id
}

async fn the_list_is_exported_as_it_was_when_the_export_began(app: TestApp) {
    app::store::seed::bulk(&app.db, "213", 260, 2021)
        .await
        .unwrap();
    app::store::seed::bulk_visits(&app.db, "ksv1", 260, 2021)
        .await
        .unwrap();
    let row = sqlx::query("SELECT id FROM users WHERE username = 'giamsat'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let boss =
        app::store::users::info_by_id(&app.db, &app::store::col::<String>(&row, "id").unwrap())
            .await
            .unwrap()
            .unwrap();
    // Newest first, the list's default: more than one page of the export.
    let query = VisitQuery::default();
    let mut before = Vec::new();
    app::store::console::for_each_page(&app.db, &boss, &query, |page| {
        before.extend(page.into_iter().map(|v| v.id));
        async { Ok(()) }
    })
    .await
    .unwrap();
    let per_page = app::office::review::contract::MAX_PER_PAGE as usize;
    assert!(before.len() > per_page, "{} visits", before.len());
    let last = before.last().unwrap().clone();

    // While the first page is written, the oldest visit is received again
    // (a phone resends it) and moves to the top of the list.
    let mut during = Vec::new();
    let mut moved = false;
    app::store::console::for_each_page(&app.db, &boss, &query, |page| {
        during.extend(page.into_iter().map(|v| v.id));
        let first = !moved;
        moved = true;
        let (db, last) = (app.db.clone(), last.clone());
        async move {
            if first {
                sqlx::query("UPDATE visits SET received_at = $1 WHERE id = $2")
                    .bind(app::store::now_ms() + 60_000)
                    .bind(&last)
                    .execute(&db.pool)
                    .await?;
            }
            Ok(())
        }
    })
    .await
    .unwrap();
    assert_eq!(
        during, before,
        "each visit once, in the order it began with"
    );
}

async fn every_word_of_a_search_counts(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let mut phone = Phone::login(&app, "ksv1").await;
    // Two demo-like titles that share their first eleven words.
    let common = "Hỗ trợ ứng dụng máy móc thiết bị tiên tiến vào sản xuất";
    let boiler = proposal(
        &app,
        &boss,
        "Công ty Hòa Phát",
        &format!("{common} nồi hơi công nghiệp"),
    )
    .await;
    let noodles = proposal(
        &app,
        &boss,
        "Cơ sở bánh đa Kế",
        &format!("{common} bánh đa nem"),
    )
    .await;
    let boiler_visit = visit(&app, &mut phone, &boiler).await;
    visit(&app, &mut phone, &noodles).await;

    let whole = format!("{common} nồi hơi công nghiệp");
    let page = ok(&call(&app, &boss, "search_visits", json!({"query": {"q": whole}})).await);
    let found: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(found, [boiler_visit.as_str()]);
    // The export of that search holds that visit alone.
    let csv = download(
        &app,
        &boss,
        &format!(
            "/api/exports/visits.csv?q={}",
            app::office::query_value(&whole)
        ),
        "text/csv",
    )
    .await;
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains(&boiler_visit));

    // Past the limit the search is refused, not cut.
    let long: Vec<String> = (0..=app::store::console::MAX_SEARCH_WORDS)
        .map(|i| format!("tu{i}"))
        .collect();
    let r = call(
        &app,
        &boss,
        "search_visits",
        json!({"query": {"q": long.join(" ")}}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["code"], "console.too_many_words");
    // A folder name of the photos ZIP, pasted: the dash is no word.
    let pasted = format!("Công ty Hòa Phát - {common} nồi hơi công nghiệp");
    let page = ok(&call(
        &app,
        &boss,
        "search_visits",
        json!({"query": {"q": pasted}}),
    )
    .await);
    assert_eq!(page["total"], 1, "{page}");
    // Repeated words are one word.
    let repeated = vec!["nồi"; 100].join(" ");
    let page = ok(&call(
        &app,
        &boss,
        "search_visits",
        json!({"query": {"q": repeated}}),
    )
    .await);
    assert_eq!(page["total"], 1);
}

async fn two_proposals_alike_get_two_folders_under_their_commune(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let mut f = crate::uploads::field(&app, "ksv1").await;
    let title = "Đào tạo nghề mây tre đan";
    let mut sent = Vec::new();
    for facility in ["Cơ sở mây tre Hà", "Cơ sở mây tre Đông"] {
        let p = proposal(&app, &boss, facility, title).await;
        f.visit = visit(&app, &mut f.phone, &p).await;
        let bytes = crate::uploads::marked_jpeg(48, 32);
        let id = f.attach(&app, &bytes, json!({})).await;
        let r = f.upload(&app, &id, &bytes, 1 << 20).await;
        assert_eq!(r.status, 204, "{}", r.text());
        sent.push((facility, id));
    }

    // The plan of 2026 links its commune rows by bare code and year: the
    // code is the 2025 tree's, not 2020's unit of the same number.
    let bytes = download(
        &app,
        &boss,
        "/api/exports/photos.zip?district=07228&year=2026",
        "application/zip",
    )
    .await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut manifest = String::new();
    zip.by_name("manifest.json")
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["count"], 2, "{manifest}");
    let mut folders = Vec::new();
    for (facility, id) in &sent {
        let file = manifest["photos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["photo_id"] == id.as_str())
            .unwrap()["file"]
            .as_str()
            .unwrap()
            .to_string();
        let (folder, name) = file.rsplit_once('/').unwrap();
        assert_eq!(folder, format!("phường Đa Mai/{facility} - {title}"));
        assert!(name.starts_with("001-"), "{file}");
        folders.push(folder.to_string());
    }
    // In Vietnamese order: Đông before Hà.
    let order: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    assert!(order[0].starts_with(&folders[1]), "{order:?}");
    assert!(order[1].starts_with(&folders[0]), "{order:?}");
}

/// The photos of a facility found on site belong to no proposal and no plan
/// row: the review list's photo export, with the list's filters, takes them.
async fn the_lists_photos_include_a_facility_found_on_site(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let mut f = crate::uploads::field(&app, "ksv1").await;
    let bytes = crate::uploads::marked_jpeg(40, 30);
    let with_proposal = f.attach(&app, &bytes, json!({})).await;
    assert_eq!(
        f.upload(&app, &with_proposal, &bytes, 1 << 20).await.status,
        204
    );
    let facility = uuid::Uuid::now_v7().to_string();
    let found = f.phone.mutation(
        "facility",
        "upsert",
        &facility,
        json!({
            "name": "Lò rèn Đông Sơn", "district_code": "213", "industry_group": "mechanical"
        }),
        0,
    );
    f.visit = uuid::Uuid::now_v7().to_string();
    let v = f.phone.mutation(
        "visit",
        "upsert",
        &f.visit,
        json!({
            "form_id": "khuyen-cong", "form_version": 1, "facility_id": facility, "workforce": 3
        }),
        0,
    );
    assert_eq!(
        statuses(&f.phone.push_ok(&app, &[found, v]).await),
        ["applied", "applied"]
    );
    let on_site = f.attach(&app, &bytes, json!({"caption": "Lò rèn"})).await;
    assert_eq!(f.upload(&app, &on_site, &bytes, 1 << 20).await.status, 204);

    let manifest = |bytes: Vec<u8>| {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut text = String::new();
        zip.by_name("manifest.json")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        let manifest: Value = serde_json::from_str(&text).unwrap();
        manifest["photos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["photo_id"].as_str().unwrap().to_string(),
                    p["file"].as_str().unwrap().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let all = manifest(
        download(
            &app,
            &boss,
            "/api/exports/visit-photos.zip?district=213",
            "application/zip",
        )
        .await,
    );
    let ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
    assert!(
        ids.contains(&on_site.as_str()) && ids.contains(&with_proposal.as_str()),
        "{all:?}"
    );
    let (_, file) = all.iter().find(|(id, _)| *id == on_site).unwrap();
    assert!(
        file.starts_with("thành phố Bắc Giang/Lò rèn Đông Sơn/001-Lò rèn-"),
        "{file}"
    );
    // The list's filters hold: a search for the facility takes its photo alone.
    let one = manifest(
        download(
            &app,
            &boss,
            "/api/exports/visit-photos.zip?q=lo%20ren%20dong%20son",
            "application/zip",
        )
        .await,
    );
    assert_eq!(
        one.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        [on_site.as_str()]
    );
    // A download link's check: 204 and no archive made; the refusals stay.
    let checked = crate::helpers::send(
        &app.router,
        axum::http::Request::get("/api/exports/visit-photos.zip?district=213")
            .header("cookie", &boss)
            .header(server::api::exports::CHECK_HEADER, "1")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(checked.status, 204);
    assert!(checked.body.is_empty());
    // A misspelt filter is refused, not taken for "the whole list".
    for uri in [
        "/api/exports/visit-photos.zip?distrct=213",
        "/api/exports/visits.xlsx?q=lo&bogus=1",
        "/api/exports/visits.csv?stat=approved",
    ] {
        let r = app.get(uri, Some(&boss)).await;
        assert_eq!(r.status, 400, "{uri}: {}", r.text());
        assert!(
            r.text().contains("unknown parameter"),
            "{uri}: {}",
            r.text()
        );
    }
    // An inspector is refused.
    let r = app
        .get("/api/exports/visit-photos.zip", Some(&f.phone.cookie))
        .await;
    assert_eq!(r.status, 403);
}

/// A photo of the scope that the ZIP cannot hold is not left out unsaid: the
/// manifest lists it under `not_included` and a note beside it says, in the
/// office's words, why and what to do (the review list counts it).
async fn a_zip_names_the_photos_it_does_not_hold(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let mut f = crate::uploads::field(&app, "ksv1").await;
    let jpeg = crate::uploads::marked_jpeg(40, 30);
    let held = f.attach(&app, &jpeg, json!({})).await;
    assert_eq!(f.upload(&app, &held, &jpeg, 1 << 20).await.status, 204);
    // Attached, its bytes never sent.
    let other = crate::uploads::marked_jpeg(44, 30);
    let waiting = f
        .attach(&app, &other, json!({"caption": "Máy dệt\nkhổ lớn"}))
        .await;
    // Sent whole, but not an image.
    let junk = b"not a photo at all, only text".repeat(8);
    let bad = f.attach(&app, &junk, json!({})).await;
    assert_eq!(f.upload(&app, &bad, &junk, 1 << 20).await.status, 204);

    let bytes = download(
        &app,
        &boss,
        "/api/exports/visit-photos.zip?district=213",
        "application/zip",
    )
    .await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut read = |name: &str| {
        let mut text = String::new();
        zip.by_name(name)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    let manifest: Value = serde_json::from_str(&read("manifest.json")).unwrap();
    let note = read(server::exports::LEFT_OUT_NOTE);
    let files: Vec<&str> = manifest["photos"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["visit_id"] == f.visit.as_str())
        .map(|p| p["photo_id"].as_str().unwrap())
        .collect();
    assert_eq!(files, [held.as_str()], "{manifest}");
    let held_file = manifest["photos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["photo_id"] == held.as_str())
        .unwrap()["file"]
        .as_str()
        .unwrap()
        .to_string();
    let folder = held_file.rsplit_once('/').unwrap().0;
    let left_out = manifest["not_included"].as_array().unwrap();
    let reason = |id: &str| {
        let entry = left_out
            .iter()
            .find(|p| p["photo_id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed: {manifest}"));
        // Filed where its proposal's photos are.
        assert_eq!(entry["folder"], folder, "{entry}");
        entry["reason"].as_str().unwrap().to_string()
    };
    assert_eq!(reason(&waiting), "waiting");
    assert_eq!(reason(&bad), "not_an_image");
    assert_eq!(
        manifest["count"],
        manifest["photos"].as_array().unwrap().len()
    );
    // The note names each one by its folder, the end of its ID and why.
    let line = |id: &str| {
        note.lines()
            .find(|l| l.contains(&id[id.len() - 8..]))
            .unwrap_or_else(|| panic!("{id} not in the note:\n{note}"))
            .to_string()
    };
    let waiting_line = line(&waiting);
    assert!(
        waiting_line.starts_with(&format!("{folder}/")),
        "{waiting_line}"
    );
    // A caption's line break stays inside its one line.
    assert!(waiting_line.contains("\"Máy dệt khổ lớn\""), "{note}");
    assert!(
        waiting_line.contains("điện thoại chưa gửi xong ảnh"),
        "{waiting_line}"
    );
    // The pipeline's verdict in the note's words, not its JSON.
    let bad_line = line(&bad);
    assert!(bad_line.contains("không phải ảnh dùng được"), "{note}");
    assert!(
        !bad_line.contains('{') && !bad_line.contains("photo.not_an_image"),
        "{bad_line}"
    );
    assert_eq!(note.lines().count(), 2 + left_out.len(), "{note}");
    assert!(!note.contains(&held[held.len() - 8..]), "{note}");

    // A ZIP that holds every photo of its scope has no note.
    let all_held = download(
        &app,
        &boss,
        &format!(
            "/api/exports/photos.zip?proposal={}",
            crate::helpers::demo_proposal("223")
        ),
        "application/zip",
    )
    .await;
    let zip = zip::ZipArchive::new(std::io::Cursor::new(all_held)).unwrap();
    assert!(zip.index_for_name(server::exports::LEFT_OUT_NOTE).is_none());
}

/// Each photo ZIP reads a district's originals into a file of up to 4 GB,
/// and finishes when its download is dropped: past a few at once the next is
/// told to come back (503, Retry-After); once one is done it is made.
async fn photo_zips_past_the_few_at_once_are_told_to_come_back(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let url = "/api/exports/visit-photos.zip?district=213";
    let running = app
        .state
        .runtime
        .photo_zips
        .clone()
        .try_acquire_many_owned(app::state::Runtime::MAX_PHOTO_ZIPS as u32)
        .unwrap();
    let r = app.get(url, Some(&boss)).await;
    crate::security::expect_error(&r, 503, "server.busy");
    assert_eq!(r.headers["retry-after"], "60");
    drop(running);
    download(&app, &boss, url, "application/zip").await;
    assert_eq!(
        app.state.runtime.photo_zips.available_permits(),
        app::state::Runtime::MAX_PHOTO_ZIPS
    );
}

crate::engine_tests!(
    photo_zips_past_the_few_at_once_are_told_to_come_back,
    a_zip_names_the_photos_it_does_not_hold,
    the_lists_photos_include_a_facility_found_on_site,
    the_list_is_exported_as_it_was_when_the_export_began,
    every_word_of_a_search_counts,
    two_proposals_alike_get_two_folders_under_their_commune,
);
