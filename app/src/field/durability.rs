//! How safe the inspector's data is on this phone: persistent storage (asked for
//! at the first login, and again the first time the app runs installed), how full the browser's quota is, anything unsynced
//! for more than a day, and on iOS outside an installed app the seven-day wipe.
//! Plain rules here; the panel reads the browser and IndexedDB.

use crate::field::client::use_client;
use crate::i18n::use_t;
use leptos::prelude::*;

/// Unsynced for longer than this earns a warning.
pub const STALE_AFTER_MS: i64 = 24 * 60 * 60 * 1000;
/// Below this much free quota, or above this share used, capture may soon fail.
pub const LOW_FREE_BYTES: f64 = 50.0 * 1024.0 * 1024.0;
pub const HIGH_USE_SHARE: f64 = 0.9;

/// How full the quota is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fullness {
    Fine,
    NearlyFull,
}

pub fn fullness(usage: f64, quota: f64) -> Fullness {
    if quota <= 0.0 {
        return Fullness::Fine;
    }
    if quota - usage < LOW_FREE_BYTES || usage / quota > HIGH_USE_SHARE {
        Fullness::NearlyFull
    } else {
        Fullness::Fine
    }
}

/// Whether something saved or typed `oldest_unsynced_ms` ago deserves a warning.
pub fn stale(oldest_unsynced_ms: Option<i64>, now_ms: i64) -> bool {
    oldest_unsynced_ms.is_some_and(|t| now_ms - t > STALE_AFTER_MS)
}

/// When the phone queued a change, by its own clock: the time in its UUIDv7
/// id. Its stamp (HLC) runs ahead of a phone whose clock is slow or was
/// set back, since it never goes below the server's time it has seen: read
/// from it, a week-slow phone got its "unsent for a day" warning after eight.
pub fn queued_at_ms(mutation: &crate::sync::Mutation) -> i64 {
    mutation
        .mutation_id
        .get_timestamp()
        .map(|t| {
            let (secs, nanos) = t.to_unix();
            secs as i64 * 1000 + i64::from(nanos / 1_000_000)
        })
        .unwrap_or(mutation.hlc.ms)
}

/// What the panel shows, read once per data change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Durability {
    pub persisted: Option<bool>,
    pub usage: Option<(f64, f64)>,
    pub oldest_unsynced_ms: Option<i64>,
    pub ios_tab: bool,
}

#[component]
pub fn DurabilityPanel() -> impl IntoView {
    let state = use_client();
    let tr = use_t();
    let crate::i18n::Locale(lang) = crate::i18n::use_locale();
    let size = move |bytes| {
        crate::format::in_notation(
            &crate::format::storage_size(bytes),
            lang.get() == crate::i18n::Lang::Vi,
        )
    };
    let info = LocalResource::new(move || {
        let _ = state.data_version.get();
        let user = state.user.get();
        let device = state.device_id.get();
        async move { read(user, device).await }
    });
    let now = crate::field::visits::now_ms();
    move || {
        let d = info.get().unwrap_or_default();
        let persisted = d.persisted.map(|p| {
            let (key, class) = if p { ("storage.persisted", "notice") } else { ("storage.not_persisted", "warning-banner") };
            view! { <p class=class data-testid="storage-persisted" data-persisted=p.to_string()>{tr(key)}</p> }
        });
        let gauge = d.usage.map(|(usage, quota)| {
            let full = fullness(usage, quota) == Fullness::NearlyFull;
            view! {
                <div class="storage-gauge" data-testid="storage-gauge">
                    <label for="storage-meter">
                        {move || tr("storage.used").replace("{used}", &size(usage)).replace("{quota}", &size(quota))}
                    </label>
                    <meter id="storage-meter" min="0" max=quota value=usage high=quota * HIGH_USE_SHARE></meter>
                    {full.then(|| view! { <p class="error-banner" role="alert" data-testid="storage-nearly-full">{move || tr("storage.nearly_full")}</p> })}
                </div>
            }
        });
        let stale_view = stale(d.oldest_unsynced_ms, now).then(|| {
            let days = ((now - d.oldest_unsynced_ms.unwrap_or(now)) / 86_400_000).max(1);
            view! {
                <p class="warning-banner" role="alert" data-testid="unsynced-stale">
                    {tr(if days == 1 { "storage.stale_one" } else { "storage.stale" }).replace("{n}", &days.to_string())}
                </p>
            }
        });
        let ios = d.ios_tab.then(|| view! { <p class="warning-banner" data-testid="ios-install">{move || tr("storage.ios_install")}</p> });
        view! {
            <section class="storage-panel" id="storage" data-testid="storage-panel">
                <h2>{move || tr("storage.title")}</h2>
                {stale_view}
                {ios}
                {persisted}
                {gauge}
            </section>
        }
    }
}

#[cfg(feature = "hydrate")]
async fn read(user: Option<crate::model::UserInfo>, device: Option<String>) -> Durability {
    use crate::field::client::browser;
    // Ask at the first login on this phone, and once more the first time the
    // app runs installed: Chromium answers from how the site is used, and
    // mostly says no to a tab it has just met but yes to an installed app,
    // whose banner told the inspector to install it. Asking on every page
    // would nag on browsers that prompt.
    let ask = [
        ("khaosat.persist_asked", true),
        ("khaosat.persist_asked_installed", browser::standalone()),
    ]
    .into_iter()
    .find(|(key, now)| *now && browser::local_storage_get(key).is_none());
    let persisted = match ask {
        Some((key, _)) if user.is_some() && browser::storage_persisted().await != Some(true) => {
            browser::local_storage_set(key, "1");
            browser::request_persistent_storage().await
        }
        _ => browser::storage_persisted().await,
    };
    let mut oldest = None::<i64>;
    if let (Some(user), Ok(db)) = (user, crate::field::offline::db().await) {
        if let Some(device) = device {
            if let Ok(entries) = db.outbox(&device, 1).await {
                oldest = entries.first().map(|e| queued_at_ms(&e.mutation));
            }
        }
        for v in db.visits(&user.id).await.unwrap_or_default() {
            if v.has_unsaved_changes() {
                oldest = Some(oldest.map_or(v.updated_at_ms, |o| o.min(v.updated_at_ms)));
            }
        }
    }
    Durability {
        persisted,
        usage: browser::storage_estimate().await,
        oldest_unsynced_ms: oldest,
        ios_tab: browser::ios_browser_tab(),
    }
}

#[cfg(not(feature = "hydrate"))]
async fn read(_user: Option<crate::model::UserInfo>, _device: Option<String>) -> Durability {
    Durability::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_is_nearly_full_by_share_or_by_free_bytes() {
        let gb = 1024.0 * 1024.0 * 1024.0;
        assert_eq!(fullness(1.0 * gb, 10.0 * gb), Fullness::Fine);
        assert_eq!(fullness(9.5 * gb, 10.0 * gb), Fullness::NearlyFull);
        assert_eq!(
            fullness(100.0 * 1024.0 * 1024.0, 120.0 * 1024.0 * 1024.0),
            Fullness::NearlyFull
        );
        assert_eq!(
            fullness(0.0, 0.0),
            Fullness::Fine,
            "no quota known: no alarm"
        );
    }

    #[test]
    fn a_change_is_as_old_as_the_phones_clock_says_not_its_stamp() {
        let queued = 1_780_000_000_000_i64;
        let mutation = crate::sync::Mutation {
            seq: 1,
            mutation_id: crate::sync::new_uuid_v7(queued),
            kind: crate::sync::MutationKind::Upsert,
            entity: crate::sync::Entity::Visit,
            record_id: uuid::Uuid::nil(),
            fields: Default::default(),
            hlc: crate::sync::Hlc::new(queued + 7 * 86_400_000, 0),
            base_version: 0,
        };
        assert_eq!(queued_at_ms(&mutation), queued);
        assert!(stale(
            Some(queued_at_ms(&mutation)),
            queued + 2 * STALE_AFTER_MS
        ));
    }

    #[test]
    fn a_day_unsynced_is_stale() {
        assert!(!stale(None, 10 * STALE_AFTER_MS));
        assert!(!stale(Some(0), STALE_AFTER_MS));
        assert!(stale(Some(0), STALE_AFTER_MS + 1));
    }
}
