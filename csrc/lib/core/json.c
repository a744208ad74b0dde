#include "eos/core/json.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eos/core/buf.h"

#define MAX_DEPTH 128

struct parser {
	const char *s;
	size_t len, pos;
	const char *what;
	struct eos_err *e;
};

static int fail(struct parser *p, const char *why)
{
	return eos_fail(p->e, EINVAL, "", "%s: invalid JSON at offset %zu: %s", p->what, p->pos, why);
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
		p->pos++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int put_utf8(struct eos_buf *b, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return eos_buf_append(b, u, n);
}

static int read_hex4(struct parser *p, unsigned *cp)
{
	if (p->pos + 4 > p->len)
		return fail(p, "truncated \\u escape");
	*cp = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p->s[p->pos + (size_t)i]);
		if (h < 0)
			return fail(p, "bad \\u escape");
		*cp = (*cp << 4) | (unsigned)h;
	}
	p->pos += 4;
	return 0;
}

/* At the opening quote; returns a malloc'd string. */
static int parse_string(struct parser *p, char **out)
{
	struct eos_buf b = EOS_BUF_INIT;
	int r;
	p->pos++;
	if ((r = eos_buf_reserve(&b, 16)))
		return eos_fail(p->e, ENOMEM, "", "out of memory");
	b.data[0] = '\0';
	while (p->pos < p->len) {
		char c = p->s[p->pos++];
		if (c == '"') {
			*out = b.data;
			return 0;
		}
		if ((unsigned char)c < 0x20) {
			r = fail(p, "control character in string");
			goto err;
		}
		if (c != '\\') {
			if (eos_buf_append(&b, &c, 1))
				goto nomem;
			continue;
		}
		if (p->pos >= p->len)
			break;
		char esc = p->s[p->pos++];
		const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
		const char *k = strchr(from, esc);
		if (esc && k) {
			if (eos_buf_append(&b, &to[k - from], 1))
				goto nomem;
		} else if (esc == 'u') {
			unsigned cp;
			if ((r = read_hex4(p, &cp)))
				goto err;
			if (cp >= 0xD800 && cp < 0xDC00 && p->pos + 1 < p->len && p->s[p->pos] == '\\' &&
			    p->s[p->pos + 1] == 'u') {
				unsigned lo;
				p->pos += 2;
				if ((r = read_hex4(p, &lo)))
					goto err;
				if (lo >= 0xDC00 && lo < 0xE000)
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				else
					cp = 0xD800;  /* the low half is missing: refused below */
			}
			/* C strings end at a NUL: "a\u0000b" would be read as "a". A lone surrogate
			 * is no character and its UTF-8 form is invalid. */
			if (cp == 0) {
				r = fail(p, "\\u0000 (a NUL byte) in a string");
				goto err;
			}
			if (cp >= 0xD800 && cp < 0xE000) {
				r = fail(p, "unpaired surrogate in a \\u escape");
				goto err;
			}
			if (put_utf8(&b, cp))
				goto nomem;
		} else {
			r = fail(p, "bad escape");
			goto err;
		}
	}
	r = fail(p, "unterminated string");
	goto err;
nomem:
	r = eos_fail(p->e, ENOMEM, "", "out of memory");
err:
	eos_buf_free(&b);
	return r;
}

static int parse_value(struct parser *p, struct eos_json *j, int depth);

static int parse_container(struct parser *p, struct eos_json *j, int depth, char close)
{
	struct eos_json **tail = &j->child;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		struct eos_json *c = calloc(1, sizeof(*c));
		if (!c)
			return eos_fail(p->e, ENOMEM, "", "out of memory");
		*tail = c;
		tail = &c->next;
		j->n++;
		skip_ws(p);
		if (close == '}') {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return fail(p, "expected a member name");
			int r = parse_string(p, &c->key);
			if (r)
				return r;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return fail(p, "expected ':'");
			p->pos++;
		}
		int r = parse_value(p, c, depth + 1);
		if (r)
			return r;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return 0;
		}
		return fail(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int parse_literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->pos + n > p->len || strncmp(p->s + p->pos, word, n) != 0)
		return fail(p, "unexpected token");
	p->pos += n;
	return 0;
}

static int parse_number(struct parser *p, struct eos_json *j)
{
	size_t start = p->pos;
	while (p->pos < p->len && p->s[p->pos] && strchr("+-0123456789.eE", p->s[p->pos]))
		p->pos++;
	if (p->pos == start)
		return fail(p, "unexpected character");
	j->type = EOS_JSON_NUMBER;
	j->str = strndup(p->s + start, p->pos - start);
	if (!j->str)
		return eos_fail(p->e, ENOMEM, "", "out of memory");
	char *end;
	j->num = strtod(j->str, &end);
	if (*end)
		return fail(p, "bad number");
	return 0;
}

static int parse_value(struct parser *p, struct eos_json *j, int depth)
{
	if (depth > MAX_DEPTH)
		return fail(p, "nested too deeply");
	skip_ws(p);
	if (p->pos >= p->len)
		return fail(p, "unexpected end");
	switch (p->s[p->pos]) {
	case '{':
		j->type = EOS_JSON_OBJECT;
		return parse_container(p, j, depth, '}');
	case '[':
		j->type = EOS_JSON_ARRAY;
		return parse_container(p, j, depth, ']');
	case '"':
		j->type = EOS_JSON_STRING;
		return parse_string(p, &j->str);
	case 't':
		j->type = EOS_JSON_BOOL;
		j->boolean = 1;
		return parse_literal(p, "true");
	case 'f':
		j->type = EOS_JSON_BOOL;
		return parse_literal(p, "false");
	case 'n':
		j->type = EOS_JSON_NULL;
		return parse_literal(p, "null");
	default:
		return parse_number(p, j);
	}
}

int eos_json_parse(const char *text, size_t len, const char *what, struct eos_json **out,
		   struct eos_err *e)
{
	struct parser p = {text, len, 0, what ? what : "JSON", e};
	struct eos_json *j = calloc(1, sizeof(*j));
	*out = NULL;
	if (!j)
		return eos_fail(e, ENOMEM, "", "out of memory");
	int r = parse_value(&p, j, 0);
	if (!r) {
		skip_ws(&p);
		if (p.pos != p.len && !(p.pos + 1 == p.len && text[p.pos] == '\0'))
			r = fail(&p, "trailing data");
	}
	if (r) {
		eos_json_free(j);
		return r;
	}
	*out = j;
	return 0;
}

void eos_json_free(struct eos_json *j)
{
	/* Iterative over siblings, recursive over depth (bounded by MAX_DEPTH). */
	while (j) {
		struct eos_json *next = j->next;
		eos_json_free(j->child);
		free(j->key);
		free(j->str);
		free(j);
		j = next;
	}
}

const struct eos_json *eos_json_get(const struct eos_json *obj, const char *key)
{
	if (!obj || obj->type != EOS_JSON_OBJECT)
		return NULL;
	for (const struct eos_json *c = obj->child; c; c = c->next)
		if (c->key && strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

const char *eos_json_str(const struct eos_json *obj, const char *key)
{
	const struct eos_json *v = eos_json_get(obj, key);
	return v && v->type == EOS_JSON_STRING ? v->str : NULL;
}

int eos_json_u64(const struct eos_json *obj, const char *key, uint64_t *out)
{
	const struct eos_json *v = eos_json_get(obj, key);
	if (!v || v->type == EOS_JSON_NULL)
		return -ENOENT;
	if (v->type != EOS_JSON_NUMBER && v->type != EOS_JSON_STRING)
		return -EINVAL;
	const char *s = v->str;
	/* Digits first: strtoull would skip spaces and take " -5" as 2^64 - 5. */
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || end == s || (*end && !(end[0] == 'B' && end[1] == '\0')))
		return -EINVAL;
	*out = x;
	return 0;
}
