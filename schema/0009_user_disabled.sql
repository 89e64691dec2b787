-- mode: expand
-- An operator can disable a user (`mychips user disable`): a disabled user cannot log in and has no sessions, while
-- their tallies keep working for their partners. NULL = enabled; older code ignores the column.
ALTER TABLE mychips.users ADD COLUMN disabled_at timestamptz;
