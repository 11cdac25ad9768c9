# Reads a pg_dump SQL script (a plain dump, or what pg_restore -f - makes of a custom archive) and
# writes what scripts/adopt.sh checks before and after loading it:
#   -v facts=FILE    "key value" lines: complete (the dump's completion trailer was read, and
#                    nothing but comments after it), newest (newest schema_migrations row),
#                    accounts_settings (accounts has a settings column), role <name> per role the
#                    script names, meta <line> <command> per psql meta-command outside data (other
#                    than \restrict and \unrestrict), badrole <line> for a role name it cannot use
#   -v verify=FILE   one DO block that raises unless every table has the dump's row count and every
#                    sequence the dump's value; loaded in the same transaction, so a mismatch
#                    leaves the database as empty as it was
# Data lines (between COPY … FROM stdin; and \.) are counted, never interpreted.
function role(name, line) {
  gsub(/^"|"$/, "", name)
  if (name == "" || name == "postgres" || name == "PUBLIC" || name == "public") return
  if (name !~ /^[A-Za-z_][A-Za-z0-9_$-]*$/) { print "badrole " line > facts; return }
  roles[name] = 1
}
function literal(s) { gsub(/'/, "''", s); return "'" s "'" }
BEGIN { in_copy = 0; complete = 0; newest = ""; settings = 0; in_accounts = 0; ntables = 0; nseq = 0 }

in_copy {
  if ($0 == "\\.") { in_copy = 0; next }
  rows[table]++
  if (table == "public.schema_migrations" && $0 ~ /^[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]/) { v = substr($0, 1, 14); if (v > newest) newest = v }
  next
}
# After the trailer only comments, blank lines and \unrestrict may follow.
complete && !($0 ~ /^(--.*)?$/ || $0 ~ /^\\unrestrict /) { complete = 0 }
$0 == "-- PostgreSQL database dump complete" { complete = 1; next }
/^COPY [^ ]+ .*FROM stdin;$/ {
  table = $2; in_copy = 1
  if (!(table in rows)) { rows[table] = 0; tables[++ntables] = table }
  next
}
/^\\(restrict|unrestrict) / { next }
/^\\/ { split($0, w, /[ \t]/); print "meta " NR " " substr(w[1], 1, 20) > facts; next }
/^SELECT pg_catalog\.setval\('/ {
  s = $0; sub(/^SELECT pg_catalog\.setval\('/, "", s)
  name = substr(s, 1, index(s, "'") - 1); s = substr(s, index(s, "'") + 1)
  if (match(s, /^, [0-9-]+, (true|false)\);$/)) {
    split(substr(s, 3, length(s) - 4), p, ", ")
    seqs[++nseq] = name; seqval[nseq] = p[1]; seqcalled[nseq] = p[2]
  }
  next
}
/^CREATE TABLE public\.accounts \($/ { in_accounts = 1; next }
in_accounts && /^\);?$/ { in_accounts = 0 }
in_accounts && /^    settings jsonb/ { settings = 1 }
# Roles: owners, grantees (also WITH GRANT OPTION), revokees, default privileges, session roles.
/ OWNER TO [^ ;]+;$/ { r = $0; sub(/.* OWNER TO /, "", r); sub(/;$/, "", r); role(r, NR) }
/^ALTER DEFAULT PRIVILEGES FOR ROLE / { r = $0; sub(/^ALTER DEFAULT PRIVILEGES FOR ROLE /, "", r); sub(/ .*/, "", r); role(r, NR) }
/^(ALTER DEFAULT PRIVILEGES .* )?GRANT .* TO [^ ;]+( WITH GRANT OPTION)?;$/ {
  r = $0; sub(/ WITH GRANT OPTION;$/, ";", r); sub(/.* TO /, "", r); sub(/;$/, "", r); role(r, NR)
}
/^(ALTER DEFAULT PRIVILEGES .* )?REVOKE .* FROM [^ ;]+;$/ { r = $0; sub(/.* FROM /, "", r); sub(/;$/, "", r); role(r, NR) }
/^SET (SESSION AUTHORIZATION|ROLE) / { r = $0; sub(/^SET (SESSION AUTHORIZATION|ROLE) /, "", r); sub(/;$/, "", r); gsub(/'/, "", r); role(r, NR) }

END {
  print "complete " (complete ? "yes" : "no") > facts
  print "newest " (newest == "" ? "none" : newest) > facts
  print "accounts_settings " (settings ? "yes" : "no") > facts
  for (r in roles) print "role " r > facts
  print "DO $adopt_verify$" > verify
  print "DECLARE n bigint; s record;" > verify
  print "BEGIN" > verify
  for (i = 1; i <= ntables; i++) {
    t = tables[i]
    print "  SELECT count(*) INTO n FROM " t ";" > verify
    print "  IF n <> " rows[t] " THEN RAISE EXCEPTION 'adopt: % has % rows after the load, the dump has %', " literal(t) ", n, " rows[t] "; END IF;" > verify
  }
  for (i = 1; i <= nseq; i++) {
    print "  SELECT last_value, is_called INTO s FROM " seqs[i] ";" > verify
    print "  IF s.last_value <> " seqval[i] " OR s.is_called <> " seqcalled[i] " THEN RAISE EXCEPTION 'adopt: sequence % is at % after the load, the dump sets %', " literal(seqs[i]) ", s.last_value, " literal(seqval[i]) "; END IF;" > verify
  }
  print "END $adopt_verify$;" > verify
}
