-- 0008: a principal of the system role is bound to one registered analytic
-- system, and acts only for it.
ALTER TABLE principals ADD COLUMN system_id TEXT REFERENCES analytic_systems (id);
