//! The CRM's isomorphic application: pages, components and server functions, compiled for the
//! server (`ssr`, with the Diesel repositories) and for the browser (`hydrate`).

#![recursion_limit = "256"]

pub mod accounts;
pub mod activities;
pub mod contacts;
pub mod dashboard;
pub mod error;
pub mod fields;
pub mod imports;
pub mod portal;
pub mod segments;
pub mod settings;
pub mod shell;
pub mod system;
pub mod ui;
pub mod users;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod clock;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod ops;

pub use shell::{shell, App};
