//! Tidings: a federated community news and microblog server.
//!
//! Layout (see docs/architecture.md): `domain` holds pure rules, `db` the database,
//! `service` the use-cases, `web` the HTML pages; `app` wires them together.

pub mod acme;
pub mod api;
pub mod app;
pub mod cli;
pub mod cli_domains;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod federation;
pub mod http_cors;
pub mod http_limit;
pub mod media;
pub mod metrics;
pub mod service;
pub mod tls;
pub mod web;
