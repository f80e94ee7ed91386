DROP INDEX findings_custom_fields_idx;
ALTER TABLE engagements DROP COLUMN custom_fields;
ALTER TABLE products DROP COLUMN custom_fields;
ALTER TABLE findings DROP COLUMN custom_fields;
DROP TABLE custom_fields;
