#include "eos/ops/health.h"

#include <errno.h>
#include <string.h>
#include <sys/timex.h>

int eos_health_clock(struct eos_clock *c, struct eos_err *e)
{
	struct timex tx;
	memset(&tx, 0, sizeof(tx));
	memset(c, 0, sizeof(*c));
	int state = adjtimex(&tx);
	if (state < 0)
		return eos_fail_sys(e, errno, NULL, "adjtimex(modes=0)");
	c->state = state;
	c->synchronized = state != TIME_ERROR && !(tx.status & STA_UNSYNC);
	c->offset_ns = (tx.status & STA_NANO) ? tx.offset : (long long)tx.offset * 1000;
	c->maxerror_us = tx.maxerror;
	c->esterror_us = tx.esterror;
	return 0;
}
