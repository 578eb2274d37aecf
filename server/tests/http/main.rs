//! HTTP-level tests through the real router: probes, pages, sign-in, sessions and guards.

mod accounts;
mod activities;
mod authz;
mod contacts;
mod deploy;
mod faults;
mod fields;
mod foundation;
mod imports;
mod security;
mod settings;
mod support;
mod users;
