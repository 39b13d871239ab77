/*-------------------------------------------------------------------------
 *
 * textsafe.h
 *	  Making bytes from the network safe to store as text.
 *
 * Every byte from VTGate is untrusted: names, messages and values that
 * reach a text value (a catalog row, the status view, peek(), an error
 * message) must be valid in the database encoding.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/textsafe.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_TEXTSAFE_H
#define VSTREAM_TEXTSAFE_H

#include "postgres.h"

/* Is s[0..len) valid in the database encoding? */
extern bool text_is_valid(const char *s, size_t len);

/*
 * A palloc'd NUL-terminated copy of s[0..len) that is valid in the database
 * encoding: every byte that does not start a valid character (including a
 * character cut at the end) is written as \xNN.  NUL bytes too.
 */
extern char *text_make_valid(const char *s, size_t len);

/* text_make_valid of a C string (NULL stays NULL) */
extern char *text_make_valid_cstr(const char *s);

/*
 * Copy a C string into dst (size bytes) like strlcpy, but never cut a
 * multi-byte character: the copy ends at the last whole character that
 * fits.  The source must be valid (text_make_valid it first).
 */
extern void text_strlcpy(char *dst, const char *src, size_t size);

#endif							/* VSTREAM_TEXTSAFE_H */
