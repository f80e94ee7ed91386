-- Custom fields: typed values a team adds to findings, products and
-- engagements, defined globally or for one product type. Values live in a
-- `custom_fields` object on each row, keyed by the definition's id, so a
-- rename changes nothing stored and the product and engagement audit
-- triggers record every change with its before/after.
CREATE TABLE custom_fields (
    id BIGSERIAL PRIMARY KEY,
    -- NULL: the field applies in every product type.
    product_type_id BIGINT REFERENCES product_types(id) ON DELETE CASCADE,
    name VARCHAR(100) NOT NULL,
    description TEXT,
    kind VARCHAR(20) NOT NULL
        CHECK (kind IN ('text', 'number', 'boolean', 'date', 'single_choice', 'multi_choice')),
    choices TEXT[] NOT NULL DEFAULT '{}',
    -- Any of 'finding', 'product', 'engagement'.
    applies_to TEXT[] NOT NULL,
    -- The parser `extra` keys an import reads the value from.
    import_keys TEXT[] NOT NULL DEFAULT '{}',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    creator_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- One name per scope; the application also keeps a product type's names
-- apart from the global ones.
CREATE UNIQUE INDEX custom_fields_name_idx ON custom_fields (COALESCE(product_type_id, 0), lower(name));
SELECT diesel_manage_updated_at('custom_fields');

-- A constant default: no table rewrite.
ALTER TABLE findings ADD COLUMN custom_fields JSONB NOT NULL DEFAULT '{}';
ALTER TABLE products ADD COLUMN custom_fields JSONB NOT NULL DEFAULT '{}';
ALTER TABLE engagements ADD COLUMN custom_fields JSONB NOT NULL DEFAULT '{}';

-- Only findings that carry a value are indexed, so imports of findings
-- without custom fields pay nothing; filters add the matching predicate.
CREATE INDEX findings_custom_fields_idx ON findings USING gin (custom_fields jsonb_path_ops)
    WHERE custom_fields <> '{}';
