/*-------------------------------------------------------------------------
 *
 * deparse.c
 *	  Remote SQL (MySQL dialect, for VTGate) of live foreign scans.
 *
 * Only what MySQL evaluates as PostgreSQL does is sent:
 *
 *	 - comparisons (=, <>, <, <=, >, >=), IN (= ANY of a constant array),
 *	   BETWEEN (two comparisons), IS [NOT] NULL, AND, OR, NOT, over columns
 *	   of integer, numeric, date and timestamp (without time zone) types
 *	   against constants, parameters and columns: their results are the
 *	   same on both sides;
 *	 - "=" and LIKE on text / varchar columns: MySQL's string comparison
 *	   follows the column's collation, usually case-insensitive and
 *	   ignoring trailing spaces, so MySQL keeps a superset of the rows
 *	   PostgreSQL keeps.  Such conditions are sent AND evaluated again
 *	   locally (SHIP_SUPERSET); they are never sent under NOT, and <, >,
 *	   <> on strings are never sent (their results differ either way);
 *	 - floating point comparisons are not sent (MySQL compares a FLOAT
 *	   column with a double literal), nor anything on other types;
 *	 - ORDER BY on columns of the exact types above (NULLs placed as
 *	   PostgreSQL places them).
 *
 * Literals are written so that they mean the same in every sql_mode: digits,
 * 'YYYY-MM-DD[ HH:MM:SS.ffffff]', and strings either quoted with doubled
 * quotes or, when they contain a backslash or a control character, as
 * CONVERT(X'..' USING utf8mb4).
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/deparse.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/stratnum.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "mb/pg_wchar.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "deparse.h"
#include "mysql_conn.h"

typedef enum TypeClass
{
	TC_NONE = 0,
	TC_NUM,						/* int2, int4, int8, numeric */
	TC_DT,						/* date, timestamp */
	TC_STR						/* text, varchar */
} TypeClass;

typedef struct DeparseCxt
{
	PlannerInfo *root;
	RelOptInfo *baserel;
	Relation	rel;			/* NULL while classifying */
	StringInfo	buf;			/* NULL while classifying */
	List	  **params;
} DeparseCxt;

static TypeClass
type_class(Oid type)
{
	switch (type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case NUMERICOID:
			return TC_NUM;
		case DATEOID:
		case TIMESTAMPOID:
			return TC_DT;
		case TEXTOID:
		case VARCHAROID:
			return TC_STR;
		default:
			return TC_NONE;
	}
}

/* A column of the scanned relation? */
static bool
is_own_var(DeparseCxt *cx, Node *node)
{
	Var		   *v = (Var *) node;

	return IsA(node, Var) && (Index) v->varno == cx->baserel->relid &&
		v->varlevelsup == 0 && v->varattno > 0;
}

/* Strip relabelings and implicit casts between number types. */
static Node *
strip_casts(Node *node)
{
	for (;;)
	{
		if (node == NULL)
			return NULL;
		if (IsA(node, RelabelType))
		{
			node = (Node *) ((RelabelType *) node)->arg;
			continue;
		}
		if (IsA(node, FuncExpr))
		{
			FuncExpr   *f = (FuncExpr *) node;

			if (f->funcformat == COERCE_IMPLICIT_CAST &&
				list_length(f->args) == 1 &&
				type_class(f->funcresulttype) == TC_NUM &&
				type_class(exprType(linitial(f->args))) == TC_NUM)
			{
				node = (Node *) linitial(f->args);
				continue;
			}
		}
		return node;
	}
}

static char *
remote_column_name(DeparseCxt *cx, AttrNumber attno)
{
	Oid			relid;

	if (cx->rel)
		relid = RelationGetRelid(cx->rel);
	else
		relid = planner_rt_fetch(cx->baserel->relid, cx->root)->relid;
	return get_attname(relid, attno, false);
}

/*
 * An operand: a column, a constant, a parameter (a Param or a Var of
 * another relation).  Returns its type class, TC_NONE if not shippable.
 */
static TypeClass
deparse_operand(DeparseCxt *cx, Node *node)
{
	TypeClass	tc;

	node = strip_casts(node);
	if (node == NULL)
		return TC_NONE;
	tc = type_class(exprType(node));
	if (tc == TC_NONE)
		return TC_NONE;

	if (is_own_var(cx, node))
	{
		if (cx->buf)
			mysqlconn_append_ident(cx->buf,
								   remote_column_name(cx, ((Var *) node)->varattno));
		return tc;
	}
	if (IsA(node, Var))
	{
		Var		   *v = (Var *) node;

		/* a column of another relation of this query level: a parameter */
		if (v->varlevelsup != 0 || v->varattno <= 0 ||
			bms_is_member(v->varno, cx->baserel->relids))
			return TC_NONE;
	}
	else if (IsA(node, Const))
	{
		Const	   *c = (Const *) node;
		StringInfoData tmp;

		initStringInfo(&tmp);
		if (!deparse_literal(cx->buf ? cx->buf : &tmp, c->constvalue,
							 c->consttype, c->constisnull))
			return TC_NONE;
		return tc;
	}
	else if (!IsA(node, Param))
		return TC_NONE;

	if (cx->buf)
	{
		int			n = 1;
		ListCell   *lc;
		bool		found = false;

		foreach(lc, *cx->params)
		{
			if (equal(lfirst(lc), node))
			{
				found = true;
				break;
			}
			n++;
		}
		if (!found)
			*cx->params = lappend(*cx->params, node);
		appendStringInfo(cx->buf, "$%d", n);
	}
	return tc;
}

static bool
collation_ok(Oid collid)
{
	return !OidIsValid(collid) || collid == DEFAULT_COLLATION_OID ||
		collid == C_COLLATION_OID || get_collation_isdeterministic(collid);
}

static DeparseShip deparse_expr(DeparseCxt *cx, Node *node);

static DeparseShip
deparse_opexpr(DeparseCxt *cx, OpExpr *op)
{
	char	   *name;
	TypeClass	l,
				r;
	bool		isstr;
	const char *sqlop;

	if (list_length(op->args) != 2 || op->opno >= FirstNormalObjectId)
		return SHIP_NO;
	name = get_opname(op->opno);
	if (name == NULL)
		return SHIP_NO;
	if (strcmp(name, "=") == 0)
		sqlop = " = ";
	else if (strcmp(name, "<>") == 0)
		sqlop = " <> ";
	else if (strcmp(name, "<") == 0)
		sqlop = " < ";
	else if (strcmp(name, "<=") == 0)
		sqlop = " <= ";
	else if (strcmp(name, ">") == 0)
		sqlop = " > ";
	else if (strcmp(name, ">=") == 0)
		sqlop = " >= ";
	else if (strcmp(name, "~~") == 0)
		sqlop = " LIKE ";
	else
		return SHIP_NO;

	/* check before writing anything */
	{
		DeparseCxt	probe = *cx;

		probe.buf = NULL;
		l = deparse_operand(&probe, linitial(op->args));
		r = deparse_operand(&probe, lsecond(op->args));
	}
	if (l == TC_NONE || l != r)
		return SHIP_NO;
	isstr = (l == TC_STR);
	if (isstr)
	{
		if (strcmp(sqlop, " = ") != 0 && strcmp(sqlop, " LIKE ") != 0)
			return SHIP_NO;
		if (!collation_ok(op->inputcollid))
			return SHIP_NO;
	}
	else if (strcmp(sqlop, " LIKE ") == 0)
		return SHIP_NO;

	/* LIKE on strings only; a column must take part */
	if (!is_own_var(cx, strip_casts(linitial(op->args))) &&
		!is_own_var(cx, strip_casts(lsecond(op->args))))
		return SHIP_NO;

	if (cx->buf)
	{
		appendStringInfoChar(cx->buf, '(');
		deparse_operand(cx, linitial(op->args));
		appendStringInfoString(cx->buf, sqlop);
		deparse_operand(cx, lsecond(op->args));
		appendStringInfoChar(cx->buf, ')');
	}
	return isstr ? SHIP_SUPERSET : SHIP_EXACT;
}

static DeparseShip
deparse_saop(DeparseCxt *cx, ScalarArrayOpExpr *saop)
{
	Node	   *left;
	Node	   *right;
	TypeClass	l;
	char	   *name;
	Const	   *c;
	ArrayType  *arr;
	Oid			elemtype;
	int16		elmlen;
	bool		elmbyval;
	char		elmalign;
	Datum	   *values;
	bool	   *nulls;
	int			n,
				i;
	StringInfoData tmp;

	if (!saop->useOr || list_length(saop->args) != 2 ||
		saop->opno >= FirstNormalObjectId)
		return SHIP_NO;
	name = get_opname(saop->opno);
	if (name == NULL || strcmp(name, "=") != 0)
		return SHIP_NO;
	left = strip_casts(linitial(saop->args));
	right = lsecond(saop->args);
	if (!is_own_var(cx, left))
		return SHIP_NO;
	l = type_class(exprType(left));
	if (l == TC_NONE || !IsA(right, Const) || ((Const *) right)->constisnull)
		return SHIP_NO;
	if (l == TC_STR && !collation_ok(saop->inputcollid))
		return SHIP_NO;
	c = (Const *) right;
	elemtype = get_element_type(c->consttype);
	if (type_class(elemtype) != l)
		return SHIP_NO;
	arr = DatumGetArrayTypeP(c->constvalue);
	get_typlenbyvalalign(elemtype, &elmlen, &elmbyval, &elmalign);
	deconstruct_array(arr, elemtype, elmlen, elmbyval, elmalign,
					  &values, &nulls, &n);
	if (n == 0)
		return SHIP_NO;

	initStringInfo(&tmp);
	mysqlconn_append_ident(&tmp,
						   remote_column_name(cx, ((Var *) left)->varattno));
	appendStringInfoString(&tmp, " IN (");
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(&tmp, ", ");
		if (!deparse_literal(&tmp, values[i], elemtype, nulls[i]))
			return SHIP_NO;
	}
	appendStringInfoChar(&tmp, ')');
	if (cx->buf)
		appendStringInfo(cx->buf, "(%s)", tmp.data);
	return l == TC_STR ? SHIP_SUPERSET : SHIP_EXACT;
}

static DeparseShip
deparse_expr(DeparseCxt *cx, Node *node)
{
	if (node == NULL)
		return SHIP_NO;
	switch (nodeTag(node))
	{
		case T_OpExpr:
			return deparse_opexpr(cx, (OpExpr *) node);
		case T_ScalarArrayOpExpr:
			return deparse_saop(cx, (ScalarArrayOpExpr *) node);
		case T_NullTest:
			{
				NullTest   *nt = (NullTest *) node;
				Node	   *arg = strip_casts((Node *) nt->arg);

				if (nt->argisrow || !is_own_var(cx, arg))
					return SHIP_NO;
				if (cx->buf)
				{
					appendStringInfoChar(cx->buf, '(');
					mysqlconn_append_ident(cx->buf,
										   remote_column_name(cx, ((Var *) arg)->varattno));
					appendStringInfoString(cx->buf,
										   nt->nulltesttype == IS_NULL ?
										   " IS NULL)" : " IS NOT NULL)");
				}
				return SHIP_EXACT;
			}
		case T_BoolExpr:
			{
				BoolExpr   *b = (BoolExpr *) node;
				DeparseShip result = SHIP_EXACT;
				DeparseCxt	probe = *cx;
				ListCell   *lc;
				bool		first = true;

				probe.buf = NULL;
				foreach(lc, b->args)
				{
					DeparseShip s = deparse_expr(&probe, lfirst(lc));

					if (s == SHIP_NO)
						return SHIP_NO;
					if (s == SHIP_SUPERSET)
						result = SHIP_SUPERSET;
				}
				/* NOT of a superset is a subset: never sent */
				if (b->boolop == NOT_EXPR && result != SHIP_EXACT)
					return SHIP_NO;
				if (cx->buf)
				{
					if (b->boolop == NOT_EXPR)
						appendStringInfoString(cx->buf, "(NOT ");
					else
						appendStringInfoChar(cx->buf, '(');
					foreach(lc, b->args)
					{
						if (!first)
							appendStringInfoString(cx->buf,
												   b->boolop == AND_EXPR ?
												   " AND " : " OR ");
						deparse_expr(cx, lfirst(lc));
						first = false;
					}
					appendStringInfoChar(cx->buf, ')');
				}
				return result;
			}
		default:
			return SHIP_NO;
	}
}

DeparseShip
deparse_classify(PlannerInfo *root, RelOptInfo *baserel, Expr *expr)
{
	DeparseCxt	cx;
	List	   *dummy = NIL;

	cx.root = root;
	cx.baserel = baserel;
	cx.rel = NULL;
	cx.buf = NULL;
	cx.params = &dummy;
	/* volatile functions are never part of a shippable expression */
	return deparse_expr(&cx, (Node *) expr);
}

/* The column of baserel a pathkey sorts by, or NULL. */
static Var *
pathkey_var(PathKey *pk, RelOptInfo *baserel)
{
	ListCell   *lc;

	if (pk->pk_eclass->ec_has_volatile)
		return NULL;
	foreach(lc, pk->pk_eclass->ec_members)
	{
		EquivalenceMember *em = lfirst(lc);
		Node	   *e = strip_casts((Node *) em->em_expr);

		if (IsA(e, Var) && (Index) ((Var *) e)->varno == baserel->relid &&
			((Var *) e)->varlevelsup == 0 && ((Var *) e)->varattno > 0 &&
			bms_equal(em->em_relids, baserel->relids))
		{
			TypeClass	tc = type_class(((Var *) e)->vartype);

			if (tc == TC_NUM || tc == TC_DT)
				return (Var *) e;
		}
	}
	return NULL;
}

bool
deparse_pathkeys_ok(PlannerInfo *root, RelOptInfo *baserel, List *pathkeys)
{
	ListCell   *lc;

	if (pathkeys == NIL)
		return false;
	foreach(lc, pathkeys)
	{
		PathKey    *pk = lfirst(lc);

		if (pk->pk_strategy != BTLessStrategyNumber &&
			pk->pk_strategy != BTGreaterStrategyNumber)
			return false;
		if (pathkey_var(pk, baserel) == NULL)
			return false;
	}
	return true;
}

char *
deparse_select(PlannerInfo *root, RelOptInfo *baserel, Relation rel,
			   const char *remote_table, List *retrieved_attrs,
			   List *remote_conds, List *pathkeys, int64 limit,
			   List **params)
{
	StringInfoData buf;
	DeparseCxt	cx;
	ListCell   *lc;
	bool		first = true;

	initStringInfo(&buf);
	cx.root = root;
	cx.baserel = baserel;
	cx.rel = rel;
	cx.buf = &buf;
	cx.params = params;

	appendStringInfoString(&buf, "SELECT ");
	foreach(lc, retrieved_attrs)
	{
		if (!first)
			appendStringInfoString(&buf, ", ");
		mysqlconn_append_ident(&buf, remote_column_name(&cx, lfirst_int(lc)));
		first = false;
	}
	if (first)
		appendStringInfoString(&buf, "1");
	appendStringInfoString(&buf, " FROM ");
	mysqlconn_append_ident(&buf, remote_table);

	first = true;
	foreach(lc, remote_conds)
	{
		appendStringInfoString(&buf, first ? " WHERE " : " AND ");
		deparse_expr(&cx, lfirst(lc));
		first = false;
	}

	first = true;
	foreach(lc, pathkeys)
	{
		PathKey    *pk = lfirst(lc);
		Var		   *v = pathkey_var(pk, baserel);
		char	   *col;

		if (v == NULL)
			break;
		col = remote_column_name(&cx, v->varattno);
		appendStringInfoString(&buf, first ? " ORDER BY " : ", ");
		/* MySQL sorts NULL lowest; PostgreSQL as nulls_first says */
		mysqlconn_append_ident(&buf, col);
		appendStringInfoString(&buf, pk->pk_nulls_first ?
							   " IS NULL DESC, " : " IS NULL ASC, ");
		mysqlconn_append_ident(&buf, col);
		appendStringInfoString(&buf,
							   pk->pk_strategy == BTLessStrategyNumber ?
							   " ASC" : " DESC");
		first = false;
	}
	if (limit >= 0)
		appendStringInfo(&buf, " LIMIT " INT64_FORMAT, limit);
	return buf.data;
}

bool
deparse_literal(StringInfo buf, Datum value, Oid type, bool isnull)
{
	if (isnull)
	{
		appendStringInfoString(buf, "NULL");
		return true;
	}
	switch (type)
	{
		case INT2OID:
			appendStringInfo(buf, "%d", (int) DatumGetInt16(value));
			return true;
		case INT4OID:
			appendStringInfo(buf, "%d", DatumGetInt32(value));
			return true;
		case INT8OID:
			appendStringInfo(buf, INT64_FORMAT, DatumGetInt64(value));
			return true;
		case NUMERICOID:
			{
				Numeric		n = DatumGetNumeric(value);

				if (numeric_is_nan(n) || numeric_is_inf(n))
					return false;
				appendStringInfoString(buf,
									   DatumGetCString(DirectFunctionCall1(numeric_out, value)));
				return true;
			}
		case DATEOID:
			{
				DateADT		d = DatumGetDateADT(value);
				int			y,
							m,
							dd;

				if (DATE_NOT_FINITE(d))
					return false;
				j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
				if (y < 1 || y > 9999)
					return false;
				appendStringInfo(buf, "'%04d-%02d-%02d'", y, m, dd);
				return true;
			}
		case TIMESTAMPOID:
			{
				Timestamp	ts = DatumGetTimestamp(value);
				struct pg_tm tm;
				fsec_t		fsec;

				if (TIMESTAMP_NOT_FINITE(ts) ||
					timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0 ||
					tm.tm_year < 1 || tm.tm_year > 9999)
					return false;
				appendStringInfo(buf, "'%04d-%02d-%02d %02d:%02d:%02d.%06d'",
								 tm.tm_year, tm.tm_mon, tm.tm_mday,
								 tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
				return true;
			}
		case TEXTOID:
		case VARCHAROID:
			{
				text	   *t = DatumGetTextPP(value);
				char	   *s = VARDATA_ANY(t);
				int			len = VARSIZE_ANY_EXHDR(t);

				/* the connection is utf8mb4 */
				if (GetDatabaseEncoding() != PG_UTF8)
				{
					s = pg_server_to_any(s, len, PG_UTF8);
					len = strlen(s);
				}
				mysqlconn_append_literal(buf, s, len);
				return true;
			}
		default:
			return false;
	}
}

char *
deparse_fill_params(const char *sql, int nparams, Datum *values,
					bool *nulls, Oid *types)
{
	StringInfoData buf;
	const char *p = sql;
	char		quote = 0;

	initStringInfo(&buf);
	while (*p)
	{
		if (quote)
		{
			appendStringInfoChar(&buf, *p);
			if (*p == quote)
				quote = 0;		/* a doubled quote reopens at once */
			p++;
			continue;
		}
		if (*p == '\'' || *p == '`')
		{
			quote = *p;
			appendStringInfoChar(&buf, *p++);
			continue;
		}
		if (*p == '$' && isdigit((unsigned char) p[1]))
		{
			int			n = 0;

			p++;
			while (isdigit((unsigned char) *p))
				n = n * 10 + (*p++ - '0');
			if (n < 1 || n > nparams)
				elog(ERROR, "remote query parameter $%d out of range", n);
			if (!deparse_literal(&buf, values[n - 1], types[n - 1], nulls[n - 1]))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
						 errmsg("cannot send parameter value to VTGate"),
						 errdetail("Infinite and NaN values have no MySQL representation.")));
			continue;
		}
		appendStringInfoChar(&buf, *p++);
	}
	return buf.data;
}
