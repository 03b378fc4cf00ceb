//! Bootstrap and demo data. The unit tree and the default form are loaded on
//! every start (idempotent); the demo's people, facilities and proposals only
//! into an empty database started with `--demo`.

use super::{catalog, forms, units, users, Db};
use crate::error::AppError;
use crate::forms::FormDefinition;
use crate::model::{Facility, Proposal, Role};
use serde::Deserialize;

pub const UNITS_BAC_GIANG_2020: &str = include_str!("../../../data/units/bac-giang-2020.json");
pub const DEFAULT_FORM: &str = include_str!("../../../data/forms/khuyen-cong-v1.json");
pub const DEMO_BAC_GIANG_2020: &str = include_str!("../../../data/demo/bac-giang-2020.json");
pub const DEMO_BAC_NINH_2026: &str = include_str!("../../../data/demo/bac-ninh-2026.json");
/// The real unit files (`data/units/SOURCES.md`): the demo loads both trees.
pub const UNITS_2020_FILE: &[u8] = include_bytes!("../../../data/units/vn-2020-bac-giang.csv");
pub const UNITS_2025_FILE: &[u8] = include_bytes!("../../../data/units/vn-2025-bac-ninh.csv");
pub const MAPPING_2020_2025_FILE: &[u8] =
    include_bytes!("../../../data/units/bac-giang-2020-to-2025.csv");

#[derive(Deserialize)]
struct DemoFile {
    password: String,
    users: Vec<DemoUser>,
    facilities: Vec<Facility>,
    proposals: Vec<DemoProposal>,
}

/// The demo's second year, on the 2025 tree.
#[derive(Deserialize)]
struct DemoYear {
    year: i32,
    tree: String,
    facilities: Vec<Facility>,
    proposals: Vec<DemoYearProposal>,
}

#[derive(Deserialize)]
struct DemoYearProposal {
    id: String,
    facility_id: String,
    commune_code: String,
    title: String,
    support_kind: String,
    requested_amount: i64,
}

#[derive(Deserialize)]
struct DemoUser {
    username: String,
    display_name: String,
    roles: Vec<Role>,
    units: Vec<String>,
}

#[derive(Deserialize)]
struct DemoProposal {
    id: String,
    year: i32,
    district_code: String,
    facility_id: String,
    title: String,
    support_kind: String,
    requested_amount: i64,
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, src: &str) -> Result<T, AppError> {
    serde_json::from_str(src).map_err(|e| AppError::Internal(format!("{what} is not valid: {e}")))
}

/// Loads the administrative units and the default form.
pub async fn bootstrap(db: &Db) -> Result<(), AppError> {
    if units::count(db).await? == 0 {
        units::load_tree(
            db,
            &parse("data/units/bac-giang-2020.json", UNITS_BAC_GIANG_2020)?,
        )
        .await?;
    }
    // The built-in form seeds an empty database only: once it exists, its versions
    // are the administrators' (uploaded on /admin/forms), never the binary's.
    let form: FormDefinition = parse("data/forms/khuyen-cong-v1.json", DEFAULT_FORM)?;
    if !forms::exists(db, &form.id).await? {
        forms::publish(db, &form).await?;
    }
    Ok(())
}

/// Loads the demo into an empty database; returns false when there were users already.
pub async fn demo(db: &Db) -> Result<bool, AppError> {
    if users::count(db).await? > 0 {
        return Ok(false);
    }
    let demo: DemoFile = parse("data/demo/bac-giang-2020.json", DEMO_BAC_GIANG_2020)?;
    for year in demo
        .proposals
        .iter()
        .map(|p| p.year)
        .collect::<std::collections::BTreeSet<_>>()
    {
        super::years::ensure_open(db, year, "bac-giang-2020").await?;
    }
    let mut tx = db.begin_write().await?;
    for f in &demo.facilities {
        catalog::upsert_facility(&mut tx, f).await?;
    }
    for p in &demo.proposals {
        let proposal = Proposal {
            id: p.id.clone(),
            year: p.year,
            unit_tree: String::new(),
            district_code: Some(p.district_code.clone()),
            commune_code: None,
            facility_id: p.facility_id.clone(),
            title: p.title.clone(),
            support_kind: p.support_kind.clone(),
            requested_amount: p.requested_amount,
            status: "registered".into(),
            form_id: None,
            form_version: None,
        };
        catalog::upsert_proposal(&mut tx, &proposal).await?;
    }
    tx.commit().await?;
    demo_second_year(db).await?;
    for u in &demo.users {
        users::create(
            db,
            users::NewUser {
                username: &u.username,
                display_name: &u.display_name,
                password: &demo.password,
                roles: &u.roles,
                units: &u.units,
            },
        )
        .await?;
    }
    Ok(true)
}

/// Both real unit trees with their mapping, and 2026 opened on the 2025 tree
/// with a handful of proposals, some at facilities registered in 2020: the
/// running demo exercises both trees.
async fn demo_second_year(db: &Db) -> Result<(), AppError> {
    use crate::office::units::import::{import_mapping, import_tree, ImportError};
    let failed = |what: &str, e: ImportError| AppError::Internal(format!("{what}: {e:?}"));
    import_tree(db, "bac-giang-2020", "2020-01-01", UNITS_2020_FILE)
        .await
        .map_err(|e| failed("data/units/vn-2020-bac-giang.csv", e))?;
    import_tree(db, "bac-ninh-2025", "2025-07-01", UNITS_2025_FILE)
        .await
        .map_err(|e| failed("data/units/vn-2025-bac-ninh.csv", e))?;
    import_mapping(
        db,
        "bac-giang-2020",
        "bac-ninh-2025",
        MAPPING_2020_2025_FILE,
    )
    .await
    .map_err(|e| failed("data/units/bac-giang-2020-to-2025.csv", e))?;
    let demo: DemoYear = parse("data/demo/bac-ninh-2026.json", DEMO_BAC_NINH_2026)?;
    super::years::ensure_open(db, demo.year, &demo.tree).await?;
    let mut tx = db.begin_write().await?;
    for f in &demo.facilities {
        catalog::upsert_facility(&mut tx, f).await?;
    }
    for p in &demo.proposals {
        let proposal = Proposal {
            id: p.id.clone(),
            year: demo.year,
            unit_tree: demo.tree.clone(),
            district_code: None,
            commune_code: Some(p.commune_code.clone()),
            facility_id: p.facility_id.clone(),
            title: p.title.clone(),
            support_kind: p.support_kind.clone(),
            requested_amount: p.requested_amount,
            status: "registered".into(),
            form_id: None,
            form_version: None,
        };
        catalog::upsert_proposal(&mut tx, &proposal).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Load-testing data: `n` facilities, each with one proposal, in `district`
/// (spread over its communes), for benchmarks of the initial pull. Names are
/// numbered so the data is recognisably synthetic.
pub async fn bulk(db: &Db, district: &str, n: usize, year: i32) -> Result<usize, AppError> {
    use crate::model::{Facility, Proposal};
    let unit = units::get(&db.pool, district)
        .await?
        .ok_or_else(|| AppError::Internal(format!("no unit {district}")))?;
    let communes: Vec<String> = sqlx::query(
        "SELECT code FROM admin_units WHERE tree = $1 AND parent_code = $2 ORDER BY code",
    )
    .bind(&unit.tree)
    .bind(&unit.code)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| super::col(r, "code"))
    .collect::<Result<_, _>>()?;
    let district = unit.code.as_str();
    super::years::ensure_open(db, year, &unit.tree).await?;
    let mut tx = db.begin_write().await?;
    for i in 0..n {
        let now = super::now_ms();
        let facility = Facility {
            id: crate::sync::new_uuid_v7(now).to_string(),
            name: format!("Cơ sở thử tải số {i}"),
            owner_name: Some(format!("Chủ cơ sở {i}")),
            address: Some(format!("Thôn {}, xã thử", i % 50)),
            unit_tree: unit.tree.clone(),
            commune_code: communes.get(i % communes.len().max(1)).cloned(),
            district_code: Some(district.to_string()),
            industry_group: [
                "mechanical",
                "processing",
                "handicrafts",
                "building_materials",
            ][i % 4]
                .to_string(),
            phone: None,
            lat: Some(21.2 + (i % 100) as f64 * 0.001),
            lon: Some(106.1 + (i % 100) as f64 * 0.001),
            workforce: Some(5 + (i % 90) as i64),
            main_products: Some("Sản phẩm thử tải".into()),
            versions: Default::default(),
        };
        catalog::upsert_facility(&mut tx, &facility).await?;
        let proposal = Proposal {
            id: crate::sync::new_uuid_v7(now).to_string(),
            year,
            unit_tree: unit.tree.clone(),
            district_code: Some(district.to_string()),
            commune_code: None,
            facility_id: facility.id.clone(),
            title: format!("Đề án thử tải số {i}: hỗ trợ máy móc thiết bị"),
            support_kind: "machinery".into(),
            requested_amount: 100_000_000 + (i as i64 % 50) * 10_000_000,
            status: "registered".into(),
            form_id: None,
            form_version: None,
        };
        catalog::upsert_proposal(&mut tx, &proposal).await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// Load-testing visits: one per proposal of `year` (up to `n`), owned by
/// `username` on a bench device, with a few answers, review states in rotation
/// and receipt times spread over 90 days, for benchmarks of the console.
pub async fn bulk_visits(db: &Db, username: &str, n: usize, year: i32) -> Result<usize, AppError> {
    let user = sqlx::query("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&db.pool)
        .await?;
    let user_id: String = super::col(&user, "id")?;
    let proposals = sqlx::query(
        "SELECT p.id, p.facility_id, p.unit_tree, p.district_code, a.path FROM proposals p
         JOIN admin_units a ON a.tree = p.unit_tree AND a.code = COALESCE(p.commune_code, p.district_code)
         WHERE p.year = $1 ORDER BY p.id LIMIT $2",
    )
    .bind(i64::from(year))
    .bind(n as i64)
    .fetch_all(&db.pool)
    .await?;
    let now = super::now_ms();
    let device = format!("bench-{}", crate::sync::new_uuid_v7(now));
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO devices (device_id, user_id, created_at) VALUES ($1, $2, $3)")
        .bind(&device)
        .bind(&user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let states = [
        "submitted",
        "in_progress",
        "approved",
        "needs_changes",
        "rejected",
    ];
    for (i, p) in proposals.iter().enumerate() {
        let received = now - (i as i64 % 90) * 86_400_000 - i as i64;
        let id = crate::sync::new_uuid_v7(received).to_string();
        sqlx::query(
            "INSERT INTO visits (id, form_id, form_version, proposal_id, facility_id, owner_id, device_id,
               unit_tree, district_code, unit_path, review_state, created_at, received_at)
             VALUES ($1, 'khuyen-cong', 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(&id)
        .bind(super::col::<String>(p, "id")?)
        .bind(super::col::<String>(p, "facility_id")?)
        .bind(&user_id)
        .bind(&device)
        .bind(super::col::<String>(p, "unit_tree")?)
        .bind(super::col::<Option<String>>(p, "district_code")?)
        .bind(super::col::<String>(p, "path")?)
        .bind(states[i % states.len()])
        .bind(received)
        .execute(&mut *tx)
        .await?;
        let answers = [
            ("workforce", serde_json::json!(5 + i % 90)),
            (
                "main_products",
                serde_json::json!(format!("Sản phẩm thử tải {i}")),
            ),
            (
                "team_suggestion",
                serde_json::json!(["provincial", "national", "not_supported"][i % 3]),
            ),
            (
                "location",
                serde_json::json!({"lat": 21.2 + (i % 100) as f64 * 0.001, "lon": 106.1}),
            ),
        ];
        for (field, value) in answers {
            sqlx::query(
                "INSERT INTO field_values (entity, record_id, field, value, version, hlc, device_id, mutation_id)
                 VALUES ('visit', $1, $2, $3, 1, $4, $5, $6)",
            )
            .bind(&id)
            .bind(field)
            .bind(value.to_string())
            .bind(crate::sync::Hlc::new(received, 0).encode())
            .bind(&device)
            .bind(format!("bench-{id}-{field}"))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(proposals.len())
}
