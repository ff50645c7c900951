-- Reserved: per-paragraph speakers (another branch) is migration 0006. This placeholder keeps the
-- numbers without gaps on this branch and is replaced by that migration when the branches meet.
SELECT 1;
