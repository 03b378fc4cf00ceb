-- Hardening after the outside review (issue 14).
-- Warnings on a usable photo (JSON array of {code, message, params}): EXIF that
-- was damaged and ignored, an impossible EXIF time, a capture long before the visit.
ALTER TABLE photos ADD COLUMN warnings TEXT;
