//! When the phone's answers were written (`LocalVisit::written`), as the
//! server holds it. A phone whose clock runs more than a minute ahead has its
//! changes re-stamped by the server (`ServerClock::stamp`); the push answer
//! names the stamp (`MutationResult::Applied::stamped`) and the phone takes it
//! here. Only the recovery after a restore reads these times (`resend::held`):
//! with the phone's own stamp, an answer whose following pull was lost would
//! look later than another phone's answer written after it. A caption's time
//! is kept the same way; a pull also reads it, to show the later caption.

use super::local::{LocalVisit, OutboxEntry};
use crate::sync::{Entity, MutationResult};

/// Takes the server's stamp for each of `visit`'s changes in `sent` that
/// `results` say were re-stamped. A key saved again since keeps its newer time.
pub fn take_server_stamps(
    visit: &mut LocalVisit,
    sent: &[OutboxEntry],
    results: &[&MutationResult],
) {
    for result in results {
        let MutationResult::Applied {
            seq,
            stamped: Some(stamp),
            ..
        } = result
        else {
            continue;
        };
        let Some(entry) = sent.iter().find(|e| e.mutation.seq == *seq) else {
            continue;
        };
        let m = &entry.mutation;
        let record = m.record_id.to_string();
        let times = match m.entity {
            Entity::Visit if record == visit.id => &mut visit.written,
            Entity::VisitRow => match visit.rows.iter_mut().find(|r| r.id == record) {
                Some(row) => &mut row.written,
                None => continue,
            },
            _ => continue,
        };
        for key in m.fields.keys() {
            if let Some(time) = times.get_mut(key).filter(|t| **t == m.hlc) {
                *time = *stamp;
            }
        }
    }
}

/// The re-stamped caption changes among `results`: for each, the photo's ID,
/// the phone's stamp and the server's. A photo keeps its caption's time
/// beside it (`LocalPhoto::caption_written`), and takes the server's where it
/// is still the phone's own (`take_caption_stamp`).
pub fn restamped_captions(
    sent: &[OutboxEntry],
    results: &[MutationResult],
) -> Vec<(String, crate::sync::Hlc, crate::sync::Hlc)> {
    results
        .iter()
        .filter_map(|result| match result {
            MutationResult::Applied {
                seq,
                stamped: Some(stamp),
                ..
            } => sent
                .iter()
                .find(|e| e.mutation.seq == *seq)
                .filter(|e| {
                    e.mutation.entity == Entity::Photo && e.mutation.fields.contains_key("caption")
                })
                .map(|e| (e.mutation.record_id.to_string(), e.mutation.hlc, *stamp)),
            _ => None,
        })
        .collect()
}

/// The server's stamp for a photo's caption, unless a later caption was
/// written here since the change it answers.
pub fn take_caption_stamp(
    photo: &mut crate::field::photos::local::LocalPhoto,
    sent: crate::sync::Hlc,
    stamp: crate::sync::Hlc,
) -> bool {
    if photo.caption_written == Some(sent) {
        photo.caption_written = Some(stamp);
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::visits::local::{save, LocalRow};
    use crate::sync::Hlc;
    use serde_json::json;

    const ROW: &str = "0190a000-0000-7000-8000-000000000002";

    fn acked(sent: &[OutboxEntry], stamp: Option<Hlc>) -> Vec<MutationResult> {
        sent.iter()
            .map(|e| MutationResult::Applied {
                seq: e.mutation.seq,
                mutation_id: e.mutation.mutation_id,
                lost: vec![],
                stamped: stamp,
            })
            .collect()
    }

    /// A save at 10 min on a phone whose clock runs ahead: workforce, a row's
    /// name and (saved again later, not yet answered) the main product.
    fn saved_ahead() -> (LocalVisit, Vec<OutboxEntry>) {
        let mut v = LocalVisit::new(
            "0190a000-0000-7000-8000-000000000001".into(),
            "khuyen-cong".into(),
            1,
            Some("p1".into()),
            Some("f1".into()),
            "ksv1".into(),
            1_000,
        );
        v.answers.insert("workforce".into(), json!(60));
        v.answers.insert("main_products".into(), json!("Nồi"));
        let mut row = LocalRow::new(ROW.into(), "machines".into(), 1_000);
        row.answers.insert("name".into(), json!("Máy ép"));
        v.rows.push(row);
        let mut clock = Hlc::default();
        let (mut v, sent) = save(&v, "dev", 1, &mut clock, 600_000);
        v.answers.insert("main_products".into(), json!("Chảo"));
        let (v, _) = save(&v, "dev", 9, &mut clock, 660_000);
        (v, sent)
    }

    #[test]
    fn a_restamped_change_takes_the_servers_time() {
        let (mut v, sent) = saved_ahead();
        let server = Hlc::new(5_000, 3);
        let results = acked(&sent, Some(server));
        take_server_stamps(&mut v, &sent, &results.iter().collect::<Vec<_>>());
        assert_eq!(v.written["workforce"], server);
        assert_eq!(v.rows[0].written["name"], server);
        // Saved again after the answered change: the newer save's time stays.
        assert_eq!(v.written["main_products"].ms, 660_000);
    }

    #[test]
    fn a_restamped_caption_takes_the_servers_time() {
        use crate::field::photos::local::{change_entry, LocalPhoto};
        let mut photo =
            LocalPhoto::from_server(&crate::field::visits::resend::tests::server_photo());
        photo.id = "0190a000-0000-7000-8000-0000000000c1".into();
        photo.caption = Some("Cổng".into());
        let ahead = Hlc::new(600_000, 0);
        photo.caption_written = Some(ahead);
        let sent = vec![change_entry(
            &photo,
            "dev",
            4,
            ahead,
            uuid::Uuid::nil(),
            false,
        )];
        let server = Hlc::new(5_000, 1);
        let found = restamped_captions(&sent, &acked(&sent, Some(server)));
        assert_eq!(found, vec![(photo.id.clone(), ahead, server)]);
        assert!(take_caption_stamp(&mut photo, ahead, server));
        assert_eq!(photo.caption_written, Some(server));
        // Captioned again here since: the newer time stays.
        photo.caption_written = Some(Hlc::new(660_000, 0));
        assert!(!take_caption_stamp(&mut photo, ahead, server));
        // Not re-stamped: nothing to take.
        assert!(restamped_captions(&sent, &acked(&sent, None)).is_empty());
    }

    #[test]
    fn a_change_the_server_kept_keeps_the_phones_time() {
        let (mut v, sent) = saved_ahead();
        let before = v.clone();
        let results = acked(&sent, None);
        take_server_stamps(&mut v, &sent, &results.iter().collect::<Vec<_>>());
        assert_eq!(v.written, before.written);
        assert_eq!(v.rows[0].written, before.rows[0].written);
    }
}
