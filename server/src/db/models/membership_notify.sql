-- Tells every server process to reload its authorization policy. Sent inside
-- the transaction that changed a membership, so it is delivered on commit and
-- never for a rolled-back change.
NOTIFY palisade_authz
