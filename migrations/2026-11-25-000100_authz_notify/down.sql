DROP TABLE oidc_logins;
DROP TRIGGER groups_authz_notify ON groups;
DROP TRIGGER users_authz_notify ON users;
DROP TRIGGER products_authz_notify ON products;
DROP FUNCTION palisade_notify_authz();
