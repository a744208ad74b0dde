/* A small JSON reader (a tree of nodes) for tool reports: lvm --reportformat json,
 * ceph mon commands, inventories. Strings are UTF-8 with escapes decoded. */
#ifndef EOS_JSON_H
#define EOS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

enum eos_json_type {
	EOS_JSON_NULL,
	EOS_JSON_BOOL,
	EOS_JSON_NUMBER,
	EOS_JSON_STRING,
	EOS_JSON_ARRAY,
	EOS_JSON_OBJECT,
};

struct eos_json {
	enum eos_json_type type;
	char *key;               /* member name when the parent is an object */
	char *str;               /* STRING value; NUMBER's literal text */
	double num;              /* NUMBER */
	int boolean;             /* BOOL */
	struct eos_json *child;  /* first element / member */
	struct eos_json *next;   /* next sibling */
	size_t n;                /* number of children */
};

/* Parse text (len bytes). On error: -EINVAL with the offset in the message; what names the
 * source for the message (e.g. "lvm pvs"). */
int eos_json_parse(const char *text, size_t len, const char *what, struct eos_json **out,
		   struct eos_err *e);
void eos_json_free(struct eos_json *j);

/* Object member by name, or NULL. */
const struct eos_json *eos_json_get(const struct eos_json *obj, const char *key);
/* String member's value, or NULL when missing or not a string. */
const char *eos_json_str(const struct eos_json *obj, const char *key);
/* Integer member: a JSON number, or a string of digits (as lvm reports them) optionally
 * followed by a unit suffix 'B'. Returns 0, or -ENOENT / -EINVAL. */
int eos_json_u64(const struct eos_json *obj, const char *key, uint64_t *out);

#endif
