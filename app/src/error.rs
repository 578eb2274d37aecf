//! The one error type server functions return, and the per-field messages forms render.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What a form did wrong: messages per field (keyed by the input's `name`), an optional message
/// for the form as a whole, and what the person typed (never passwords), so that a page rendered
/// after a form post without JavaScript can show it again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors {
    pub fields: Vec<(String, String)>,
    pub form: Option<String>,
    pub values: Vec<(String, String)>,
}

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.fields.push((field.to_owned(), message.into()));
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_none()
    }

    /// Echoes the submitted values back with the errors.
    pub fn with_values(mut self, values: &[(&str, &str)]) -> Self {
        self.values = values.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self
    }

    /// `Ok(())` when nothing was added, otherwise the messages as an [`AppError::Invalid`].
    pub fn into_result(self) -> Result<(), AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("You do not have access to this.")]
    Forbidden,
    #[error("We could not find that.")]
    NotFound,
    #[error("Please correct the fields marked below.")]
    Invalid(FieldErrors),
    #[error("{0}")]
    Conflict(String),
    #[error("Too many attempts. Please wait a little and try again.")]
    TooManyRequests,
    #[error("The service is busy right now. Please try again in a moment.")]
    Unavailable,
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The request never reached our code, or its answer could not be read (network, codec).
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid(errors) => errors.get(name).map(str::to_owned),
            _ => None,
        }
    }

    /// The value the person had typed into `name`, when the error carries it.
    pub fn value(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid(errors) => {
                errors.values.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
            }
            _ => None,
        }
    }

    /// The message to show above a form: the form-level one, or this error's own wording.
    pub fn form_message(&self) -> String {
        match self {
            AppError::Invalid(FieldErrors { form: Some(message), .. }) => message.clone(),
            other => other.to_string(),
        }
    }

    /// The same error carrying what the person typed, so a form can show it again: field
    /// messages keep their fields, and a conflict becomes the form's message.
    pub fn keeping_input(self, values: &[(&str, &str)]) -> Self {
        match self {
            AppError::Invalid(errors) => AppError::Invalid(errors.with_values(values)),
            AppError::Conflict(message) => {
                let errors = FieldErrors { form: Some(message), ..FieldErrors::default() };
                AppError::Invalid(errors.with_values(values))
            }
            other => other,
        }
    }

    /// A single-field validation error.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.add(field, message);
        AppError::Invalid(errors)
    }

    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Unauthenticated => 401,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::Invalid(_) => 422,
            AppError::Conflict(_) => 409,
            AppError::TooManyRequests => 429,
            AppError::Unavailable => 503,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        crate::db::DbError::from(err).into()
    }
}

#[cfg(feature = "ssr")]
impl From<crate::db::DbError> for AppError {
    fn from(err: crate::db::DbError) -> Self {
        use crate::db::DbError;
        crate::ops::metrics::record_db_error(matches!(err, DbError::Busy(_)));
        match err {
            DbError::Busy(_) | DbError::Unreachable(_) | DbError::Overloaded(_) => {
                tracing::warn!(error = %err, "database unavailable");
                AppError::Unavailable
            }
            other => {
                tracing::error!(error = %other, "database error");
                AppError::Internal
            }
        }
    }
}
