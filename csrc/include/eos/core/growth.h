/* Usage samples the minion keeps in its cache, and the growth rate they show.
 *
 * One text file per mount, <cachedir>/eos/samples/<escaped mount point>, one line per sample:
 * "<unix time, 3 decimals> <used bytes> <size bytes>\n", appended with a single write under a
 * lock (<cachedir>/eos/samples/.lock). When a file passes EOS_SAMPLES_MAX_BYTES it is rewritten
 * (temporary file, fsync, rename) keeping the newest EOS_SAMPLES_KEEP samples younger than
 * EOS_SAMPLES_MAX_AGE. Readers skip lines that do not parse (a torn append after a crash). */
#ifndef EOS_GROWTH_H
#define EOS_GROWTH_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

#define EOS_SAMPLES_MAX_BYTES (64 * 1024)
#define EOS_SAMPLES_KEEP 1024
#define EOS_SAMPLES_MAX_AGE (30.0 * 86400)
#define EOS_GROWTH_WINDOW_DEFAULT (24.0 * 3600)

struct eos_sample {
	double t;       /* unix time, seconds */
	uint64_t used;  /* bytes */
	uint64_t size;  /* bytes */
};

/* File name for a mount point: systemd-escape --path style ("/" -> "-", "/var/log" ->
 * "var-log", other bytes outside [A-Za-z0-9:_.] as \xHH); long names are cut and end in a
 * hash of the whole path. Returns 0 or -ENAMETOOLONG. */
int eos_samples_name(const char *target, char *out, size_t n);

/* The sample file's full path. */
int eos_samples_path(const char *cachedir, const char *target, char *out, size_t n,
		     struct eos_err *e);

/* Append one sample (creating directories and the file, mode 0700/0600), pruning the file
 * when it has grown past its bound. */
int eos_samples_append(const char *cachedir, const char *target, const struct eos_sample *s,
		       struct eos_err *e);

/* All samples of a mount, oldest first as written; a missing file is zero samples.
 * *out is malloc'd (NULL when n is 0). */
int eos_samples_read(const char *cachedir, const char *target, struct eos_sample **out,
		     size_t *n, struct eos_err *e);

struct eos_growth {
	size_t samples;          /* samples inside the window */
	double span;             /* seconds between the first and the last of them */
	int has_rate;            /* at least two samples at different times */
	double bytes_per_hour;   /* least-squares slope of used bytes over time */
	int has_eta;             /* growing (rate > 0) */
	double seconds_to_full;  /* avail / rate */
};

/* Growth over the samples no older than window seconds before the newest one (window <= 0:
 * EOS_GROWTH_WINDOW_DEFAULT); avail is the space left now, in bytes. */
void eos_growth_compute(const struct eos_sample *v, size_t n, double window, uint64_t avail,
			struct eos_growth *g);

#endif
