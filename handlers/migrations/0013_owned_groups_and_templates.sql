-- What the service put on each host: the host groups and templates it linked (from the
-- mapping or an override), apart from those it found there (adopted, or added by hand).
-- Updates add and remove only these. NULL (rows written before): everything the host has
-- is taken as ours, as before, and the sets are recorded at the next write; an empty array
-- owns nothing (an adopted host).
ALTER TABLE host_configs ADD COLUMN owned_groups text[];
ALTER TABLE host_configs ADD COLUMN owned_templates text[];

-- Whether groups and templates the service did not put on a host stay on it.
ALTER TABLE settings ADD COLUMN keep_foreign_templates boolean NOT NULL DEFAULT true;
ALTER TABLE settings ADD COLUMN keep_foreign_groups boolean NOT NULL DEFAULT true;
