# The prelude the component scripts share. A script sources it by its path
# beside the script's folder (../lib.sh), which works when the file is run
# from a checkout; the text a Command runs has this file's text in place of
# that line (components/shell.py SOURCE_LIBRARY), so it needs no file and a
# delete runs what was recorded at create.
# shellcheck shell=sh

# Print "imagevolume: <message>" on stderr and exit 1.
fail() {
  printf 'imagevolume: %s\n' "$*" >&2
  exit 1
}

# Print "imagevolume: <message>" on stderr.
notice() { printf 'imagevolume: %s\n' "$*" >&2; }
