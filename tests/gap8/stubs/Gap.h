/*
 * Gap.h -- host stub of the AutoTiler cluster timer macros (tests only).
 *
 * The timer reads 0 until gap_cl_starttimer() was called, as on GAP8 (gap_sdk issue 380), so a
 * firmware that forgets to start it prints all-zero cycles and the host parser rejects the run.
 */
#ifndef STUB_GAP_H
#define STUB_GAP_H

void gap_cl_starttimer(void);
void gap_cl_resethwtimer(void);
unsigned int gap_cl_readhwtimer(void);

#endif
