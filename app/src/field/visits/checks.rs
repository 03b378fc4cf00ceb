//! Answers that break their field's rule, as the screen and a save see them.
//! Shown, they block the save (the server makes the same check); hidden by
//! another answer, they go back to their last saved value, or away, before
//! the save (the inspector could neither see nor fix them).

use super::local::LocalVisit;
use crate::forms::FormDefinition;

/// Whether an answer breaks its field's rule (the same check the server makes
/// on save).
fn breaks_rule(
    field: &crate::forms::Field,
    answers: &std::collections::BTreeMap<String, serde_json::Value>,
) -> bool {
    answers
        .get(&field.key)
        .is_some_and(|v| crate::forms::rules::check_value(field, v).is_err())
}

/// Each field with the answers its rules read and whether the screen shows it:
/// the visit's own, then every live row's children (hidden with their group).
fn each_answer<'a>(
    form: &'a FormDefinition,
    visit: &'a LocalVisit,
) -> impl Iterator<Item = (&'a crate::forms::Field, Option<&'a str>, bool)> + 'a {
    use crate::forms::expr::is_relevant;
    let own = form
        .fields()
        .filter(|f| f.kind != crate::forms::FieldType::Repeat)
        .map(|f| (f, None, is_relevant(f.relevant.as_deref(), &visit.answers)));
    let rows = form
        .fields()
        .filter(|f| f.kind == crate::forms::FieldType::Repeat)
        .flat_map(move |group| {
            let group_shown = is_relevant(group.relevant.as_deref(), &visit.answers);
            visit
                .rows
                .iter()
                .filter(move |r| r.group == group.key && !r.deleted)
                .flat_map(move |row| {
                    group.fields.iter().map(move |c| {
                        let shown = group_shown && is_relevant(c.relevant.as_deref(), &row.answers);
                        (c, Some(row.id.as_str()), shown)
                    })
                })
        });
    own.chain(rows)
}

/// Answers on screen that break a rule (the same check the server makes on save).
pub(crate) fn has_invalid_answers(form: &FormDefinition, visit: &LocalVisit) -> bool {
    each_answer(form, visit).any(|(field, row, shown)| {
        let answers = match row {
            None => &visit.answers,
            Some(id) => match visit.rows.iter().find(|r| r.id == id) {
                Some(r) => &r.answers,
                None => return false,
            },
        };
        shown && breaks_rule(field, answers)
    })
}

/// The visit as a save sends it: a broken answer the screen no longer shows
/// (typed, then hidden by another answer) goes back to its last saved value,
/// or away. The inspector can neither see nor fix it, and the server, which
/// checks every answer it is sent, would refuse the whole save for it.
pub(crate) fn without_hidden_broken(form: &FormDefinition, visit: &LocalVisit) -> LocalVisit {
    let hidden: Vec<(&crate::forms::Field, Option<String>)> = each_answer(form, visit)
        .filter(|(_, _, shown)| !shown)
        .map(|(field, row, _)| (field, row.map(str::to_string)))
        .collect();
    let mut out = visit.clone();
    for (field, row) in hidden {
        let (answers, saved) = match &row {
            None => (&mut out.answers, &visit.saved),
            Some(id) => match (
                out.rows.iter_mut().find(|r| &r.id == id),
                visit.rows.iter().find(|r| &r.id == id),
            ) {
                (Some(r), Some(before)) => (&mut r.answers, &before.saved),
                _ => continue,
            },
        };
        if !breaks_rule(field, answers) {
            continue;
        }
        // Back to what was saved: a save sends only what differs from it, so
        // nothing of this field goes (a refused value kept as saved stays
        // the refusal's business, as before).
        match saved.get(&field.key) {
            Some(v) => {
                answers.insert(field.key.clone(), v.clone());
            }
            None => {
                answers.remove(&field.key);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A broken answer typed, then hidden by another answer, neither blocks the
    /// save nor reaches the server (which refused the whole save for it): it
    /// goes back to its last saved value, or away. Shown, it still blocks.
    #[test]
    fn a_hidden_broken_answer_is_not_sent() {
        use serde_json::json;
        let form: FormDefinition = serde_json::from_value(json!({
            "id": "f", "version": 1, "title": {"vi": "F", "en": "F"},
            "sections": [{"key": "s", "title": {"vi": "S", "en": "S"}, "fields": [
                {"key": "supported", "type": "yes_no", "label": {"vi": "Hỗ trợ", "en": "Supported"}},
                {"key": "amount", "type": "money", "label": {"vi": "Số tiền", "en": "Amount"},
                 "relevant": "supported == 'yes'"},
                {"key": "workers", "type": "integer", "label": {"vi": "Lao động", "en": "Workers"},
                 "relevant": "supported == 'yes'"},
                {"key": "m", "type": "repeat", "label": {"vi": "Máy", "en": "Machines"},
                 "relevant": "supported == 'yes'", "fields": [
                    {"key": "count", "type": "integer", "label": {"vi": "Số", "en": "Count"}}
                ]}
            ]}]
        }))
        .unwrap();
        let mut visit = LocalVisit::new("v1".into(), "f".into(), 1, None, None, "ksv1".into(), 1);
        visit.answers.insert("supported".into(), json!("yes"));
        visit.answers.insert("amount".into(), json!("12,5"));
        visit.answers.insert("workers".into(), json!("nhiều"));
        visit.saved.insert("workers".into(), json!(12));
        let mut row = super::super::local::LocalRow::new("r1".into(), "m".into(), 1);
        row.answers.insert("count".into(), json!("hai"));
        visit.rows.push(row);
        assert!(has_invalid_answers(&form, &visit));
        assert_eq!(without_hidden_broken(&form, &visit), visit, "shown: kept");

        visit.answers.insert("supported".into(), json!("no"));
        // The row's group is hidden too: its broken answer no longer blocks.
        assert!(!has_invalid_answers(&form, &visit));
        let sent = without_hidden_broken(&form, &visit);
        assert_eq!(sent.answers.get("amount"), None);
        assert_eq!(sent.answers.get("workers"), Some(&json!(12)));
        assert_eq!(sent.rows[0].answers.get("count"), None);
        assert_eq!(sent.answers.get("supported"), Some(&json!("no")));
    }
}
