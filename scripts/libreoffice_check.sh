#!/bin/sh
# Open the summed report's files in LibreOffice, headless: convert the .xlsx and .docx to PDF and
# the workbook's tally sheet to CSV "as shown" (so the Vietnamese number and date formats are
# visible as LibreOffice renders them). Fails if a conversion fails; skips, saying so, when
# LibreOffice is not installed.
#
#   scripts/libreoffice_check.sh [DIR]   # DIR: files from `loa export` / benchmarks.export;
#                                        # default: make them with 20 agencies
set -eu
cd "$(dirname "$0")/.."
SOFFICE=$(command -v soffice || command -v libreoffice || true)
if [ -z "$SOFFICE" ]; then
    echo "libreoffice_check: LibreOffice is not installed (no soffice): skipped"
    exit 0
fi
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DIR=${1:-}
if [ -z "$DIR" ]; then
    DIR="$WORK/files"
    "$PY" -m benchmarks.export --agencies 20 --out "$DIR" > /dev/null
fi
# A private profile, so a desktop LibreOffice that is open does not swallow the conversion.
PROFILE="-env:UserInstallation=file://$WORK/profile"
status=0
for file in "$DIR"/*.xlsx "$DIR"/*.docx; do
    [ -e "$file" ] || continue
    name=$(basename "$file")
    if "$SOFFICE" "$PROFILE" --headless --convert-to pdf --outdir "$WORK/pdf" "$file" \
        > "$WORK/log" 2>&1 && [ -s "$WORK/pdf/${name%.*}.pdf" ]; then
        echo "libreoffice_check: ok   $name -> PDF ($(wc -c < "$WORK/pdf/${name%.*}.pdf") bytes)"
    else
        echo "libreoffice_check: FAIL $name"; cat "$WORK/log"; status=1
    fi
done
for file in "$DIR"/*.xlsx; do
    [ -e "$file" ] || continue
    # CSV filter options: comma, double quote, UTF-8, from line 1, ..., save cells as shown
    "$SOFFICE" "$PROFILE" --headless \
        --convert-to 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true' \
        --outdir "$WORK/csv" "$file" > "$WORK/log" 2>&1 || { cat "$WORK/log"; status=1; }
    shown="$WORK/csv/$(basename "${file%.*}").csv"
    echo "libreoffice_check: first sheet of $(basename "$file") as LibreOffice shows it:"
    head -n 4 "$shown" | sed 's/^/    /'
    tail -n 1 "$shown" | sed 's/^/    /'
done
exit $status
