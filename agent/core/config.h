/* SPDX-License-Identifier: MIT */
/*
 * hostlat configuration: one YAML file, every key described once in an
 * option table (struct hl_option) from which parsing, defaults, range
 * checks, --help-config and the README reference all come.
 */
#ifndef HOSTLAT_CONFIG_H
#define HOSTLAT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hostlat_exporter.h"

struct hl_kvlist;

enum hl_opt_type {
	HL_OPT_BOOL,	 /* bool */
	HL_OPT_UINT,	 /* uint32_t, range min..max */
	HL_OPT_DURATION, /* uint64_t ns: "100us", "1ms", "10s", "1m", "1h", "250ns" */
	HL_OPT_STRING,	 /* char * (strdup'd) */
	HL_OPT_ENUM,	 /* int: index into names[] */
	HL_OPT_FLAGS,	 /* uint32_t bitmask: a YAML list of names[] (bit i = names[i]) */
	HL_OPT_STRLIST,	 /* struct hl_strlist */
	HL_OPT_UINTLIST, /* struct hl_uintlist */
	HL_OPT_DURLIST,	 /* struct hl_durlist: durations, each in min..max ns */
	HL_OPT_KVMAP,	 /* struct hl_kvlist: mapping of string -> scalar string */
	HL_OPT_SECTION,	 /* nested mapping described by sub[] at the same base */
	HL_OPT_STRUCT,	 /* void *: nested mapping described by sub[] filling its own
			    calloc'd struct of size bytes */
	HL_OPT_EXPORTERS /* struct hl_exporter_list: list of mappings keyed by type */
};

struct hl_option {
	const char *name;
	enum hl_opt_type type;
	size_t offset;	  /* into the struct being filled */
	const char *def;  /* default as YAML text; NULL = empty/none */
	int64_t min, max; /* HL_OPT_UINT, HL_OPT_DURATION (ns), each item of HL_OPT_UINTLIST */
	const char *const *names;    /* HL_OPT_ENUM / HL_OPT_FLAGS, NULL-terminated */
	const struct hl_option *sub; /* HL_OPT_SECTION, HL_OPT_STRUCT; ends at name == NULL */
	const char *help;	     /* one line for docs */
	size_t size;		     /* HL_OPT_STRUCT: the struct sub[] fills */
	/*
	 * HL_OPT_STRUCT: a feature switched on by writing its mapping. Absent,
	 * no value or false leaves the pointer NULL (off); true is the mapping
	 * of defaults. def is ignored.
	 */
	bool optional;
	/*
	 * Optional, HL_OPT_STRING and each item of HL_OPT_STRLIST: what the
	 * value means, past its type. Nonzero with the message in why.
	 */
	int (*check)(const char *value, char *why, size_t whylen);
	/*
	 * Optional, HL_OPT_KVMAP: a check of the whole map after it parsed
	 * (names unique regardless of case...). Nonzero with the message in
	 * why, the entry at fault in *bad and *at_key set when its name is.
	 */
	int (*check_map)(const struct hl_kvlist *m, size_t *bad, bool *at_key, char *why,
			 size_t whylen);
	/*
	 * Optional, HL_OPT_STRING and each value of HL_OPT_KVMAP: what the
	 * value needs of the running system (a file to read, a host name to
	 * resolve), checked by hl_config_check_system (--check), not at load:
	 * the system may change between a load and a start. Nonzero with the
	 * message in why.
	 */
	int (*check_system)(const char *value, char *why, size_t whylen);
};

/* Bounds of HL_OPT_DURATION options, in ns. */
#define HL_MS(x) ((int64_t)(x)*1000000)
#define HL_SEC(x) ((int64_t)(x)*1000000000)

/* Where a YAML node starts (1-based), for messages after parsing. */
struct hl_pos {
	int line, column;
};

struct hl_strlist {
	char **v;
	size_t n;
	struct hl_pos *pos; /* of each item; NULL for defaults */
};

struct hl_uintlist {
	uint32_t *v;
	size_t n;
};

struct hl_durlist {
	uint64_t *v; /* ns */
	size_t n;
};

struct hl_kv {
	char *key;
	char *value;
};

struct hl_kvlist {
	struct hl_kv *v;
	size_t n;
};

/* A key's dotted name ("exporters[0].address") and where its value starts. */
struct hl_keypos {
	char *key;
	struct hl_pos pos;
};

/*
 * Exporter types are struct hl_exporter_ops (exporters/hostlat_exporter.h):
 * the parser uses their name, options and config_size.
 */
struct hl_exporter_conf {
	const struct hl_exporter_ops *type; /* NULL for `type: plugin` until loaded */
	void *conf;			    /* config_size bytes filled from type->options */
	int line, column;		    /* where the item starts (1-based), for messages */
	/* Keys every exporter item takes (common to all types): */
	char *name;		       /* `name`: instance name for logs and the `exporter`
				       attribute; default: the type, then type-2, type-3... */
	uint32_t queue_size;	       /* `queue_size`: batches waiting to be sent */
	uint64_t retry_initial_ns;     /* `retry.initial` backoff */
	uint64_t retry_max_ns;	       /* `retry.max` backoff cap */
	uint64_t retry_max_elapsed_ns; /* `retry.max_elapsed`: give up on a batch after this */
	/* `type: plugin` only: */
	char *plugin_path;		/* `path`: the shared object */
	struct hl_kvlist plugin_config; /* `config`: string map handed to its init */
};

struct hl_exporter_list {
	struct hl_exporter_conf *v;
	size_t n;
};

enum hl_log_level { HL_LOG_ERROR, HL_LOG_WARN, HL_LOG_INFO, HL_LOG_DEBUG };

/* Most probes the registry may hold (agent/probes/registry.c). */
#define HL_PROBES_MAX 16

struct hl_config {
	char *path; /* file it came from, or "<embedded>" */
	struct {
		uint64_t interval_ns;
		int log_level;		      /* enum hl_log_level */
		uint64_t shutdown_timeout_ns; /* SIGINT/SIGTERM to exit, at most */
		struct {
			char *listen; /* address:port of /healthz and /readyz; NULL: off */
		} health;
	} agent;
	struct {
		struct hl_kvlist attributes;
	} resource;
	/*
	 * Each probe's section under probes:, a struct of its own (struct
	 * hl_probe_ops: options, config_size), by position in hl_probes[].
	 * Read with hl_probe_config (agent/core/probe.h).
	 */
	void *probe_conf[HL_PROBES_MAX];
	struct hl_exporter_list exporters;
	/*
	 * Where each key set in the file was written (hl_config_where), as
	 * loaded: parts a SIGHUP reload moves in from another load keep the
	 * positions of the first (only start-time checks read them).
	 */
	struct hl_keypos *where;
	size_t n_where;
};

/* Top-level option table (probes: is filled from the registry before main). */
extern const struct hl_option hl_config_options[];

/*
 * A config error between keys of one probe's section, found after parsing
 * (struct hl_probe_ops.check_config). The parser reports it at key, or
 * when the file does not set key, at near (then the section).
 */
struct hl_config_problem {
	const char *key;  /* under the section, e.g. "interface" */
	const char *near; /* e.g. "enabled"; NULL: the section */
	char msg[256];
};

/*
 * Exporter types the parser accepts; provided by exporters/registry.c.
 * NULL-terminated.
 */
extern const struct hl_exporter_ops *const hl_exporter_types[];

/*
 * Load a config. path == NULL loads the embedded default config (the text
 * of config/hostlat.yaml compiled in). On error returns a negative errno
 * and writes one message to err (size errlen) of the form
 *   "FILE:LINE:COLUMN: <what is wrong> (key 'a.b.c')"
 * and *cfg is left empty. The caller frees with hl_config_free. The file
 * must be a regular file of at most HL_CONFIG_MAX_BYTES: it is opened
 * without blocking and anything else (a FIFO, a device) is refused before
 * a byte is read.
 */
int hl_config_load(struct hl_config *cfg, const char *path, char *err, size_t errlen);
/* Same from a string; name is used in messages. */
int hl_config_load_string(struct hl_config *cfg, const char *text, size_t len, const char *name,
			  char *err, size_t errlen);
void hl_config_free(struct hl_config *cfg); /* NULL-safe, idempotent */

/*
 * Limits of a config file: its size, and how deep mappings and lists may
 * nest in it (the top-level mapping is level 1). Deeper nesting is refused
 * while the YAML is read, at the collection that goes past the limit.
 */
#define HL_CONFIG_MAX_BYTES (1024 * 1024)
#define HL_CONFIG_MAX_DEPTH 64

/*
 * Where key ("probes.napi.network_namespace", "exporters[0].address") was
 * written: "FILE:LINE:COLUMN" of its value, else of the nearest enclosing
 * key the file sets (an exporter item for one of its defaults), else
 * "FILE". Written into buf and returned; for messages after loading.
 */
const char *hl_config_where(const struct hl_config *cfg, const char *key, char *buf, size_t len);

/*
 * The options' check_system checks (files to read, host names to resolve)
 * of every value in cfg, defaults included, for --check: the first failure
 * as "FILE:LINE:COLUMN: what (key 'a.b.c')" in err and -EINVAL; else 0.
 */
int hl_config_check_system(const struct hl_config *cfg, char *err, size_t errlen);

/*
 * The first key ("probes.traffic.samples", "exporters[1].queue_size";
 * "exporters" when the number of exporters differs) whose value
 * differs between a and b, written into buf and returned; NULL when they
 * are equal. Keys in skip (NULL-terminated dotted names, each with what is
 * under it) are not compared. For SIGHUP: what a new config changes.
 */
const char *hl_config_diff(const struct hl_config *a, const struct hl_config *b,
			   const char *const *skip, char *buf, size_t len);

/* Parse "100us" etc. into ns; -EINVAL on anything else. */
int hl_parse_duration(const char *s, uint64_t *ns);
/* Format ns as the shortest exact duration string ("10s", "1500us"). */
void hl_format_duration(uint64_t ns, char *buf, size_t len);

/* Write the config reference (a Markdown table of every key) to f. */
void hl_config_print_reference(FILE *f);

/* The embedded default config text (config/hostlat.yaml). */
extern const char hl_default_config[];

#endif /* HOSTLAT_CONFIG_H */
