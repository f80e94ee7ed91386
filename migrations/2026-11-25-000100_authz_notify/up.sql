-- The authorization policy depends on more than the membership tables: which
-- products a product type holds (product-type roles extend to them) and
-- which users are active or superusers. Statement-level triggers queue one
-- reload notification per changing statement; PostgreSQL folds identical
-- notifications of one transaction into one, delivered on commit.
CREATE FUNCTION palisade_notify_authz() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('palisade_authz', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER products_authz_notify
    AFTER INSERT OR DELETE OR UPDATE OF product_type_id ON products
    FOR EACH STATEMENT EXECUTE FUNCTION palisade_notify_authz();

CREATE TRIGGER users_authz_notify
    AFTER INSERT OR DELETE OR UPDATE OF is_superuser, is_active ON users
    FOR EACH STATEMENT EXECUTE FUNCTION palisade_notify_authz();

CREATE TRIGGER groups_authz_notify
    AFTER DELETE ON groups
    FOR EACH STATEMENT EXECUTE FUNCTION palisade_notify_authz();

-- Single sign-on attempts between the redirect to the identity provider and
-- its callback, so any server process can complete what another started.
CREATE TABLE oidc_logins (
    state VARCHAR(64) PRIMARY KEY,
    nonce VARCHAR(64) NOT NULL,
    code_verifier VARCHAR(128) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
