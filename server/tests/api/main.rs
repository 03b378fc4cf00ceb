//! Integration tests of the server: the HTTP API through `oneshot` against a real
//! database per test (every store-backed test runs on SQLite and on PostgreSQL),
//! the built assets, and the command line.

mod helpers;
mod openapi;
mod pages;
mod phone;

mod archive;
mod assets;
mod auth;
mod authz_matrix;
mod backup;
mod bundle_hashes;
mod cli;
mod connections;
mod console;
mod crash;
mod cursor;
mod download_checks;
mod engines;
mod exactly_once;
mod facilities;
mod facility_moves;
mod forms;
mod guesses;
mod hang_ups;
mod hardening;
mod health;
mod intake;
mod merge;
mod metrics;
mod object_store;
mod office_files;
mod photo_corpus;
mod photo_edges;
mod photo_set_props;
mod photo_sets;
mod props;
mod pull;
mod push;
mod push_checks;
mod records;
mod registry;
mod restored;
mod review;
mod security;
mod service;
mod tls;
mod units;
mod uploads;
mod vietnamese_order;
mod years;
