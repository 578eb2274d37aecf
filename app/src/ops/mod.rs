//! Running the CRM as a service: work that must run once across several app servers (leases),
//! consistent backups of the embedded SQLite database, the client's real address behind a
//! reverse proxy, the security headers, and the figures `/metrics` reports. Server only.

pub mod action_errors;
pub mod backup;
pub mod client;
pub mod headers;
pub mod hosts;
pub mod leases;
pub mod metrics;

#[cfg(test)]
mod tests;
