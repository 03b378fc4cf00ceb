//! Integration tests of the HTTP API against a real SQLite file per test (and
//! PostgreSQL where noted), driving the router with `oneshot`.

mod helpers;

mod auth;
mod health;
mod pull;
mod push;
mod review;
