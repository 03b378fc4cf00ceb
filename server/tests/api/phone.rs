//! A scripted phone for API tests: a logged-in device with its own seq counter
//! and clock offset, building mutations the way the field app does.

use crate::helpers::{TestApp, TestResponse};
use app::sync::{Hlc, MUTATION_SCHEMA_VERSION};
use axum::http::StatusCode;
use serde_json::{json, Value};

pub struct Phone {
    pub cookie: String,
    pub device: String,
    pub seq: i64,
    /// How far this phone's clock is from the real time, in ms.
    pub skew_ms: i64,
    counter: u32,
}

impl Phone {
    pub async fn login(app: &TestApp, username: &str) -> Phone {
        let (cookie, device) = app.login(username).await;
        Phone {
            cookie,
            device,
            seq: 0,
            skew_ms: 0,
            counter: 0,
        }
    }

    pub fn hlc(&mut self) -> Hlc {
        self.counter += 1;
        Hlc::new(app::store::now_ms() + self.skew_ms, self.counter)
    }

    /// The next mutation of this phone.
    pub fn mutation(
        &mut self,
        entity: &str,
        kind: &str,
        record: &str,
        fields: Value,
        base: i64,
    ) -> Value {
        self.seq += 1;
        let hlc = self.hlc();
        json!({
            "seq": self.seq,
            "mutation_id": uuid::Uuid::now_v7().to_string(),
            "kind": kind,
            "entity": entity,
            "record_id": record,
            "fields": fields,
            "hlc": hlc.encode(),
            "base_version": base
        })
    }

    pub fn body(&self, mutations: &[Value]) -> Value {
        json!({"device_id": self.device, "schema_version": MUTATION_SCHEMA_VERSION, "mutations": mutations})
    }

    pub async fn push(&self, app: &TestApp, mutations: &[Value]) -> TestResponse {
        app.post_json("/api/sync/push", Some(&self.cookie), &self.body(mutations))
            .await
    }

    /// Pushes and expects 200; returns the per-mutation results.
    pub async fn push_ok(&self, app: &TestApp, mutations: &[Value]) -> Vec<Value> {
        let response = self.push(app, mutations).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        response.json()["results"].as_array().unwrap().clone()
    }

    /// A new visit of `proposal` with the given answers in its first mutation.
    pub fn new_visit(&mut self, visit: &str, proposal: &str, answers: Value) -> Value {
        let mut fields =
            json!({"form_id": "khuyen-cong", "form_version": 1, "proposal_id": proposal});
        for (k, v) in answers.as_object().unwrap() {
            fields[k] = v.clone();
        }
        self.mutation("visit", "upsert", visit, fields, 0)
    }
}

/// Answers that satisfy every required field of the demo form.
pub fn complete_answers() -> Value {
    let form: app::forms::FormDefinition =
        serde_json::from_str(app::store::seed::DEFAULT_FORM).unwrap();
    let mut answers = serde_json::Map::new();
    for field in form.fields() {
        use app::forms::FieldType::*;
        let value = match field.kind {
            YesNo => json!("yes"),
            Text | LongText => json!("Đủ thông tin"),
            Integer => json!(12),
            Money => json!(150_000_000),
            SelectOne => json!(field.choices[0].value),
            Date => json!("2020-06-15"),
            _ => continue,
        };
        if field.required {
            answers.insert(field.key.clone(), value);
        }
    }
    // With "provincial" the suggested amount is required too.
    answers.insert("suggested_amount".into(), json!(120_000_000));
    Value::Object(answers)
}

pub fn statuses(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}
