/* /etc/fstab, read and changed line by line: every other line is kept byte for byte, and the
 * file is replaced atomically (eos_file_write_atomic). Targets are written with fstab's octal
 * escapes (space, tab, newline, backslash) and compared unescaped. */
#ifndef EOS_FSTAB_H
#define EOS_FSTAB_H

#include <stddef.h>

#include "eos/core/err.h"

/* target with fstab's escapes into out; -ENAMETOOLONG (nothing cut) when it does not fit. */
int eos_fstab_escape(const char *target, char *out, size_t len);

/* Add "spec target fstype options 0 pass". Returns 1 when written, 0 when the same spec is
 * already there for target, -EEXIST when target has another entry (unless replace_note: then
 * that line is commented out as "# <replace_note>: <line>"). */
int eos_fstab_add(const char *fstab, const char *spec, const char *target, const char *fstype,
		  const char *options, int pass, const char *replace_note, struct eos_err *e);

/* Undo eos_fstab_add with a replace_note: drop the entries of spec for target and restore the
 * lines for target commented out with note. Returns how many lines changed. */
int eos_fstab_undo(const char *fstab, const char *spec, const char *target, const char *note,
		   struct eos_err *e);

/* Comment out ("# note: line") every entry whose spec is spec. Returns how many. */
int eos_fstab_disable(const char *fstab, const char *spec, const char *note, struct eos_err *e);

/* The target of the first entry whose spec is spec into buf ("" when none). */
int eos_fstab_target_of(const char *fstab, const char *spec, char *buf, size_t len, struct eos_err *e);

/* The spec of the fstab entry for target into buf ("" when none). */
int eos_fstab_find(const char *fstab, const char *target, char *buf, size_t len, struct eos_err *e);

#endif
