//! The inspector's visits on this phone, newest first: sync and review state,
//! facility, district and age, with the same diacritic-insensitive search as the
//! proposals ("Luc Ngan" finds "Lục Ngạn"). Reads IndexedDB only: works offline.

use super::local::LocalVisit;
use crate::field::client::use_client;
use crate::i18n::use_t;
use crate::model::{AdminUnit, Facility, Proposal};
use leptos::prelude::*;

/// A visit with what its line shows.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitListRow {
    pub visit: LocalVisit,
    pub title: String,
    pub facility: String,
    pub district: String,
    pub search: String,
}

/// Joins visits with their proposal, facility and district, newest change first.
pub fn visit_rows(
    visits: Vec<LocalVisit>,
    proposals: &[Proposal],
    facilities: &[Facility],
    units: &[AdminUnit],
) -> Vec<VisitListRow> {
    let mut rows: Vec<VisitListRow> = visits
        .into_iter()
        .map(|v| {
            let proposal = v
                .proposal_id
                .as_ref()
                .and_then(|id| proposals.iter().find(|p| &p.id == id));
            let facility = v
                .facility_id
                .as_ref()
                .and_then(|id| facilities.iter().find(|f| &f.id == id));
            let on_site = |key: &str| {
                v.new_facility
                    .get(key)
                    .and_then(|x| x.as_str())
                    .map(str::to_string)
            };
            let facility_name = facility
                .map(|f| f.name.clone())
                .or_else(|| on_site("name"))
                .unwrap_or_default();
            let place = proposal
                .and_then(|p| Some((p.unit_tree.clone(), p.registered_by()?.to_string())))
                .or_else(|| {
                    facility.and_then(|f| Some((f.unit_tree.clone(), f.area()?.to_string())))
                })
                .or_else(|| {
                    let code = on_site("district_code").or_else(|| on_site("commune_code"))?;
                    Some((on_site("unit_tree").unwrap_or_default(), code))
                });
            let district = place
                .and_then(|(tree, code)| units.iter().find(|u| u.is(&tree, &code)))
                .map(|u| u.full_name())
                .unwrap_or_default();
            let title = proposal
                .map(|p| p.title.clone())
                .or_else(|| v.proposal_title.clone())
                .unwrap_or_else(|| facility_name.clone());
            let search = crate::search::fold(&format!("{title} {facility_name} {district}"));
            VisitListRow {
                visit: v,
                title,
                facility: facility_name,
                district,
                search,
            }
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.visit.updated_at_ms));
    rows
}

/// "5 phút trước" / "3 ngày trước": how old the last change is.
pub fn age_text(tr: &impl Fn(&str) -> String, now_ms: i64, then_ms: i64) -> String {
    let minutes = ((now_ms - then_ms).max(0) / 60_000) as u64;
    let (n, unit) = match minutes {
        0 => return tr("age.now"),
        m if m < 60 => (m, "age.minutes"),
        m if m < 60 * 24 => (m / 60, "age.hours"),
        m if m < 60 * 48 => (1, "age.day"),
        m => (m / (60 * 24), "age.days"),
    };
    tr(unit).replace("{n}", &n.to_string())
}

#[component]
pub fn VisitList() -> impl IntoView {
    let state = use_client();
    let tr = use_t();
    let query = RwSignal::new(String::new());
    let rows = LocalResource::new(move || {
        let _ = state.data_version.get();
        let user = state.user.get();
        async move {
            let Some(user) = user else { return Vec::new() };
            load(&user.id).await
        }
    });
    let all = move || rows.get().unwrap_or_default();
    let filtered = move || {
        let q = query.get();
        all()
            .into_iter()
            .filter(|r| crate::search::matches(&r.search, &q))
            .collect::<Vec<_>>()
    };
    let now = super::now_ms();
    view! {
        <Show
            when=move || !all().is_empty()
            fallback=move || view! { <p class="empty-state">{move || tr("home.no_visits")}</p> }
        >
            <input type="search" class="visit-search" data-testid="visit-search"
                aria-label=move || tr("home.search_visits")
                placeholder=move || tr("home.search_visits")
                prop:value=move || query.get()
                on:input=move |ev| query.set(event_target_value(&ev))/>
            <ul class="list" data-testid="visit-list">
                <For
                    each=filtered
                    key=|r| (r.visit.id.clone(), r.visit.sync_state.as_str(), r.visit.review_state.as_str(), r.visit.updated_at_ms)
                    let:r
                >
                    <li class="list-item" data-testid="visit-item" data-visit-id=r.visit.id.clone()
                        data-sync-state=r.visit.sync_state.as_str() data-review-state=r.visit.review_state.as_str()>
                        <a href=format!("/visits/{}", r.visit.id)>
                            <div class="item-title">{if r.title.is_empty() { crate::format::datetime_vn(r.visit.created_at_ms) } else { r.title.clone() }}</div>
                            <div class="item-meta">
                                {(!r.facility.is_empty() && r.facility != r.title).then(|| format!("{} · ", r.facility))}
                                {(!r.district.is_empty()).then(|| format!("{} · ", r.district))}
                                <span data-testid="visit-age">{age_text(&tr, now, r.visit.updated_at_ms)}</span>
                            </div>
                        </a>
                        <div class="item-badges">
                            <span class=format!("badge badge-sync badge-{}", r.visit.sync_state.as_str())>
                                {let key = format!("sync_state.{}", r.visit.sync_state.as_str()); move || tr(&key)}
                            </span>
                            <span class=format!("badge badge-{}", r.visit.review_state.as_str().replace('_', "-"))>
                                {let key = format!("review_state.{}", r.visit.review_state.as_str()); move || tr(&key)}
                            </span>
                        </div>
                    </li>
                </For>
            </ul>
        </Show>
    }
}

#[cfg(feature = "hydrate")]
async fn load(user_id: &str) -> Vec<VisitListRow> {
    let Ok(db) = crate::field::offline::db().await else {
        return Vec::new();
    };
    let visits = db.visits(user_id).await.unwrap_or_default();
    let (proposals, facilities, units) = crate::field::proposals::load_catalog(user_id).await;
    visit_rows(visits, &proposals, &facilities, &units)
}

#[cfg(not(feature = "hydrate"))]
async fn load(_user_id: &str) -> Vec<VisitListRow> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_are_found_without_diacritics_and_on_site_facilities_are_named() {
        let mut on_site = LocalVisit::new(
            "v2".into(),
            "f".into(),
            1,
            None,
            Some("fac9".into()),
            "ksv1".into(),
            5,
        );
        on_site
            .new_facility
            .insert("name".into(), serde_json::json!("Xưởng mộc Hòa Bình"));
        on_site
            .new_facility
            .insert("district_code".into(), serde_json::json!("220"));
        on_site.updated_at_ms = 9;
        let units = vec![AdminUnit {
            tree: String::new(),
            code: "220".into(),
            name: "Lục Ngạn".into(),
            kind: "huyện".into(),
            level: crate::model::UnitLevel::District,
            parent: Some("24".into()),
        }];
        let rows = visit_rows(
            vec![
                LocalVisit::new("v1".into(), "f".into(), 1, None, None, "ksv1".into(), 1),
                on_site,
            ],
            &[],
            &[],
            &units,
        );
        assert_eq!(rows[0].visit.id, "v2", "newest first");
        assert_eq!(rows[0].title, "Xưởng mộc Hòa Bình");
        assert!(crate::search::matches(&rows[0].search, "luc ngan"));
        assert!(crate::search::matches(
            &rows[0].search,
            "Lu\u{0323}c Nga\u{0323}n"
        ));
        assert!(!crate::search::matches(&rows[1].search, "luc ngan"));
    }

    /// A closed year takes its proposals off the phone; their visits keep
    /// the title they were last seen with.
    #[test]
    fn a_visit_whose_proposal_left_keeps_its_title() {
        let mut visit = LocalVisit::new(
            "v1".into(),
            "f".into(),
            1,
            Some("p1".into()),
            None,
            "ksv1".into(),
            1,
        );
        visit.proposal_title = Some("Đổi mới thiết bị sấy vải".into());
        let rows = visit_rows(vec![visit], &[], &[], &[]);
        assert_eq!(rows[0].title, "Đổi mới thiết bị sấy vải");
        assert!(crate::search::matches(&rows[0].search, "say vai"));
    }

    #[test]
    fn ages_read_naturally() {
        let tr = |k: &str| match k {
            "age.now" => "vừa xong".to_string(),
            "age.minutes" => "{n} phút trước".to_string(),
            "age.hours" => "{n} giờ trước".to_string(),
            _ => "{n} ngày trước".to_string(),
        };
        assert_eq!(age_text(&tr, 60_000 * 5, 0), "5 phút trước");
        assert_eq!(age_text(&tr, 3_600_000 * 49, 0), "2 ngày trước");
        assert_eq!(age_text(&tr, 10, 0), "vừa xong");
        // One day, not "1 days".
        let en = |k: &str| crate::i18n::t(crate::i18n::Lang::En, k);
        assert_eq!(age_text(&en, 3_600_000 * 25, 0), "1 day ago");
        assert_eq!(age_text(&en, 3_600_000 * 49, 0), "2 days ago");
    }
}
