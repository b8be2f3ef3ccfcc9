-- Reserved for the migration another branch adds as 0008; this file keeps
-- the sequence whole until they merge, and is dropped then.
SELECT 1;
