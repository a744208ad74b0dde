/* The one monotonic clock the library measures durations and deadlines with. */
#ifndef EOS_CLOCK_H
#define EOS_CLOCK_H

/* Milliseconds of CLOCK_MONOTONIC: for differences and deadlines only. */
long long eos_now_ms(void);

#endif
