/* The tokenizer and tree of LVM's text metadata (see lvm_meta.h). Recursive descent, depth
 * bounded by EOS_LVM_META_DEPTH; every read is checked against the end of the text. */
#include "eos/drivers/lvm/lvm_meta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct lexer {
	const char *p, *start, *end;
	size_t nodes;
	unsigned line;  /* counted as newlines are passed (in blanks, comments and strings) */
	struct eos_err *e;
};

static unsigned line_of(const struct lexer *x)
{
	return x->line;
}

static int bad(struct lexer *x, const char *what)
{
	char c = x->p < x->end ? *x->p : 0;
	if (c >= 0x20 && c < 0x7f)
		return eos_fail(x->e, EINVAL, NULL, "LVM metadata, line %u: %s (at '%c')", line_of(x), what, c);
	return eos_fail(x->e, EINVAL, NULL, "LVM metadata, line %u: %s (at %s)", line_of(x), what,
			x->p < x->end ? "a control byte" : "the end");
}

static void skip_ws(struct lexer *x)
{
	while (x->p < x->end) {
		char c = *x->p;
		if (c == '#') {
			while (x->p < x->end && *x->p != '\n')
				x->p++;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			x->line += c == '\n';
			x->p++;
		} else {
			return;
		}
	}
}

static int is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '.' || c == '+' || c == '-';
}

static struct eos_lvm_node *new_node(struct lexer *x)
{
	if (++x->nodes > EOS_LVM_META_NODES) {
		bad(x, "more values than " "the 200000 eos reads");
		return NULL;
	}
	struct eos_lvm_node *n = calloc(1, sizeof(*n));
	if (!n)
		eos_fail(x->e, ENOMEM, NULL, "out of memory");
	else
		n->line = line_of(x);
	return n;
}

static int parse_string(struct lexer *x, char **out)
{
	char *buf = malloc(EOS_LVM_META_STR + 1);
	size_t n = 0;
	if (!buf)
		return eos_fail(x->e, ENOMEM, NULL, "out of memory");
	x->p++;  /* the opening quote */
	while (x->p < x->end && *x->p != '"') {
		if (*x->p == '\\' && x->p + 1 < x->end)
			x->p++;
		if (*x->p == '\0' || n == EOS_LVM_META_STR) {
			free(buf);
			return bad(x, n == EOS_LVM_META_STR ? "a string longer than 4096 bytes" : "a NUL in a string");
		}
		x->line += *x->p == '\n';
		buf[n++] = *x->p++;
	}
	if (x->p >= x->end) {
		free(buf);
		return bad(x, "a string without its closing quote");
	}
	x->p++;
	buf[n] = '\0';
	*out = buf;
	return 0;
}

static int parse_int(struct lexer *x, int64_t *out)
{
	int neg = 0;
	uint64_t v = 0;
	if (*x->p == '-') {
		neg = 1;
		x->p++;
	}
	if (x->p >= x->end || *x->p < '0' || *x->p > '9')
		return bad(x, "a number expected");
	while (x->p < x->end && *x->p >= '0' && *x->p <= '9') {
		uint64_t d = (uint64_t)(*x->p - '0');
		if (v > (UINT64_C(0x7fffffffffffffff) - d) / 10)
			return bad(x, "a number too large");
		v = v * 10 + d;
		x->p++;
	}
	if (x->p < x->end && (*x->p == '.' || is_key_char(*x->p)))
		return bad(x, "only whole numbers are expected");
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* A scalar (integer or string) into n. */
static int parse_scalar(struct lexer *x, struct eos_lvm_node *n)
{
	if (x->p >= x->end)
		return bad(x, "a value expected");
	if (*x->p == '"') {
		n->type = EOS_LVM_META_STR_T;
		return parse_string(x, &n->str);
	}
	n->type = EOS_LVM_META_INT;
	return parse_int(x, &n->num);
}

static int parse_list(struct lexer *x, struct eos_lvm_node *n)
{
	struct eos_lvm_node **tail = &n->child;
	n->type = EOS_LVM_META_LIST;
	x->p++;  /* '[' */
	skip_ws(x);
	while (x->p < x->end && *x->p != ']') {
		if (n->child) {
			if (*x->p != ',')
				return bad(x, "',' or ']' expected in a list");
			x->p++;
			skip_ws(x);
		}
		struct eos_lvm_node *item = new_node(x);
		if (!item)
			return -x->e->code;
		*tail = item;
		tail = &item->next;
		int r = parse_scalar(x, item);
		if (r)
			return r;
		skip_ws(x);
	}
	if (x->p >= x->end)
		return bad(x, "a list without its closing ']'");
	x->p++;
	return 0;
}

static int parse_entries(struct lexer *x, struct eos_lvm_node *section, int depth);

static int parse_entry(struct lexer *x, struct eos_lvm_node *n, int depth)
{
	const char *k = x->p;
	while (x->p < x->end && is_key_char(*x->p))
		x->p++;
	size_t klen = (size_t)(x->p - k);
	if (klen == 0)
		return bad(x, "a name expected");
	if (klen > EOS_LVM_META_STR)
		return bad(x, "a name longer than 4096 bytes");
	if (!(n->key = strndup(k, klen)))
		return eos_fail(x->e, ENOMEM, NULL, "out of memory");
	skip_ws(x);
	if (x->p < x->end && *x->p == '{') {
		if (depth >= EOS_LVM_META_DEPTH)
			return bad(x, "sections nested deeper than 8");
		x->p++;
		n->type = EOS_LVM_META_SECTION;
		int r = parse_entries(x, n, depth + 1);
		if (r)
			return r;
		if (x->p >= x->end || *x->p != '}')
			return bad(x, "a section without its closing '}'");
		x->p++;
		return 0;
	}
	if (x->p >= x->end || *x->p != '=')
		return bad(x, "'=' or '{' expected after a name");
	x->p++;
	skip_ws(x);
	if (x->p < x->end && *x->p == '[')
		return parse_list(x, n);
	return parse_scalar(x, n);
}

/* Entries until '}' (left for the caller) or the end of the text. */
static int parse_entries(struct lexer *x, struct eos_lvm_node *section, int depth)
{
	struct eos_lvm_node **tail = &section->child;
	for (;;) {
		skip_ws(x);
		if (x->p >= x->end || *x->p == '}' || *x->p == '\0')
			return 0;
		struct eos_lvm_node *n = new_node(x);
		if (!n)
			return -x->e->code;
		*tail = n;
		tail = &n->next;
		int r = parse_entry(x, n, depth);
		if (r)
			return r;
	}
}

int eos_lvm_meta_parse(const char *text, size_t len, struct eos_lvm_node **root, struct eos_err *e)
{
	struct lexer x = {text, text, text + len, 0, 1, e};
	struct eos_lvm_node *r = calloc(1, sizeof(*r));
	*root = NULL;
	if (!r)
		return eos_fail(e, ENOMEM, NULL, "out of memory");
	r->type = EOS_LVM_META_SECTION;
	int rc = parse_entries(&x, r, 1);
	if (!rc && x.p < x.end && *x.p == '}')
		rc = bad(&x, "a '}' without its section");
	/* lvm ends the text with a NUL; anything after it is not metadata. */
	if (!rc && x.p < x.end && *x.p == '\0')
		for (const char *q = x.p; q < x.end; q++)
			if (*q) {
				x.p = q;
				rc = bad(&x, "bytes after the terminating NUL");
				break;
			}
	if (rc) {
		eos_lvm_meta_free(r);
		return rc;
	}
	*root = r;
	return 0;
}

void eos_lvm_meta_free(struct eos_lvm_node *n)
{
	/* Siblings iteratively, children recursively: the depth is bounded, the width is not. */
	while (n) {
		struct eos_lvm_node *next = n->next;
		eos_lvm_meta_free(n->child);
		free(n->key);
		free(n->str);
		free(n);
		n = next;
	}
}

const struct eos_lvm_node *eos_lvm_meta_get(const struct eos_lvm_node *section, const char *key)
{
	for (const struct eos_lvm_node *n = section ? section->child : NULL; n; n = n->next)
		if (n->key && strcmp(n->key, key) == 0)
			return n;
	return NULL;
}
