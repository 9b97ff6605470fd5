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
	HL_OPT_EXPORTERS /* struct hl_exporter_list: list of mappings keyed by type */
};

struct hl_option {
	const char *name;
	enum hl_opt_type type;
	size_t offset;	  /* into the struct being filled */
	const char *def;  /* default as YAML text; NULL = empty/none */
	int64_t min, max; /* HL_OPT_UINT, HL_OPT_DURATION (ns), each item of HL_OPT_UINTLIST */
	const char *const *names;    /* HL_OPT_ENUM / HL_OPT_FLAGS, NULL-terminated */
	const struct hl_option *sub; /* HL_OPT_SECTION, terminated by name == NULL */
	const char *help;	     /* one line for docs */
};

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

enum hl_traffic_attach { HL_TRAFFIC_ATTACH_AUTO, HL_TRAFFIC_ATTACH_TCX, HL_TRAFFIC_ATTACH_TC };

enum hl_log_level { HL_LOG_ERROR, HL_LOG_WARN, HL_LOG_INFO, HL_LOG_DEBUG };

/* Kernel stall probes (probes.softirq, napi, function_latency, drops, runqueue). */
struct hl_softirq_conf {
	bool enabled;
	uint32_t vectors; /* bit per softirq vector (hl_softirq_names) */
	uint32_t histogram_scale;
	uint32_t max_buckets;
};

struct hl_napi_conf {
	bool enabled;
	char *network_namespace; /* host, all, a path or an inode number */
	uint32_t max_series;
};

struct hl_function_latency_conf {
	bool enabled;
	struct hl_strlist functions;
	uint32_t histogram_scale;
	uint32_t max_buckets;
};

#define HL_CONF_GROUP_CGROUP (1U << 0) /* group_by: [cgroup] of drops, runqueue */

struct hl_drops_conf {
	bool enabled;
	char *network_namespace;
	uint32_t group_by; /* HL_CONF_GROUP_CGROUP */
	uint32_t max_series;
};

enum hl_runqueue_tasks { HL_RUNQ_SOCKET_READERS, HL_RUNQ_ALL };

struct hl_runqueue_conf {
	bool enabled;
	int tasks; /* enum hl_runqueue_tasks */
	struct hl_strlist cgroups;
	struct hl_uintlist pids;
	uint32_t group_by; /* HL_CONF_GROUP_CGROUP */
	uint32_t histogram_scale;
	uint32_t max_buckets;
	uint32_t max_series;
};

enum hl_xdp_mode { HL_XDP_NATIVE, HL_XDP_GENERIC };

/* probes.xdp_responder */
struct hl_xdp_responder_conf {
	bool enabled;
	char *interface;
	uint32_t port;
	struct hl_strlist allow; /* CIDRs, checked by hl_parse_cidr */
	uint32_t rate_limit;	 /* responses per second; 0: none */
	int mode;		 /* enum hl_xdp_mode */
};

struct hl_stack_latency_filters {
	struct hl_strlist interfaces; /* names; empty = all */
	char *network_namespace;      /* "host" (default), "all", a path, or an inode number */
	struct hl_strlist cgroups;    /* cgroup v2 paths; empty = all */
	struct hl_uintlist pids;      /* empty = all */
	uint32_t min_queue_length;
};

struct hl_config {
	char *path; /* file it came from, or "<embedded>" */
	struct {
		uint64_t interval_ns;
		int log_level; /* enum hl_log_level */
		struct {
			char *listen; /* address:port of /healthz and /readyz; NULL: off */
		} health;
	} agent;
	struct {
		struct hl_kvlist attributes;
	} resource;
	struct {
		bool enabled;
		uint32_t stages; /* bit per enum hl_stage */
		uint32_t histogram_scale;
		uint32_t max_buckets;	     /* export max size per histogram */
		uint32_t max_groups;	     /* kernel map bound for group-by keys */
		uint32_t max_bucket_entries; /* kernel per-bucket counter map capacity */
		struct hl_stack_latency_filters filters;
		uint32_t group_by; /* HL_GROUP_IFACE | HL_GROUP_CGROUP */
	} stack;
	struct {
		bool enabled;
		struct hl_strlist interfaces; /* empty: the default route's interface */
		struct hl_durlist granularities;
		uint32_t samples;
		uint64_t every_ns;
		uint32_t burst_threshold; /* percent of the link speed */
		uint32_t link_speed;	  /* Mbit/s when the interface reports none; 0: none */
		int attach;		  /* enum hl_traffic_attach */
		struct {
			char *dir;
			uint32_t max_bytes; /* 0: do not store runs */
			uint64_t max_age_ns;
		} store;
	} traffic;
	struct hl_softirq_conf softirq;
	struct hl_napi_conf napi;
	struct hl_function_latency_conf function_latency;
	struct hl_drops_conf drops;
	struct hl_runqueue_conf runqueue;
	struct hl_xdp_responder_conf xdp_responder;
	struct hl_exporter_list exporters;
};

/* Stage names, in enum hl_stage order, NULL-terminated. */
extern const char *const hl_stage_names[];
/* Softirq vector names, in the kernel's order, NULL-terminated. */
extern const char *const hl_softirq_names[];
/* Top-level option table. */
extern const struct hl_option hl_config_options[];

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
 * and *cfg is left empty. The caller frees with hl_config_free.
 */
int hl_config_load(struct hl_config *cfg, const char *path, char *err, size_t errlen);
/* Same from a string; name is used in messages. */
int hl_config_load_string(struct hl_config *cfg, const char *text, size_t len, const char *name,
			  char *err, size_t errlen);
void hl_config_free(struct hl_config *cfg); /* NULL-safe, idempotent */

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

/*
 * A network or host address: "a.b.c.d[/len]" or an IPv6 address with an
 * optional "/len" (no length: one host). addr gets 16 bytes, IPv4 as
 * ::ffff:a.b.c.d, and *prefix the length over those 128 bits. -EINVAL with
 * the reason in why (also when bits beyond the length are set).
 */
int hl_parse_cidr(const char *s, uint8_t addr[16], unsigned int *prefix, char *why, size_t whylen);

/* Write the config reference (a Markdown table of every key) to f. */
void hl_config_print_reference(FILE *f);

/* The embedded default config text (config/hostlat.yaml). */
extern const char hl_default_config[];

#endif /* HOSTLAT_CONFIG_H */
