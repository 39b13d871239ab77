/*-------------------------------------------------------------------------
 *
 * options.c
 *	  Validation and lookup of vstream_fdw server and user mapping options.
 *
 * The validator rejects unknown options with a hint listing the valid ones
 * for that object, checks every value, and keeps credentials out of error
 * messages.  options_get_server() resolves a server plus the user mapping
 * of a role into the VStreamServerOptions the client uses.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/options.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/reloptions.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/syscache.h"

#include "options.h"

typedef struct VStreamOption
{
	const char *name;
	Oid			context;		/* catalog the option belongs to */
	bool		secret;			/* never echo its value */
} VStreamOption;

static const VStreamOption valid_options[] = {
	{"host", ForeignServerRelationId, false},
	{"port", ForeignServerRelationId, false},
	{"keyspace", ForeignServerRelationId, false},
	{"tablet_type", ForeignServerRelationId, false},
	{"cells", ForeignServerRelationId, false},
	{"tls", ForeignServerRelationId, false},
	{"sslrootcert", ForeignServerRelationId, false},
	{"connect_timeout", ForeignServerRelationId, false},
	{"max_message_size", ForeignServerRelationId, false},
	{"heartbeat_interval", ForeignServerRelationId, false},
	{"invalid_values", ForeignServerRelationId, false},
	{"drop_policy", ForeignServerRelationId, false},
	{"mysql_port", ForeignServerRelationId, false},
	{"user", UserMappingRelationId, false},
	{"password", UserMappingRelationId, true},
	{"sslcert", UserMappingRelationId, false},
	{"sslkey", UserMappingRelationId, false},
	{"table_name", ForeignTableRelationId, false},
	{NULL, InvalidOid, false}
};

static const char *
catalog_object_name(Oid catalog)
{
	switch (catalog)
	{
		case ForeignServerRelationId:
			return "foreign server";
		case UserMappingRelationId:
			return "user mapping";
		case ForeignTableRelationId:
			return "foreign table";
		case ForeignDataWrapperRelationId:
			return "foreign-data wrapper";
		default:
			return "object";
	}
}

static const VStreamOption *
find_option(const char *name, Oid context)
{
	const VStreamOption *opt;

	for (opt = valid_options; opt->name; opt++)
	{
		if (opt->context == context && strcmp(opt->name, name) == 0)
			return opt;
	}
	return NULL;
}

static char *
valid_option_list(Oid context)
{
	StringInfoData buf;
	const VStreamOption *opt;

	initStringInfo(&buf);
	for (opt = valid_options; opt->name; opt++)
	{
		if (opt->context != context)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, opt->name);
	}
	return buf.data;
}

static int
parse_int_option(DefElem *def, int min, int max, const char *unit_hint)
{
	char	   *value = defGetString(def);
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(value, &end, 10);
	while (*end == ' ')
		end++;
	if (errno != 0 || end == value || *end != '\0' || v < min || v > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"",
						def->defname, value),
				 errhint("Valid values are integers between %d and %d%s.",
						 min, max, unit_hint)));
	return (int) v;
}

static int
parse_enum_option(DefElem *def, const char *const *names, const int *values)
{
	char	   *value = defGetString(def);
	StringInfoData list;
	int			i;

	for (i = 0; names[i]; i++)
	{
		if (pg_strcasecmp(value, names[i]) == 0)
			return values[i];
	}
	initStringInfo(&list);
	for (i = 0; names[i]; i++)
		appendStringInfo(&list, "%s%s", i > 0 ? ", " : "", names[i]);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"%s\": \"%s\"",
					def->defname, value),
			 errhint("Valid values are: %s.", list.data)));
	return 0;					/* keep compiler quiet */
}

static const char *const tablet_type_names[] = {"primary", "replica", "rdonly", NULL};
static const int tablet_type_values[] = {1, 2, 3};
static const char *const tls_names[] = {"disable", "require", "verify-ca", "verify-full", NULL};
static const int tls_values[] = {VSTREAM_TLS_DISABLE, VSTREAM_TLS_REQUIRE,
VSTREAM_TLS_VERIFY_CA, VSTREAM_TLS_VERIFY_FULL};
static const char *const invalid_names[] = {"error", "null", NULL};
static const int invalid_values[] = {VSTREAM_INVALID_ERROR, VSTREAM_INVALID_NULL};
static const char *const drop_policy_names[] = {"detach", "drop", NULL};
static const int drop_policy_values[] = {0, 1};

const char *
options_tablet_type_name(int tablet_type)
{
	if (tablet_type >= 1 && tablet_type <= 3)
		return tablet_type_names[tablet_type - 1];
	return "unknown";
}

/*
 * Check one option value and store it into opts (which may be NULL when only
 * validating).
 */
static void
apply_option(DefElem *def, VStreamServerOptions *opts)
{
	const char *name = def->defname;
	VStreamServerOptions dummy;

	if (opts == NULL)
		opts = &dummy;

	if (strcmp(name, "host") == 0)
	{
		char	   *v = defGetString(def);

		if (v[0] == '\0' || strpbrk(v, " \t\r\n/") != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"host\": \"%s\"", v),
					 errhint("Specify the VTGate host name or IP address.")));
		opts->host = v;
	}
	else if (strcmp(name, "port") == 0)
		opts->port = parse_int_option(def, 1, 65535, "");
	else if (strcmp(name, "mysql_port") == 0)
		opts->mysql_port = parse_int_option(def, 1, 65535, "");
	else if (strcmp(name, "keyspace") == 0)
	{
		char	   *v = defGetString(def);

		if (v[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"keyspace\" must not be empty"),
					 errhint("Specify the name of the Vitess keyspace to stream.")));
		opts->keyspace = v;
	}
	else if (strcmp(name, "tablet_type") == 0)
		opts->tablet_type = parse_enum_option(def, tablet_type_names,
											  tablet_type_values);
	else if (strcmp(name, "cells") == 0)
		opts->cells = defGetString(def);
	else if (strcmp(name, "tls") == 0)
		opts->tls = (VStreamTlsMode) parse_enum_option(def, tls_names, tls_values);
	else if (strcmp(name, "sslrootcert") == 0)
		opts->sslrootcert = defGetString(def);
	else if (strcmp(name, "connect_timeout") == 0)
		opts->connect_timeout = parse_int_option(def, 1, 3600, " (seconds)");
	else if (strcmp(name, "max_message_size") == 0)
		opts->max_message_size = parse_int_option(def, 65536,
												  VSTREAM_MAX_MESSAGE_SIZE_LIMIT,
												  " (bytes)");
	else if (strcmp(name, "heartbeat_interval") == 0)
		opts->heartbeat_interval = parse_int_option(def, 0, 3600,
													" (seconds, 0 disables heartbeats)");
	else if (strcmp(name, "invalid_values") == 0)
		opts->invalid_values = (VStreamInvalidValuePolicy)
			parse_enum_option(def, invalid_names, invalid_values);
	else if (strcmp(name, "drop_policy") == 0)
		opts->drop_policy_drop = parse_enum_option(def, drop_policy_names,
												   drop_policy_values) == 1;
	else if (strcmp(name, "user") == 0)
		opts->user = defGetString(def);
	else if (strcmp(name, "password") == 0)
		opts->password = defGetString(def);
	else if (strcmp(name, "sslcert") == 0)
		opts->sslcert = defGetString(def);
	else if (strcmp(name, "sslkey") == 0)
		opts->sslkey = defGetString(def);
	else if (strcmp(name, "table_name") == 0)
	{
		if (defGetString(def)[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"table_name\" must not be empty")));
	}
}

static void
set_defaults(VStreamServerOptions *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->host = "localhost";
	opts->port = VSTREAM_DEFAULT_PORT;
	opts->tablet_type = 1;
	opts->tls = VSTREAM_TLS_DISABLE;
	opts->connect_timeout = 10;
	opts->max_message_size = 64 * 1024 * 1024;
	opts->heartbeat_interval = 10;
	opts->invalid_values = VSTREAM_INVALID_ERROR;
	opts->mysql_port = VSTREAM_DEFAULT_MYSQL_PORT;
}

PG_FUNCTION_INFO_V1(vstream_fdw_validator);

/*
 * The foreign-data wrapper validator.  Called with the complete option list
 * of the object after CREATE or ALTER.
 */
Datum
vstream_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	VStreamServerOptions opts;
	bool		have_keyspace = false;
	bool		have_sslcert = false;
	bool		have_sslkey = false;
	ListCell   *lc;

	set_defaults(&opts);
	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		const VStreamOption *opt = find_option(def->defname, catalog);

		if (opt == NULL)
		{
			char	   *valid = valid_option_list(catalog);

			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\" for %s",
							def->defname, catalog_object_name(catalog)),
					 valid[0] != '\0' ?
					 errhint("Valid options in this context are: %s.", valid) :
					 errhint("There are no valid options in this context.")));
		}
		apply_option(def, &opts);
		if (strcmp(def->defname, "keyspace") == 0)
			have_keyspace = true;
		else if (strcmp(def->defname, "sslcert") == 0)
			have_sslcert = true;
		else if (strcmp(def->defname, "sslkey") == 0)
			have_sslkey = true;
	}

	if (catalog == ForeignServerRelationId)
	{
		if (!have_keyspace)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("option \"keyspace\" is required for a vstream_fdw server"),
					 errhint("Add OPTIONS (keyspace '...') naming the Vitess keyspace.")));
		if (opts.tls == VSTREAM_TLS_DISABLE && opts.sslrootcert != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"sslrootcert\" requires TLS"),
					 errhint("Set option \"tls\" to \"verify-ca\" or \"verify-full\".")));
	}
	if (catalog == UserMappingRelationId && have_sslcert != have_sslkey)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"sslcert\" and \"sslkey\" must be given together")));

	PG_RETURN_VOID();
}

/* Apply a list of options of the given catalog to opts. */
static void
apply_option_list(List *options, Oid catalog, VStreamServerOptions *opts)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (find_option(def->defname, catalog) != NULL)
			apply_option(def, opts);
	}
}

VStreamServerOptions *
options_get_server(Oid serverid, Oid userid)
{
	ForeignServer *server = GetForeignServer(serverid);
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	VStreamServerOptions *opts = palloc(sizeof(VStreamServerOptions));
	UserMapping *um = NULL;

	if (strcmp(fdw->fdwname, "vstream_fdw") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_HANDLE),
				 errmsg("server \"%s\" does not use the vstream_fdw foreign-data wrapper",
						server->servername)));

	set_defaults(opts);
	opts->serverid = serverid;
	opts->servername = pstrdup(server->servername);
	apply_option_list(server->options, ForeignServerRelationId, opts);

	if (!OidIsValid(userid))
		userid = GetUserId();

	/* A missing user mapping means "no credentials", not an error. */
	{
		HeapTuple	tp;

		tp = SearchSysCache2(USERMAPPINGUSERSERVER,
							 ObjectIdGetDatum(userid),
							 ObjectIdGetDatum(serverid));
		if (!HeapTupleIsValid(tp))
			tp = SearchSysCache2(USERMAPPINGUSERSERVER,
								 ObjectIdGetDatum(InvalidOid),
								 ObjectIdGetDatum(serverid));
		if (HeapTupleIsValid(tp))
		{
			ReleaseSysCache(tp);
			um = GetUserMapping(userid, serverid);
		}
	}
	if (um)
		apply_option_list(um->options, UserMappingRelationId, opts);

	if (opts->keyspace == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("server \"%s\" has no \"keyspace\" option",
						server->servername)));
	return opts;
}

VStreamServerOptions *
options_get_server_by_name(const char *servername, Oid userid)
{
	ForeignServer *server = GetForeignServerByName(servername, false);
	AclResult	aclresult;

	/*
	 * The stream worker runs as the stream's owner: the owner must still be
	 * allowed to use the server (USAGE may have been revoked since
	 * create_stream()).
	 */
	if (!OidIsValid(userid))
		userid = GetUserId();
	aclresult = pg_foreign_server_aclcheck(server->serverid, userid, ACL_USAGE);
	if (aclresult != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" has no USAGE privilege on foreign server \"%s\"",
						GetUserNameFromId(userid, false), servername),
				 errhint("GRANT USAGE ON FOREIGN SERVER %s TO %s, then call vstream_fdw.start_stream().",
						 quote_identifier(servername),
						 quote_identifier(GetUserNameFromId(userid, false)))));

	return options_get_server(server->serverid, userid);
}
