//! The audit trail as the office reads it: who did what, and old → new.

use super::detail::*;
use super::*;

/// An action as a person says it ("đăng nhập", "duyệt phiếu"), or its code
/// when the app does not know it yet.
pub fn action_text(lang: Lang, action: &str) -> String {
    let key = format!("audit_action.{action}");
    match t(lang, &key) {
        text if text == key => action.to_string(),
        text => text,
    }
}

/// The record an entry is about: its kind and name, linked where the office
/// has a page for it; a record without a name shows the start of its id.
pub fn record_view(lang: Lang, e: &AuditEntry) -> impl IntoView {
    let kind = match t(lang, &format!("audit_entity.{}", e.entity)) {
        text if text.starts_with("audit_entity.") => e.entity.clone(),
        text => text,
    };
    let short: String = e.record_id.chars().take(8).collect();
    let name = e
        .record_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| {
            if e.record_id.chars().count() > 8 {
                format!("{short}…")
            } else {
                e.record_id.clone()
            }
        });
    let href = match e.entity.as_str() {
        "proposal" => Some(format!("/review/proposals/{}", e.record_id)),
        "visit" => Some(format!("/review/visits/{}", e.record_id)),
        _ => None,
    };
    let name = match href {
        Some(href) => view! { <a href=href data-testid="audit-record-link">{name}</a> }.into_any(),
        None => view! { <span>{name}</span> }.into_any(),
    };
    view! { <span class="muted">{kind}": "</span>{name} }
}

/// Audit entries of a record: when, who, what, and the old → new values.
#[component]
pub fn AuditList(entries: Vec<AuditEntry>, testid: &'static str) -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let body = if entries.is_empty() {
        view! { <p class="muted">{move || tr("review.audit.empty")}</p> }.into_any()
    } else {
        let rows = entries
            .into_iter()
            .map(|e| {
                view! {
                    <tr data-testid="audit-entry" data-action=e.action.clone()>
                        <td>{crate::format::datetime_vn(e.at_ms)}</td>
                        <td>{e.actor.clone().unwrap_or_else(|| tr("admin.audit.anonymous"))}</td>
                        <td>{action_text(lang.get_untracked(), &e.action)}</td>
                        <td class="audit-detail" title=e.detail.clone()>{audit_detail(&e.detail)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-scroll">
                <table class="data-table audit-table">
                    <thead>
                        <tr>
                            <th>{move || tr("admin.audit.at")}</th>
                            <th>{move || tr("admin.audit.actor")}</th>
                            <th>{move || tr("admin.audit.action")}</th>
                            <th>{move || tr("review.audit.detail")}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="audit-section" data-testid=testid>
            <h2>{move || tr("review.audit.title")}</h2>
            {body}
        </section>
    }
}

/// `{"from": a, "to": b}` or `{"old": a, "new": b}` as "a → b", other keys after it.
pub(super) fn old_to_new(value: &Value) -> Option<String> {
    let map = value.as_object()?;
    let (old, new) = [("from", "to"), ("old", "new")]
        .into_iter()
        .find(|(a, b)| map.contains_key(*a) || map.contains_key(*b))?;
    let (before, after) = (
        map.get(old).unwrap_or(&Value::Null),
        map.get(new).unwrap_or(&Value::Null),
    );
    let mut text = record_change(before, after)
        .unwrap_or_else(|| format!("{} → {}", compact(before), compact(after)));
    let rest: Vec<String> = map
        .iter()
        .filter(|(k, _)| k.as_str() != old && k.as_str() != new)
        .map(|(k, v)| format!("{k}: {}", compact(v)))
        .collect();
    if !rest.is_empty() {
        text.push_str(&format!(" ({})", rest.join(", ")));
    }
    Some(text)
}

/// Two versions of a record (objects, or nothing before it existed) as the keys
/// that differ: "amount: 100 → 200; recommendation: provincial → national".
pub(super) fn record_change(before: &Value, after: &Value) -> Option<String> {
    let empty = serde_json::Map::new();
    let (b, a) = match (before, after) {
        (Value::Null, Value::Object(a)) => (&empty, a),
        (Value::Object(b), Value::Object(a)) => (b, a),
        _ => return None,
    };
    let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    let parts: Vec<String> = keys
        .into_iter()
        .filter(|k| present(b, k) != present(a, k))
        .map(|k| {
            let side = |m: &serde_json::Map<String, Value>| {
                m.get(k).map(compact).unwrap_or_else(|| "—".into())
            };
            format!("{k}: {} → {}", side(b), side(a))
        })
        .collect();
    Some(parts.join("; "))
}

/// A key's value, with `null` the same as absent.
pub(super) fn present<'a>(map: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

/// The audit detail (JSON text) in one short line.
pub fn audit_detail(detail: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(detail) else {
        return detail.to_string();
    };
    if let Some(text) = old_to_new(&value) {
        return text;
    }
    match &value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}: {}", old_to_new(v).unwrap_or_else(|| compact(v))))
            .collect::<Vec<_>>()
            .join("; "),
        other => compact(other),
    }
}
