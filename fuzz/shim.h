/*-------------------------------------------------------------------------
 *
 * shim.h
 *	  Backend shim for the libFuzzer harnesses (see shim.c).
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  fuzz/shim.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_FUZZ_SHIM_H
#define VSTREAM_FUZZ_SHIM_H

#include <setjmp.h>

extern sigjmp_buf fuzz_jmp;
extern int	fuzz_errors;
extern void fuzz_reset(void);

#endif
