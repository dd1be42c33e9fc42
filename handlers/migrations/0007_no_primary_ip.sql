-- What happens to the host of an object that loses its primary IP: disabled (history and
-- last interface kept), kept as it is, or deleted.
ALTER TABLE settings ADD COLUMN no_primary_ip text NOT NULL DEFAULT 'disable'
    CHECK (no_primary_ip IN ('disable', 'keep', 'delete'));
