//! Inputs and payloads shared by the mutations of every area: each
//! `delete*` takes a [`DeleteInput`] and answers a [`DeletePayload`].

use async_graphql::{ID, InputObject, SimpleObject};

/// Input of every delete mutation.
#[derive(InputObject)]
pub struct DeleteInput {
    /// The object to delete.
    pub id: ID,
}

/// Result of a delete.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// Id of the deleted object.
    pub deleted_id: ID,
}

impl DeletePayload {
    /// The payload of deleting `input`'s object.
    pub fn of(input: DeleteInput) -> DeletePayload {
        DeletePayload {
            deleted_id: input.id,
        }
    }
}
