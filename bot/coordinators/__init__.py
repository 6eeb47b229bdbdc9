"""The coordinator's tools: the board (who has reported, the plan's measurable targets) and the
summed report's files (xlsx, docx, csv, png). Services over the database; chat commands and the
CLI call the same functions."""
