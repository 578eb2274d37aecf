//! The staff dashboard: the landing page of the staff area and the area's layout.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardSummary {
    pub display_name: String,
    pub organization_name: String,
    /// Staff accounts waiting for activation; shown to administrators only.
    pub pending_activations: Option<i64>,
    /// The number of contacts and the status table, for staff who may view contacts.
    pub contacts: Option<(i64, Vec<crate::contacts::StatusCount>)>,
    pub can_add_contacts: bool,
}
