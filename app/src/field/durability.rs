//! How safe the inspector's data is on this phone: persistent storage (asked for
//! once, at the first login), how full the browser's quota is, anything unsynced
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
                        {tr("storage.used").replace("{used}", &crate::format::storage_size(usage)).replace("{quota}", &crate::format::storage_size(quota))}
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
                    {tr("storage.stale").replace("{n}", &days.to_string())}
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
    const ASKED: &str = "khaosat.persist_asked";
    // Ask once, at the first login on this phone; afterwards only read the answer
    // (asking again on every page would nag on browsers that prompt).
    let persisted = if browser::local_storage_get(ASKED).is_none() && user.is_some() {
        browser::local_storage_set(ASKED, "1");
        browser::request_persistent_storage().await
    } else {
        browser::storage_persisted().await
    };
    let mut oldest = None::<i64>;
    if let (Some(user), Ok(db)) = (user, crate::field::offline::db().await) {
        if let Some(device) = device {
            if let Ok(entries) = db.outbox(&device, 1).await {
                oldest = entries.first().map(|e| e.mutation.hlc.ms);
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
    fn a_day_unsynced_is_stale() {
        assert!(!stale(None, 10 * STALE_AFTER_MS));
        assert!(!stale(Some(0), STALE_AFTER_MS));
        assert!(stale(Some(0), STALE_AFTER_MS + 1));
    }
}
