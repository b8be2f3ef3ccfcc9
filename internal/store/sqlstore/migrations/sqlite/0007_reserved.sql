-- Reserved for 0007_blocks (issue #19), which another branch adds; this
-- placeholder keeps the migrations in sequence on the concurrency-limits
-- branch and is deleted when the two merge.
SELECT 1;
