-- The permanent audit trail: who changed what, when, with before/after
-- values, for every node. Finding changes are the finding events: they stay
-- in `events` for the replay window and move here, unchanged and with their
-- sequence numbers, when the pruner retires them. Everything else (product
-- types, products, engagements, tests, memberships) is written here by the
-- triggers below as it happens. All entries draw from the events sequence,
-- so one number orders a node's whole history.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY DEFAULT nextval('events_seq_seq'),
    at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- No foreign key: the trail outlives accounts (ids are never reused).
    actor_id BIGINT,
    object_kind VARCHAR(40) NOT NULL,
    object_id BIGINT NOT NULL,
    product_id BIGINT,
    action VARCHAR(40) NOT NULL,
    changes JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_object_idx ON audit_log (object_kind, object_id, seq);

-- A finding's history reads its events by finding.
CREATE INDEX events_finding_idx ON events (finding_id, seq);

-- The acting user of the transaction, as the application sets it with
-- set_config('palisade.actor', id, true); NULL for the system.
CREATE FUNCTION audit_actor() RETURNS BIGINT LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('palisade.actor', true), '')::BIGINT
$$;

-- Rows of product_types, products, engagements and tests: created (every
-- column), updated (the columns that changed) and deleted (every column).
CREATE FUNCTION audit_object() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind TEXT := TG_ARGV[0];
    old_row JSONB;
    new_row JSONB;
    any_row JSONB;
    diff JSONB;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD) - 'created_at' - 'updated_at';
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW) - 'created_at' - 'updated_at';
    END IF;
    any_row := COALESCE(new_row, old_row);
    SELECT COALESCE(jsonb_object_agg(k, jsonb_build_object('before', old_row -> k, 'after', new_row -> k)), '{}')
      INTO diff
      FROM jsonb_object_keys(any_row) AS k
     WHERE k <> 'id' AND (old_row -> k) IS DISTINCT FROM (new_row -> k);
    IF TG_OP = 'UPDATE' AND diff = '{}' THEN
        RETURN NULL;
    END IF;
    INSERT INTO audit_log (actor_id, object_kind, object_id, product_id, action, changes)
    VALUES (audit_actor(), kind, (any_row ->> 'id')::BIGINT,
            CASE WHEN kind = 'Product' THEN (any_row ->> 'id')::BIGINT
                 ELSE (any_row ->> 'product_id')::BIGINT END,
            CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END,
            diff);
    RETURN NULL;
END $$;

CREATE TRIGGER audit_product_types AFTER INSERT OR UPDATE OR DELETE ON product_types
    FOR EACH ROW EXECUTE FUNCTION audit_object('ProductType');
CREATE TRIGGER audit_products AFTER INSERT OR UPDATE OR DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION audit_object('Product');
CREATE TRIGGER audit_engagements AFTER INSERT OR UPDATE OR DELETE ON engagements
    FOR EACH ROW EXECUTE FUNCTION audit_object('Engagement');
CREATE TRIGGER audit_tests AFTER INSERT OR UPDATE OR DELETE ON tests
    FOR EACH ROW EXECUTE FUNCTION audit_object('Test');

-- Members (users or groups with a role) of products and product types, in
-- the history of the product or product type.
CREATE FUNCTION audit_member() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind TEXT := TG_ARGV[0];
    object_col TEXT := TG_ARGV[1];
    who_col TEXT := TG_ARGV[2];
    any_row JSONB;
    old_role TEXT;
    new_role TEXT;
    object_id BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        any_row := to_jsonb(OLD);
    ELSE
        any_row := to_jsonb(NEW);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        SELECT name INTO old_role FROM roles WHERE id = OLD.role_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT name INTO new_role FROM roles WHERE id = NEW.role_id;
    END IF;
    IF TG_OP = 'UPDATE' AND old_role IS NOT DISTINCT FROM new_role THEN
        RETURN NULL;
    END IF;
    object_id := (any_row ->> object_col)::BIGINT;
    INSERT INTO audit_log (actor_id, object_kind, object_id, product_id, action, changes)
    VALUES (audit_actor(), kind, object_id,
            CASE WHEN kind = 'Product' THEN object_id END,
            CASE TG_OP WHEN 'INSERT' THEN 'member_added' WHEN 'UPDATE' THEN 'member_changed'
                       ELSE 'member_removed' END,
            jsonb_build_object(CASE WHEN who_col = 'user_id' THEN 'user' ELSE 'group' END,
                               (any_row ->> who_col)::BIGINT,
                               'role', jsonb_build_object('before', old_role, 'after', new_role)));
    RETURN NULL;
END $$;

CREATE TRIGGER audit_product_members AFTER INSERT OR UPDATE OR DELETE ON product_members
    FOR EACH ROW EXECUTE FUNCTION audit_member('Product', 'product_id', 'user_id');
CREATE TRIGGER audit_product_groups AFTER INSERT OR UPDATE OR DELETE ON product_groups
    FOR EACH ROW EXECUTE FUNCTION audit_member('Product', 'product_id', 'group_id');
CREATE TRIGGER audit_product_type_members AFTER INSERT OR UPDATE OR DELETE ON product_type_members
    FOR EACH ROW EXECUTE FUNCTION audit_member('ProductType', 'product_type_id', 'user_id');
CREATE TRIGGER audit_product_type_groups AFTER INSERT OR UPDATE OR DELETE ON product_type_groups
    FOR EACH ROW EXECUTE FUNCTION audit_member('ProductType', 'product_type_id', 'group_id');
