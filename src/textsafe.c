/*-------------------------------------------------------------------------
 *
 * textsafe.c
 *	  Making bytes from the network safe to store as text.
 *
 * PostgreSQL trusts a text datum to be valid in the database encoding;
 * CStringGetTextDatum() does not check.  Names, messages and positions that
 * come from VTGate go through these helpers before they become text.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/textsafe.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "textsafe.h"

bool
text_is_valid(const char *s, size_t len)
{
	if (len > (size_t) INT_MAX)
		return false;
	if (memchr(s, '\0', len) != NULL)
		return false;
	return pg_verify_mbstr(GetDatabaseEncoding(), s, (int) len, true);
}

char *
text_make_valid(const char *s, size_t len)
{
	int			enc = GetDatabaseEncoding();
	StringInfoData buf;
	size_t		i = 0;

	if (text_is_valid(s, len))
	{
		char	   *out = palloc(len + 1);

		memcpy(out, s, len);
		out[len] = '\0';
		return out;
	}
	initStringInfo(&buf);
	while (i < len)
	{
		unsigned char c = (unsigned char) s[i];
		int			l;

		if (c == 0)
		{
			appendStringInfoString(&buf, "\\x00");
			i++;
			continue;
		}
		if (!IS_HIGHBIT_SET(c))
		{
			appendStringInfoChar(&buf, (char) c);
			i++;
			continue;
		}
		l = pg_encoding_verifymbchar(enc, s + i, (int) Min(len - i, (size_t) INT_MAX));
		if (l > 0)
		{
			appendBinaryStringInfo(&buf, s + i, l);
			i += l;
		}
		else
		{
			appendStringInfo(&buf, "\\x%02x", c);
			i++;
		}
	}
	return buf.data;
}

char *
text_make_valid_cstr(const char *s)
{
	if (s == NULL)
		return NULL;
	return text_make_valid(s, strlen(s));
}

void
text_strlcpy(char *dst, const char *src, size_t size)
{
	size_t		len;

	if (size == 0)
		return;
	len = strlen(src);
	if (len >= size)
		len = pg_mbcliplen(src, (int) len, (int) size - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}
