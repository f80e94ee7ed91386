//! The API's error shape: every error carries `extensions.code`, and internal
//! failures are logged once here and shown without internals.

use async_graphql::ErrorExtensions;

use super::ids::Kind;
use crate::db::DbError;
use crate::domain::DomainError;

/// An error as the API reports it.
///
/// It deliberately has no `Display`: async-graphql converts any `Display`
/// error into a plain message, which would drop `extensions.code`; this type
/// converts through [`ErrorExtensions`] instead.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// The object is missing or not readable by the caller.
    NotFound(String),
    /// The input is invalid; the message names the field.
    BadUserInput(String),
    /// The caller may read the object but not do this.
    Forbidden(String),
    /// No valid credentials.
    Unauthenticated,
    /// Too many attempts; the message says when to retry.
    RateLimited(String),
    /// A parser plugin spent its CPU or memory budget on the report; the
    /// message says which. Nothing was stored.
    ParserLimit(String),
    /// A subscription resumed from before the events still kept.
    EventsExpired {
        /// The `afterSeq` asked for.
        after: i64,
        /// Events up to this seq may have been pruned.
        pruned: i64,
    },
    /// Anything else; details go to the log, not the client.
    Internal(String),
}

impl ApiError {
    /// The message shown to the client.
    pub fn message(&self) -> String {
        match self {
            ApiError::NotFound(what) => format!("{what} not found"),
            ApiError::BadUserInput(m) => m.clone(),
            ApiError::Forbidden(what) => format!("you are not allowed to {what}"),
            ApiError::Unauthenticated => "authentication required".to_owned(),
            ApiError::RateLimited(m) => m.clone(),
            ApiError::ParserLimit(m) => m.clone(),
            ApiError::EventsExpired { after, pruned } => format!(
                "afterSeq {after} is older than the event retention window (events up to seq \
                 {pruned} were pruned); reload the current state and subscribe again without afterSeq"
            ),
            ApiError::Internal(_) => "internal error".to_owned(),
        }
    }

    /// The `extensions.code` value.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::BadUserInput(_) => "BAD_USER_INPUT",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::RateLimited(_) => "RATE_LIMITED",
            ApiError::ParserLimit(_) => "PARSER_LIMIT",
            ApiError::EventsExpired { .. } => "EVENTS_EXPIRED",
            ApiError::Internal(_) => "INTERNAL",
        }
    }

    /// A bad-input error naming `field`.
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> ApiError {
        ApiError::BadUserInput(format!("{field}: {message}"))
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        if let ApiError::Internal(detail) = self {
            tracing::error!(error.detail = %detail, "request failed");
        }
        async_graphql::Error::new(self.message()).extend_with(|_, e| e.set("code", self.code()))
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        e.extend()
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound { kind, id } => ApiError::NotFound(format!("{kind} {id}")),
            DomainError::Invalid { field, message } => ApiError::invalid(&field, message),
            DomainError::Conflict(m) => ApiError::BadUserInput(m),
            DomainError::Refused {
                finding_ids,
                message,
            } => ApiError::BadUserInput(format!(
                "{message}: {}",
                super::ids::list(Kind::Finding, &finding_ids)
            )),
            DomainError::Db(e) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::from(DomainError::from(e))
    }
}

/// Result of resolvers.
pub type ApiResult<T> = Result<T, ApiError>;
