DROP TABLE files;
DROP FUNCTION audit_file();
