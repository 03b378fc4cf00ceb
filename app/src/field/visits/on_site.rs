//! A visit for a facility found on site, not in the register: the inspector names
//! it, picks its district and industry group, and the survey starts at once. The
//! facility is a record made on the phone (its own UUIDv7) that syncs with the
//! visit's first save, before the visit that refers to it.

#[cfg(feature = "hydrate")]
use super::local::{self, LocalVisit};
use crate::field::client::use_client;
use crate::i18n::{use_locale, use_t};
use crate::model::{AdminUnit, UnitLevel};
use leptos::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// The facility fields the form asks for, checked before the visit starts (the
/// server applies the same limits).
pub fn facility_fields(
    name: &str,
    district: &str,
    commune: bool,
    industry: &str,
    owner: &str,
    address: &str,
    phone: &str,
) -> Result<BTreeMap<String, Value>, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        return Err("on_site.need_name");
    }
    if name.chars().count() > 200 || owner.chars().count() > 200 || address.chars().count() > 500 {
        return Err("on_site.too_long");
    }
    if district.is_empty() {
        return Err("on_site.need_district");
    }
    if industry.is_empty() {
        return Err("on_site.need_industry");
    }
    // The office's rule, and its national form: a phone the inspector typed
    // never blocks a supervisor's later edit of the facility.
    let phone = match phone.trim() {
        "" => String::new(),
        typed => crate::domain::Phone::parse(typed)
            .ok_or("on_site.bad_phone")?
            .into_string(),
    };
    let mut fields = BTreeMap::new();
    fields.insert("name".to_string(), Value::from(name));
    // `district` is the unit's key ("tree/code"): the tree travels with it. In
    // a tree without districts (2025 on) the place is a commune.
    let unit_field = if commune {
        "commune_code"
    } else {
        "district_code"
    };
    match district.split_once('/') {
        Some((tree, code)) => {
            fields.insert("unit_tree".to_string(), Value::from(tree));
            fields.insert(unit_field.to_string(), Value::from(code));
        }
        None => {
            fields.insert(unit_field.to_string(), Value::from(district));
        }
    }
    fields.insert("industry_group".to_string(), Value::from(industry));
    for (key, value) in [
        ("owner_name", owner.trim()),
        ("address", address.trim()),
        ("phone", phone.as_str()),
    ] {
        if !value.is_empty() {
            fields.insert(key.to_string(), Value::from(value));
        }
    }
    Ok(fields)
}

/// Where an inspector may register a facility found on site: the districts of
/// their units; and in a tree without districts (2025 on), the communes of
/// their units (a province unit brings all of its communes).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub fn districts_in_scope(units: &[AdminUnit], scope: &[String]) -> Vec<AdminUnit> {
    let key_of = |tree: &str, code: &str| crate::model::unit_key(tree, code);
    let has_districts = |tree: &str| {
        units
            .iter()
            .any(|u| u.tree == tree && u.level == UnitLevel::District)
    };
    let mut out: Vec<AdminUnit> = units
        .iter()
        .filter(|u| u.level == UnitLevel::District)
        .filter(|u| {
            scope.iter().any(|s| {
                let parent_key = u.parent.as_deref().map(|p| key_of(&u.tree, p));
                *s == u.key()
                    || parent_key.as_deref() == Some(s.as_str())
                    || units.iter().any(|c| {
                        c.key() == *s
                            && c.tree == u.tree
                            && c.parent.as_deref() == Some(u.code.as_str())
                    })
            })
        })
        .cloned()
        .collect();
    out.extend(
        units
            .iter()
            .filter(|u| {
                u.level == UnitLevel::Commune && !u.tree.is_empty() && !has_districts(&u.tree)
            })
            .filter(|u| {
                scope.iter().any(|s| {
                    *s == u.key()
                        || u.parent
                            .as_deref()
                            .is_some_and(|p| *s == key_of(&u.tree, p))
                })
            })
            .cloned(),
    );
    out.sort_by_cached_key(|u| crate::collation::key(&u.name));
    out
}

#[component]
pub fn OnSiteVisit() -> impl IntoView {
    let state = use_client();
    let tr = use_t();
    let crate::i18n::Locale(lang) = use_locale();
    let navigate = leptos_router::hooks::use_navigate();
    let open = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    let district = RwSignal::new(String::new());
    let industry = RwSignal::new(String::new());
    let owner = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let error = RwSignal::new(None::<&'static str>);
    let choices = LocalResource::new(move || {
        // Units and the form may arrive with the first pull, after this renders.
        let _ = state.data_version.get();
        let user = state.user.get();
        async move { load_choices(user).await }
    });
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = district.get_untracked();
        let commune = choices
            .get_untracked()
            .map(|(places, _)| {
                places
                    .iter()
                    .any(|u| u.key() == chosen && u.level == UnitLevel::Commune)
            })
            .unwrap_or(false);
        let fields = match facility_fields(
            &name.get_untracked(),
            &chosen,
            commune,
            &industry.get_untracked(),
            &owner.get_untracked(),
            &address.get_untracked(),
            &phone.get_untracked(),
        ) {
            Ok(f) => f,
            Err(key) => return error.set(Some(key)),
        };
        error.set(None);
        let navigate = navigate.clone();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match start_on_site(state, fields).await {
                Some(id) => navigate(&format!("/visits/{id}"), Default::default()),
                None => error.set(Some("on_site.failed")),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (fields, navigate);
    };
    view! {
        <section class="on-site" data-testid="on-site">
            <Show when=move || open.get() fallback=move || view! {
                <button class="btn btn-secondary" data-testid="on-site-open" on:click=move |_| open.set(true)>
                    {move || tr("on_site.open")}
                </button>
            }>
                <h2>{move || tr("on_site.title")}</h2>
                <p class="hint">{move || tr("on_site.hint")}</p>
                <form class="form" data-testid="on-site-form" on:submit=start.clone()>
                    <label for="os-name">{move || tr("on_site.name")} <span class="required">" *"</span></label>
                    <input id="os-name" data-testid="on-site-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                    <label for="os-district">{move || tr("on_site.district")} <span class="required">" *"</span></label>
                    <select id="os-district" data-testid="on-site-district" on:change=move |ev| district.set(event_target_value(&ev))>
                        <option value="">{move || tr("field.choose")}</option>
                        {move || choices.get().map(|(districts, _)| districts.into_iter().map(|d| {
                            let label = d.full_name();
                            let selected = district.get_untracked() == d.key();
                            view! { <option value=d.key() selected=selected>{label}</option> }
                        }).collect_view())}
                    </select>
                    <label for="os-industry">{move || tr("on_site.industry")} <span class="required">" *"</span></label>
                    <select id="os-industry" data-testid="on-site-industry" on:change=move |ev| industry.set(event_target_value(&ev))>
                        <option value="">{move || tr("field.choose")}</option>
                        {move || choices.get().map(|(_, groups)| groups.into_iter().map(|c| {
                            let label = c.label.get(lang.get()).to_string();
                            let selected = industry.get_untracked() == c.value;
                            view! { <option value=c.value selected=selected>{label}</option> }
                        }).collect_view())}
                    </select>
                    <label for="os-owner">{move || tr("on_site.owner")}</label>
                    <input id="os-owner" data-testid="on-site-owner" prop:value=move || owner.get() on:input=move |ev| owner.set(event_target_value(&ev))/>
                    <label for="os-address">{move || tr("on_site.address")}</label>
                    <input id="os-address" data-testid="on-site-address" prop:value=move || address.get() on:input=move |ev| address.set(event_target_value(&ev))/>
                    <label for="os-phone">{move || tr("on_site.phone")}</label>
                    <input id="os-phone" type="tel" inputmode="tel" data-testid="on-site-phone" prop:value=move || phone.get() on:input=move |ev| phone.set(event_target_value(&ev))/>
                    <Show when=move || error.get().is_some()>
                        <p class="field-error" role="alert" data-testid="on-site-error">{move || error.get().map(&tr).unwrap_or_default()}</p>
                    </Show>
                    <div class="form-actions">
                        <button type="button" class="btn" on:click=move |_| open.set(false)>{move || tr("on_site.cancel")}</button>
                        <button type="submit" class="btn btn-primary" data-testid="on-site-start">{move || tr("on_site.start")}</button>
                    </div>
                </form>
            </Show>
        </section>
    }
}

#[cfg(feature = "hydrate")]
async fn load_choices(
    user: Option<crate::model::UserInfo>,
) -> (Vec<AdminUnit>, Vec<crate::forms::Choice>) {
    let Some(user) = user else {
        return (Vec::new(), Vec::new());
    };
    let Ok(db) = crate::field::offline::db().await else {
        return (Vec::new(), Vec::new());
    };
    let units = db.units().await.unwrap_or_default();
    let groups = db
        .current_form(super::DEFAULT_FORM_ID)
        .await
        .ok()
        .flatten()
        .and_then(|f| f.field("industry_group").map(|f| f.choices.clone()))
        .unwrap_or_default();
    (districts_in_scope(&units, &user.units), groups)
}

#[cfg(not(feature = "hydrate"))]
async fn load_choices(
    _user: Option<crate::model::UserInfo>,
) -> (Vec<AdminUnit>, Vec<crate::forms::Choice>) {
    (Vec::new(), Vec::new())
}

/// Creates the local draft of a visit for a new facility; returns the visit id.
#[cfg(feature = "hydrate")]
async fn start_on_site(
    state: crate::field::client::ClientState,
    facility: BTreeMap<String, Value>,
) -> Option<String> {
    let user = state.user.get_untracked()?;
    let db = crate::field::offline::db().await.ok()?;
    let form = db.current_form(super::DEFAULT_FORM_ID).await.ok()??;
    let now = crate::field::client::browser::now_ms();
    let id = local::new_uuid_v7(now).to_string();
    let facility_id = local::new_uuid_v7(now).to_string();
    let mut visit = LocalVisit::new(
        id.clone(),
        form.id,
        form.version,
        None,
        Some(facility_id),
        user.username,
        now,
    );
    visit.new_facility = facility;
    db.put_draft(&user.id, &visit).await.ok()?;
    state.bump();
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_facility_needs_a_name_a_district_and_an_industry_group() {
        assert_eq!(
            facility_fields(" ", "213", false, "other", "", "", ""),
            Err("on_site.need_name")
        );
        assert_eq!(
            facility_fields("Xưởng", "", false, "other", "", "", ""),
            Err("on_site.need_district")
        );
        assert_eq!(
            facility_fields("Xưởng", "213", false, "", "", "", ""),
            Err("on_site.need_industry")
        );
        assert_eq!(
            facility_fields("Xưởng", "213", false, "other", "", "", "12"),
            Err("on_site.bad_phone")
        );
        let ok = facility_fields(
            " Xưởng mộc ",
            "213",
            false,
            "handicrafts",
            "",
            "thôn Đông",
            "0912 345 678",
        )
        .unwrap();
        assert_eq!(ok["name"], "Xưởng mộc");
        assert_eq!(ok["address"], "thôn Đông");
        assert_eq!(ok["phone"], "0912345678", "stored as the office stores it");
        // Eight digits passed here once, and the office then refused every
        // edit of the facility for its phone.
        assert_eq!(
            facility_fields("Xưởng", "213", false, "other", "", "", "3855 1234"),
            Err("on_site.bad_phone")
        );
        assert!(
            !ok.contains_key("owner_name"),
            "blank optional fields are left out"
        );
    }

    fn unit(tree: &str, code: &str, level: UnitLevel, parent: Option<&str>) -> AdminUnit {
        AdminUnit {
            tree: tree.into(),
            code: code.into(),
            name: format!("Đơn vị {code}"),
            kind: "xã".into(),
            level,
            parent: parent.map(str::to_string),
        }
    }

    #[test]
    fn an_inspector_of_a_tree_without_districts_registers_facilities_in_communes() {
        use UnitLevel::*;
        let units = vec![
            unit("bac-giang-2020", "24", Province, None),
            unit("bac-giang-2020", "213", District, Some("24")),
            unit("bac-giang-2020", "07201", Commune, Some("213")),
            unit("bac-ninh-2025", "24", Province, None),
            unit("bac-ninh-2025", "07210", Commune, Some("24")),
            unit("bac-ninh-2025", "07288", Commune, Some("24")),
        ];
        let keys = |scope: &[&str]| -> Vec<String> {
            let scope: Vec<String> = scope.iter().map(|s| s.to_string()).collect();
            districts_in_scope(&units, &scope)
                .iter()
                .map(AdminUnit::key)
                .collect()
        };
        assert_eq!(keys(&["bac-giang-2020/213"]), vec!["bac-giang-2020/213"]);
        assert_eq!(keys(&["bac-ninh-2025/07210"]), vec!["bac-ninh-2025/07210"]);
        // A 2025 province unit: all its communes; never the 2020 tree's "24".
        assert_eq!(
            keys(&["bac-ninh-2025/24"]),
            vec!["bac-ninh-2025/07210", "bac-ninh-2025/07288"]
        );
        let fields =
            facility_fields("Xưởng", "bac-ninh-2025/07210", true, "other", "", "", "").unwrap();
        assert_eq!(fields["commune_code"], "07210");
        assert_eq!(fields["unit_tree"], "bac-ninh-2025");
        assert!(!fields.contains_key("district_code"));
    }
}
