//! Integration tests: every file here is a module of one test binary (one link, one
//! set of artefacts on disk instead of one per file). Each test starts a real `tidings`
//! router on a loopback port over its own SQLite file, or its own PostgreSQL database
//! when `TIDINGS_TEST_DATABASE_URL` is set (see common/mod.rs).

mod common;

mod accounts;
mod acme;
mod api;
mod backup;
mod boosts;
mod cli;
mod client_compat;
mod communities;
mod community;
mod conversations;
mod cors;
mod domain_blocks;
mod federation_activities;
mod federation_delivery;
mod federation_discovery;
mod federation_fixtures;
mod federation_inbox;
mod federation_outgoing;
mod federation_trust;
mod health_metrics;
mod http_front;
mod incoming_audience;
mod instance;
mod invites;
mod media;
mod moderation;
mod notification_groups;
mod oauth;
mod peer_content;
mod polls;
mod posting_audience;
mod search;
mod signup;
mod stories;
mod tls;
mod visibility;
