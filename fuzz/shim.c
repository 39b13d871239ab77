/*-------------------------------------------------------------------------
 *
 * shim.c
 *	  The pieces of the PostgreSQL backend that the fuzzed decoders use,
 *	  for libFuzzer harnesses that run src/ code unchanged outside a server.
 *
 * Memory: palloc and the MemoryContext allocation functions take memory
 * from an arena that fuzz_reset() frees after every input (so that
 * LeakSanitizer sees real leaks only).  Errors: errstart/errfinish record
 * the level; an ERROR jumps back to the harness (fuzz_jmp), like a
 * PG_CATCH would.  Encodings: the database encoding is UTF-8; checks use
 * libpgcommon's wchar.c.  Anything else the code references but the fuzzed
 * paths never call is left unresolved at link time (see tools/fuzz.sh).
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  fuzz/shim.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <setjmp.h>

#include "mb/pg_wchar.h"
#include "utils/memutils.h"

#include "shim.h"

sigjmp_buf	fuzz_jmp;
int			fuzz_errors = 0;

static int	cur_elevel;

/* a dummy context: the code only passes it around */
static MemoryContextData dummy_context;
MemoryContext CurrentMemoryContext = &dummy_context;
MemoryContext TopMemoryContext = &dummy_context;
MemoryContext ErrorContext = &dummy_context;

/* ---- arena ---- */
typedef struct Chunk
{
	struct Chunk *next;
	size_t		size;
	/* data follows, max-aligned */
} Chunk;

#define CHUNK_HDR MAXALIGN(sizeof(Chunk))
static Chunk *chunks = NULL;
static size_t arena_bytes = 0;

#define FUZZ_ARENA_LIMIT ((size_t) 1536 * 1024 * 1024)

static void *
arena_alloc(size_t size, bool zero, bool no_oom)
{
	Chunk	   *c;

	if (size > MaxAllocHugeSize || arena_bytes + size > FUZZ_ARENA_LIMIT)
	{
		if (no_oom)
			return NULL;
		fuzz_errors++;
		siglongjmp(fuzz_jmp, 1);
	}
	c = malloc(CHUNK_HDR + size);
	if (c == NULL)
	{
		if (no_oom)
			return NULL;
		siglongjmp(fuzz_jmp, 1);
	}
	if (zero)
		memset((char *) c + CHUNK_HDR, 0, size);
	c->size = size;
	c->next = chunks;
	chunks = c;
	arena_bytes += size;
	return (char *) c + CHUNK_HDR;
}

void
fuzz_reset(void)
{
	while (chunks)
	{
		Chunk	   *n = chunks->next;

		free(chunks);
		chunks = n;
	}
	arena_bytes = 0;
}

void *
palloc(Size size)
{
	if (!AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	return arena_alloc(size, false, false);
}

void *
palloc0(Size size)
{
	if (!AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	return arena_alloc(size, true, false);
}

void *
palloc_extended(Size size, int flags)
{
	if (!(flags & MCXT_ALLOC_HUGE) && !AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	return arena_alloc(size, (flags & MCXT_ALLOC_ZERO) != 0,
					   (flags & MCXT_ALLOC_NO_OOM) != 0);
}

void
pfree(void *pointer)
{
	/* freed with the arena */
}

void *
repalloc(void *pointer, Size size)
{
	Chunk	   *c = (Chunk *) ((char *) pointer - CHUNK_HDR);
	void	   *n = palloc(size);

	memcpy(n, pointer, Min(size, c->size));
	return n;
}

void *
repalloc_extended(void *pointer, Size size, int flags)
{
	Chunk	   *c = (Chunk *) ((char *) pointer - CHUNK_HDR);
	void	   *n = palloc_extended(size, flags);

	if (n)
		memcpy(n, pointer, Min(size, c->size));
	return n;
}

void *
MemoryContextAlloc(MemoryContext context, Size size)
{
	return palloc(size);
}

void *
MemoryContextAllocZero(MemoryContext context, Size size)
{
	return palloc0(size);
}

void *
MemoryContextAllocExtended(MemoryContext context, Size size, int flags)
{
	return palloc_extended(size, flags);
}

char *
MemoryContextStrdup(MemoryContext context, const char *string)
{
	return pstrdup(string);
}

char *
pstrdup(const char *in)
{
	size_t		len = strlen(in);
	char	   *out = palloc(len + 1);

	memcpy(out, in, len + 1);
	return out;
}

char *
pnstrdup(const char *in, Size len)
{
	char	   *out;

	len = strnlen(in, len);
	out = palloc(len + 1);
	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

void
MemoryContextRegisterResetCallback(MemoryContext context,
								   MemoryContextCallback *cb)
{
}

/* ---- errors ---- */
bool
errstart(int elevel, const char *domain)
{
	cur_elevel = elevel;
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (cur_elevel >= ERROR)
	{
		fuzz_errors++;
		siglongjmp(fuzz_jmp, 1);
	}
}

int			errcode(int sqlerrcode) { return 0; }
int			errmsg(const char *fmt,...) { return 0; }
int			errmsg_internal(const char *fmt,...) { return 0; }
int			errdetail(const char *fmt,...) { return 0; }
int			errhint(const char *fmt,...) { return 0; }
int			errcontext_msg(const char *fmt,...) { return 0; }
bool		message_level_is_interesting(int elevel) { return false; }

/* ---- encodings (the database is UTF-8) ---- */
int
GetDatabaseEncoding(void)
{
	return PG_UTF8;
}

bool
pg_verify_mbstr(int encoding, const char *mbstr, int len, bool noError)
{
	int			ok = pg_encoding_verifymbstr(encoding, mbstr, len);

	if (ok != len && !noError)
		elog(ERROR, "invalid byte sequence");
	return ok == len;
}

int
pg_mbcliplen(const char *mbstr, int len, int limit)
{
	int			clen = 0;

	while (len > 0 && *mbstr)
	{
		int			l = pg_encoding_mblen(PG_UTF8, mbstr);

		if (clen + l > limit)
			break;
		clen += l;
		if (clen == limit)
			break;
		len -= l;
		mbstr += l;
	}
	return clen;
}
