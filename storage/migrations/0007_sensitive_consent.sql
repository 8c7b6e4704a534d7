-- 0007_sensitive_consent: explicit, separate consent for sensitive data in a question
-- (Law 91/2025/QH15, Decree 356/2025: health, violence, ethnic origin, private life).

-- The kinds of sensitive data the bot found in the question when she agreed, comma-separated
-- ("suc_khoe,doi_tu"); NULL: none found, or stored before this migration.
ALTER TABLE questions ADD COLUMN sensitive TEXT;
-- The version of the consent text she agreed to (config bot.sensitive_consent_version) and when.
ALTER TABLE questions ADD COLUMN sensitive_consent_version TEXT;
ALTER TABLE questions ADD COLUMN sensitive_consent_at TEXT;
-- When she withdrew it (/rut_dong_y): the text is erased then, this row keeps the record.
ALTER TABLE questions ADD COLUMN sensitive_withdrawn_at TEXT;
