"""The summed report: the latest version each agency sent, summed (summary.py), written as
.xlsx, .docx, .csv (the three tables) or a .png chart (`write_export`)."""
