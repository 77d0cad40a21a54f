-- 0016: runs.authorization becomes authorization_id, the name every other
-- reference column has; PostgreSQL reserves "authorization".
ALTER TABLE runs RENAME COLUMN authorization TO authorization_id;
