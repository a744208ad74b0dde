/* Pre-join health facts of a node: is the clock disciplined, how much room is left. */
#ifndef EOS_HEALTH_H
#define EOS_HEALTH_H

#include <stdint.h>

#include "eos/core/err.h"

struct eos_clock {
	int synchronized;        /* the kernel clock is disciplined (STA_UNSYNC clear, TIME_OK..) */
	int state;               /* adjtimex return: TIME_OK, TIME_INS, ..., TIME_ERROR */
	long long offset_ns;     /* last measured offset from the reference */
	long long maxerror_us;   /* maximum error estimate */
	long long esterror_us;   /* estimated error */
};

/* Read the kernel clock discipline state (adjtimex with modes = 0: reads only). */
int eos_health_clock(struct eos_clock *c, struct eos_err *e);

#endif
