-- A project's annotations (Palette's metadata.annotations), as a JSON object.
ALTER TABLE projects ADD COLUMN annotations TEXT NOT NULL DEFAULT '{}';
