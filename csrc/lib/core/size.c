#include "eos/core/size.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int bad(struct eos_err *e, const char *s, const char *why)
{
	return eos_fail(e, EINVAL, "", "invalid size '%s': %s (expected e.g. +50G, 200GiB, "
			"100%%FREE, max or auto)", s, why);
}

static int unit_shift(const char *u, unsigned *shift)
{
	static const char units[] = "BKMGTP";
	if (*u == '\0') {
		*shift = 0;
		return 0;
	}
	const char *p = strchr(units, toupper((unsigned char)*u));
	if (!p)
		return -1;
	*shift = (unsigned)(p - units) * 10;
	u++;
	if (p == units)  /* "B" stands alone */
		return *u == '\0' ? 0 : -1;
	if (*u == '\0' || strcasecmp(u, "B") == 0 || strcasecmp(u, "iB") == 0)
		return 0;
	return -1;
}

int eos_size_parse(const char *s, struct eos_size_req *req, struct eos_err *e)
{
	if (!s || !*s)
		return eos_fail(e, EINVAL, "", "invalid size '': empty (expected e.g. +50G, 200GiB, "
				"100%%FREE, max or auto)");
	memset(req, 0, sizeof(*req));
	if (strcasecmp(s, "max") == 0) {
		req->kind = EOS_SIZE_MAX;
		return 0;
	}
	if (strcasecmp(s, "auto") == 0) {
		req->kind = EOS_SIZE_AUTO;
		return 0;
	}
	const char *p = s;
	if (*p == '-')
		return bad(e, s, "negative sizes would shrink; eos never shrinks");
	req->kind = EOS_SIZE_ABSOLUTE;
	if (*p == '+') {
		req->kind = EOS_SIZE_GROW_BY;
		p++;
	}
	if (!isdigit((unsigned char)*p))
		return bad(e, s, "no number");
	uint64_t whole = 0, frac = 0, frac_div = 1;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return bad(e, s, "too large");
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return bad(e, s, "no digits after the decimal point");
		for (; isdigit((unsigned char)*p); p++) {
			if (frac_div >= 1000000000ULL)
				return bad(e, s, "too many decimals");
			frac = frac * 10 + (uint64_t)(*p - '0');
			frac_div *= 10;
		}
	}
	if (*p == '%') {
		if (req->kind != EOS_SIZE_ABSOLUTE || frac_div != 1 || strcasecmp(p, "%FREE") != 0)
			return bad(e, s, "percentages are written N%FREE");
		if (whole < 1 || whole > 100)
			return bad(e, s, "percentage must be 1 to 100");
		req->kind = EOS_SIZE_PCT_FREE;
		req->pct = (unsigned)whole;
		return 0;
	}
	unsigned shift;
	if (unit_shift(p, &shift))
		return bad(e, s, "unknown unit");
	if (!shift && frac_div != 1)
		return bad(e, s, "a count of bytes has no decimals (give a unit: K, M, G, T, P)");
	if (shift && whole > (UINT64_MAX >> shift))
		return bad(e, s, "too large");
	uint64_t bytes = whole << shift;
	if (frac) {
		/* frac/frac_div of one unit; frac_div <= 1e9 and shift <= 50 keeps this in range
		 * only when computed as (frac << shift) / frac_div for small shifts, so split. */
		uint64_t unit = 1ULL << shift;
		uint64_t part = (unit / frac_div) * frac + ((unit % frac_div) * frac) / frac_div;
		if (bytes > UINT64_MAX - part)
			return bad(e, s, "too large");
		bytes += part;
	}
	if (bytes == 0)
		return bad(e, s, "zero");
	req->bytes = bytes;
	return 0;
}

void eos_size_format(uint64_t bytes, char *dst, unsigned n)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	unsigned i = 0;
	double v = (double)bytes;
	while (v >= 1024.0 && i < 6) {
		v /= 1024.0;
		i++;
	}
	if (i == 0)
		snprintf(dst, n, "%llu B", (unsigned long long)bytes);
	else
		snprintf(dst, n, "%.1f %s", v, units[i]);
}
