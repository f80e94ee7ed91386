//! Bench principals: users with API tokens, written straight to the database.

/// A user (created once) with a fresh API token; returns the token.
pub async fn principal(
    client: &tokio_postgres::Client,
    username: &str,
    superuser: bool,
) -> anyhow::Result<String> {
    let id: i64 = client
        .query_one(
            "INSERT INTO users (username, is_superuser) VALUES ($1, $2)
             ON CONFLICT (username) DO UPDATE SET is_superuser = EXCLUDED.is_superuser
             RETURNING id",
            &[&username, &superuser],
        )
        .await?
        .get(0);
    let token = palisade::domain::user::generate_token();
    client
        .execute(
            "INSERT INTO api_tokens (user_id, name, prefix, token_hash) VALUES ($1, 'bench', $2, $3)",
            &[&id, &token.prefix, &token.hash],
        )
        .await?;
    Ok(token.secret)
}
