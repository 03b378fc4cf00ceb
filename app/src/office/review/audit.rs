//! The audit trail as the office reads it: who did what, and old → new.

use super::detail::*;
use super::*;
use crate::office::gate::ReviewLink;

/// An entry's action as a person says it. A review step is named by where
/// it took the visit: the inspector's submit is "gửi duyệt", a send-back
/// "yêu cầu bổ sung", an approval "duyệt phiếu" (all three are `review`).
pub fn entry_action_text(lang: Lang, action: &str, detail: &str) -> String {
    if action == "review" {
        let to = serde_json::from_str::<Value>(detail)
            .ok()
            .and_then(|d| d.get("to").and_then(Value::as_str).map(str::to_string));
        if let Some(to) = to {
            let key = format!("audit_action.review_to.{to}");
            let text = t(lang, &key);
            if text != key {
                return text;
            }
        }
    }
    action_text(lang, action)
}

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
/// has a page for it that the viewer may open; a record without a name shows
/// the start of its id.
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
    view! { <span class="muted">{kind}": "</span><ReviewLink href text=name link_testid="audit-record-link"/> }
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
                        <td>{entry_action_text(lang.get_untracked(), &e.action, &e.detail)}</td>
                        <td class="audit-detail">{audit_detail_in(lang.get_untracked(), &e.detail)}</td>
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

/// `{"from": a, "to": b}` or `{"old": a, "new": b}` as "a → b", other keys
/// (those with a value) after it.
pub(super) fn old_to_new(lang: Lang, value: &Value) -> Option<String> {
    let map = value.as_object()?;
    let (old, new) = [("from", "to"), ("old", "new")]
        .into_iter()
        .find(|(a, b)| map.contains_key(*a) || map.contains_key(*b))?;
    let (before, after) = (
        map.get(old).unwrap_or(&Value::Null),
        map.get(new).unwrap_or(&Value::Null),
    );
    let mut text = record_change(lang, before, after).unwrap_or_else(|| {
        format!(
            "{} → {}",
            shown_value(lang, "state", before),
            shown_value(lang, "state", after)
        )
    });
    let rest: Vec<String> = map
        .iter()
        .filter(|(k, v)| k.as_str() != old && k.as_str() != new && !v.is_null())
        .map(|(k, v)| format!("{}: {}", key_label(lang, k), shown_value(lang, k, v)))
        .collect();
    if !rest.is_empty() {
        text.push_str(&format!(" ({})", rest.join(", ")));
    }
    Some(text)
}

/// Two versions of a record (objects, or nothing before it existed) as the keys
/// that differ: "số tiền: 100 ₫ → 200 ₫; hình thức: Tỉnh hỗ trợ → Đề nghị quốc gia".
pub(super) fn record_change(lang: Lang, before: &Value, after: &Value) -> Option<String> {
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
                m.get(k.as_str())
                    .map(|v| shown_value(lang, k, v))
                    .unwrap_or_else(|| "—".into())
            };
            format!("{}: {} → {}", key_label(lang, k), side(b), side(a))
        })
        .collect();
    Some(parts.join("; "))
}

/// A detail key as a person names it ("amount" → "số tiền"), or the key.
fn key_label(lang: Lang, key: &str) -> String {
    let k = format!("audit_key.{key}");
    match t(lang, &k) {
        text if text == k => key.to_string(),
        text => text,
    }
}

/// A detail value as a person reads it: amounts in đồng, review states,
/// roles and funding sources by name, lists joined, ids shortened.
fn shown_value(lang: Lang, key: &str, value: &Value) -> String {
    let named = |prefix: &str, code: &str| {
        let k = format!("{prefix}.{code}");
        match t(lang, &k) {
            text if text == k => code.to_string(),
            text => text,
        }
    };
    match (key, value) {
        (_, Value::Null) => "—".into(),
        ("amount" | "budget" | "requested_amount" | "recommended_amount", Value::Number(n)) => n
            .as_i64()
            .map(crate::format::vnd)
            .unwrap_or_else(|| n.to_string()),
        ("state" | "from" | "to", Value::String(s)) => named("review_state", s),
        ("recommendation" | "source", Value::String(s)) => named("plan.source", s),
        ("roles", Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|r| named("role", r))
            .collect::<Vec<_>>()
            .join(", "),
        ("units", Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|u| u.rsplit('/').next().unwrap_or(u).to_string())
            .collect::<Vec<_>>()
            .join(", "),
        ("device_id", Value::String(s)) if s.chars().count() > 8 => {
            format!("{}…", s.chars().take(8).collect::<String>())
        }
        (_, Value::Array(items)) => items
            .iter()
            .map(|v| shown_value(lang, "", v))
            .collect::<Vec<_>>()
            .join(", "),
        (_, Value::Number(n)) => n
            .as_f64()
            .map(|x| crate::format::readable_number(x, lang == Lang::Vi))
            .unwrap_or_else(|| n.to_string()),
        (_, other) => compact(other),
    }
}

/// A key's value, with `null` the same as absent.
pub(super) fn present<'a>(map: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

/// The audit detail (JSON text) in one short line, in Vietnamese.
pub fn audit_detail(detail: &str) -> String {
    audit_detail_in(Lang::Vi, detail)
}

/// The audit detail (JSON text) in one short line, in `lang`.
pub fn audit_detail_in(lang: Lang, detail: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(detail) else {
        return detail.to_string();
    };
    if let Some(text) = old_to_new(lang, &value) {
        return text;
    }
    match &value {
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                format!(
                    "{}: {}",
                    key_label(lang, k),
                    old_to_new(lang, v).unwrap_or_else(|| shown_value(lang, k, v))
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => compact(other),
    }
}
