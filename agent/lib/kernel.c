/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, reaches user space from BPF */
#endif
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>
#include <linux/net_tstamp.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kernel.h"
#include "log.h"
#include "feature.skel.h"

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif

static struct btf *vmlinux_btf;
static bool btf_tried;
static char btf_error[256];

const struct btf *hl_kernel_btf(void)
{
	if (!btf_tried) {
		btf_tried = true;
		vmlinux_btf = btf__load_vmlinux_btf();
		if (!vmlinux_btf)
			snprintf(btf_error, sizeof(btf_error),
				 "cannot load the kernel's BTF (%s): the kernel needs "
				 "CONFIG_DEBUG_INFO_BTF=y (see /sys/kernel/btf/vmlinux)",
				 strerror(errno));
	}
	return vmlinux_btf;
}

const char *hl_kernel_btf_error(void)
{
	return hl_kernel_btf() ? NULL : btf_error;
}

bool hl_kernel_has_func(const char *name)
{
	const struct btf *btf = hl_kernel_btf();

	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
}

/*
 * A function of a loaded module (its BTF under /sys/kernel/btf, split on
 * vmlinux's): libbpf finds fentry targets there too (module BTF).
 */
bool hl_kernel_module_has_func(const char *name)
{
	const struct btf *base = hl_kernel_btf();
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (!base)
		return false;
	d = opendir("/sys/kernel/btf");
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char path[300];
		struct btf *mod;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "vmlinux"))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", de->d_name);
		mod = btf__parse_split(path, (struct btf *)base);
		if (!mod)
			continue;
		found = btf__find_by_name_kind(mod, name, BTF_KIND_FUNC) > 0;
		btf__free(mod);
	}
	closedir(d);
	return found;
}

bool hl_kernel_has_tp_btf(const char *name)
{
	const struct btf *btf = hl_kernel_btf();
	char tname[128];

	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	return btf && btf__find_by_name_kind(btf, tname, BTF_KIND_TYPEDEF) > 0;
}

int hl_kernel_tp_btf_nargs(const char *name)
{
	const struct btf *btf = hl_kernel_btf();
	const struct btf_type *t;
	char tname[128];
	int id;

	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	id = btf ? btf__find_by_name_kind(btf, tname, BTF_KIND_TYPEDEF) : -1;
	if (id <= 0)
		return -ENOENT;
	/* typedef -> pointer -> prototype (void *ctx, args...) */
	t = btf__type_by_id(btf, id);
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	if (!t || !btf_is_ptr(t))
		return -EINVAL;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 1)
		return -EINVAL;
	return btf_vlen(t) - 1;
}

bool hl_kernel_has_enum_value(const char *enum_name, const char *value)
{
	const struct btf *btf = hl_kernel_btf();
	const struct btf_type *t;
	const struct btf_enum *e;
	int id;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM);
	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, e[i].name_off), value))
			return true;
	return false;
}

bool hl_kernel_has_tai(void)
{
	return hl_kernel_has_enum_value("bpf_func_id", "BPF_FUNC_ktime_get_tai_ns");
}

/* ---- hook probing ------------------------------------------------------------------ */

enum probe_kind { PK_FENTRY, PK_FEXIT, PK_KPROBE, PK_KRETPROBE };

#define PROBE_CACHE 128
static struct {
	char func[64];
	enum probe_kind kind;
	int err;
	char why[160];
} probe_cache[PROBE_CACHE];
static int probe_cached;
static int tramp_refused; /* negative errno once trampolines as such are refused */
static char tramp_why[160];
static int kprobes_refused; /* negative errno once kprobes as such are unusable */
static char kprobes_why[160];

/*
 * A function every kernel with BTF has and lets trampolines hook when it
 * lets them hook anything: a refusal here is a refusal of trampolines.
 */
#define TRAMP_REFERENCE "tcp_v4_rcv"

void hl_kernel_disable_trampolines(const char *why)
{
	tramp_refused = -EPERM;
	snprintf(tramp_why, sizeof(tramp_why), "%s", why);
	probe_cached = 0;
}

void hl_kernel_disable_kprobes(const char *why)
{
	kprobes_refused = -EPERM;
	snprintf(kprobes_why, sizeof(kprobes_why), "%s", why);
	probe_cached = 0;
}

static const char *err_name(int err)
{
	static char buf[24];
	const char *n;

	if (err == -ENOTSUPP)
		return "ENOTSUPP";
	n = strerrorname_np(-err);
	if (n)
		return n;
	snprintf(buf, sizeof(buf), "error %d", -err);
	return buf;
}

/* Arguments of kernel function name per its BTF prototype, or -1. */
static int func_nargs(const char *name)
{
	const struct btf *btf = hl_kernel_btf();
	const struct btf_type *t;
	int id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) : -1;

	if (id <= 0)
		return -1;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	return t && btf_is_func_proto(t) ? btf_vlen(t) : -1;
}

/* A fresh probe object where only prog (one of its programs) loads. */
static struct feature_bpf *probe_open(enum probe_kind kind, struct bpf_program **prog)
{
	struct feature_bpf *skel = feature_bpf__open();
	struct bpf_program *p, *want;

	if (!skel)
		return NULL;
	want = kind == PK_FENTRY   ? skel->progs.hl_probe_fentry
	       : kind == PK_FEXIT  ? skel->progs.hl_probe_fexit
	       : kind == PK_KPROBE ? skel->progs.hl_probe_kprobe
				   : skel->progs.hl_probe_kretprobe;
	bpf_object__for_each_program(p, skel->obj) bpf_program__set_autoload(p, p == want);
	*prog = want;
	return skel;
}

/*
 * Why a trampoline on func failed with err (in why). A refusal of
 * trampolines as such (the reference function is refused too) is
 * remembered for every function.
 */
static int tramp_refusal(const char *func, bool fexit, int err, char *why, size_t whylen)
{
	int nargs = func_nargs(func);
	char ref_why[160];

	if (err == -ENOTSUPP && nargs > 6) {
		snprintf(why, whylen,
			 "%s() has %d arguments, more than this kernel's BPF trampolines pass "
			 "(ENOTSUPP)",
			 func, nargs);
		return err;
	}
	if (err != -EPERM && err != -EOPNOTSUPP && err != -ENOTSUPP && err != -EINVAL) {
		snprintf(why, whylen, "the kernel refused a BPF trampoline on %s() (%s)", func,
			 err_name(err));
		return err;
	}
	if (strcmp(func, TRAMP_REFERENCE) && hl_kernel_has_func(TRAMP_REFERENCE) &&
	    !hl_kernel_probe_trampoline(TRAMP_REFERENCE, fexit, ref_why, sizeof(ref_why))) {
		/* Trampolines work elsewhere: this function is the problem. */
		snprintf(why, whylen, "the kernel refused a BPF trampoline on %s() (%s)", func,
			 err_name(err));
		return err;
	}
	if (!tramp_refused) {
		tramp_refused = err;
		snprintf(tramp_why, sizeof(tramp_why), "the kernel refused a BPF trampoline (%s)",
			 err_name(err));
	}
	snprintf(why, whylen, "%s", tramp_why);
	return tramp_refused;
}

static int tramp_once(const char *func, bool fexit, char *why, size_t whylen)
{
	struct bpf_program *prog;
	struct feature_bpf *skel;
	struct bpf_link *link;
	int err;

	if (!hl_kernel_btf()) {
		snprintf(why, whylen, "no kernel BTF");
		return -ENOENT;
	}
	if (!hl_kernel_has_func(func) && !hl_kernel_module_has_func(func)) {
		snprintf(why, whylen, "%s() is not in the kernel's BTF (inlined or absent)", func);
		return -ENOENT;
	}
	if (tramp_refused) {
		snprintf(why, whylen, "%s", tramp_why);
		return tramp_refused;
	}
	skel = probe_open(fexit ? PK_FEXIT : PK_FENTRY, &prog);
	if (!skel) {
		err = -errno;
		snprintf(why, whylen, "cannot open the probe object: %s", strerror(-err));
		return err;
	}
	err = bpf_program__set_attach_target(prog, 0, func);
	if (!err)
		err = feature_bpf__load(skel);
	if (err) {
		err = err < 0 ? err : -errno;
		goto refused;
	}
	link = bpf_program__attach(prog);
	if (!link) {
		err = -errno;
		goto refused;
	}
	bpf_link__destroy(link);
	feature_bpf__destroy(skel);
	return 0;

refused:
	feature_bpf__destroy(skel);
	return tramp_refusal(func, fexit, err, why, whylen);
}

#define NO_KPROBES "the kernel has no kprobes (CONFIG_KPROBES off)"

/* Kprobes unusable as such (kprobes_why says why): remembered for every function. */
static int kprobes_unusable(int err, char *why, size_t whylen)
{
	kprobes_refused = err;
	snprintf(why, whylen, "%s", kprobes_why);
	return err;
}

static int kprobe_once(const char *func, bool retprobe, char *why, size_t whylen)
{
	bool pmu = access("/sys/bus/event_source/devices/kprobe", F_OK) == 0;
	struct bpf_program *prog;
	struct feature_bpf *skel;
	struct bpf_link *link;
	int err;

	if (kprobes_refused) {
		snprintf(why, whylen, "%s", kprobes_why);
		return kprobes_refused;
	}
	skel = probe_open(retprobe ? PK_KRETPROBE : PK_KPROBE, &prog);
	if (!skel) {
		err = -errno;
		snprintf(why, whylen, "cannot open the probe object: %s", strerror(-err));
		return err;
	}
	err = feature_bpf__load(skel);
	if (err) {
		err = err < 0 ? err : -errno;
		feature_bpf__destroy(skel);
		if (!pmu)
			snprintf(kprobes_why, sizeof(kprobes_why), NO_KPROBES);
		else
			snprintf(kprobes_why, sizeof(kprobes_why),
				 "the kernel refused a kprobe program (%s)", err_name(err));
		return kprobes_unusable(err, why, whylen);
	}
	link = bpf_program__attach_kprobe(prog, retprobe, func);
	err = link ? 0 : -errno;
	bpf_link__destroy(link);
	feature_bpf__destroy(skel);
	if (!err)
		return 0;
	/* Without the kprobe PMU libbpf tried tracefs' kprobe_events: no kprobes at all. */
	if (!pmu) {
		snprintf(kprobes_why, sizeof(kprobes_why), NO_KPROBES);
		return kprobes_unusable(err, why, whylen);
	}
	switch (-err) {
	case EPERM:
	case EACCES:
		snprintf(kprobes_why, sizeof(kprobes_why), "the kernel refused kprobes (%s)",
			 err_name(err));
		return kprobes_unusable(err, why, whylen);
	case ENOENT:
		snprintf(why, whylen, "not a kprobe-able symbol: %s() is not in kallsyms (ENOENT)",
			 func);
		break;
	case EINVAL:
	case EILSEQ:
		snprintf(why, whylen,
			 "not a kprobe-able symbol: %s() is notrace, on the kprobe blacklist "
			 "or not kernel text (%s)",
			 func, err_name(err));
		break;
	case EADDRNOTAVAIL:
		snprintf(why, whylen,
			 "not a kprobe-able symbol: several kernel symbols are named %s "
			 "(EADDRNOTAVAIL)",
			 func);
		break;
	default:
		snprintf(why, whylen, "the kernel refused a %s on %s() (%s)",
			 retprobe ? "kretprobe" : "kprobe", func, err_name(err));
	}
	return err;
}

static int probe_cached_or(const char *func, enum probe_kind kind, char *why, size_t whylen)
{
	int err;

	for (int i = 0; i < probe_cached; i++) {
		if (probe_cache[i].kind == kind && !strcmp(probe_cache[i].func, func)) {
			snprintf(why, whylen, "%s", probe_cache[i].why);
			return probe_cache[i].err;
		}
	}
	why[0] = 0;
	if (kind == PK_FENTRY || kind == PK_FEXIT)
		err = tramp_once(func, kind == PK_FEXIT, why, whylen);
	else
		err = kprobe_once(func, kind == PK_KRETPROBE, why, whylen);
	if (probe_cached < PROBE_CACHE) {
		snprintf(probe_cache[probe_cached].func, sizeof(probe_cache[0].func), "%s", func);
		probe_cache[probe_cached].kind = kind;
		probe_cache[probe_cached].err = err;
		snprintf(probe_cache[probe_cached].why, sizeof(probe_cache[0].why), "%s", why);
		probe_cached++;
	}
	return err;
}

int hl_kernel_probe_trampoline(const char *func, bool fexit, char *why, size_t whylen)
{
	return probe_cached_or(func, fexit ? PK_FEXIT : PK_FENTRY, why, whylen);
}

int hl_kernel_probe_kprobe(const char *func, bool retprobe, char *why, size_t whylen)
{
	return probe_cached_or(func, retprobe ? PK_KRETPROBE : PK_KPROBE, why, whylen);
}

/* ---- clocks ------------------------------------------------------------------------- */

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

int64_t hl_kernel_clock_offset(bool use_tai)
{
	struct timespec a, b, c;
	int64_t best = 0, best_gap = INT64_MAX;

	if (use_tai) {
		struct timex tx = {0};

		/* TAI = REALTIME + tai seconds; adjtimex reports tai (0 when unset). */
		if (adjtimex(&tx) >= 0)
			return -(int64_t)tx.tai * 1000000000LL;
		return 0;
	}
	/* REALTIME - BOOTTIME from the tightest of a few bracketed readings. */
	for (int i = 0; i < 5; i++) {
		clock_gettime(CLOCK_BOOTTIME, &a);
		clock_gettime(CLOCK_REALTIME, &b);
		clock_gettime(CLOCK_BOOTTIME, &c);
		if (ts_ns(&c) - ts_ns(&a) < best_gap) {
			best_gap = ts_ns(&c) - ts_ns(&a);
			best = ts_ns(&b) - (ts_ns(&a) + ts_ns(&c)) / 2;
		}
	}
	return best;
}

/* ---- host set-up ------------------------------------------------------------------------ */

int hl_kernel_enable_rx_timestamps(void)
{
	int val = SOF_TIMESTAMPING_RX_SOFTWARE;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &val, sizeof(val)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int hl_kernel_ensure_tracefs(void)
{
	struct statfs st;

	if (statfs("/sys/kernel/tracing", &st) == 0 && st.f_type == TRACEFS_MAGIC)
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) < 0)
		return -errno;
	hl_info("kernel", "mounted tracefs at /sys/kernel/tracing");
	return 0;
}

uint64_t hl_self_netns_ino(void)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return 0;
	return st.st_ino;
}

const char *hl_cgroup2_mount(void)
{
	static char mnt[256];
	static bool done;
	char line[1024];
	FILE *f;

	if (done)
		return mnt[0] ? mnt : NULL;
	done = true;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		/* ... mount_point ... - fstype source options */
		char *sep = strstr(line, " - ");
		char point[256];

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %255s", point) == 1) {
			snprintf(mnt, sizeof(mnt), "%s", point);
			break;
		}
	}
	fclose(f);
	return mnt[0] ? mnt : NULL;
}

int hl_cgroup_id(const char *path, uint64_t *id)
{
	const char *mnt = hl_cgroup2_mount();
	char full[512];
	struct stat st;

	if (!mnt)
		return -ENOENT;
	if (!strncmp(path, mnt, strlen(mnt)))
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", mnt, path[0] == '/' ? path + 1 : path);
	if (stat(full, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*id = st.st_ino;
	return 0;
}

/* id -> path cache, rebuilt by walking the hierarchy when an id is unknown. */
#define CG_CACHE_MAX 4096
static struct cg_entry {
	uint64_t id;
	char *path;
} * cg_cache;
static size_t cg_n;
static size_t cg_mnt_len;
static time_t cg_walked;

static int cg_walk_cb(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_D || cg_n >= CG_CACHE_MAX)
		return cg_n >= CG_CACHE_MAX;
	cg_cache[cg_n].id = sb->st_ino;
	cg_cache[cg_n].path = strdup(fpath[cg_mnt_len] ? fpath + cg_mnt_len : "/");
	if (cg_cache[cg_n].path)
		cg_n++;
	return 0;
}

static void cg_cache_clear(void)
{
	for (size_t i = 0; i < cg_n; i++)
		free(cg_cache[i].path);
	cg_n = 0;
}

const char *hl_cgroup_path(uint64_t id)
{
	const char *mnt = hl_cgroup2_mount();
	time_t now = time(NULL);

	for (size_t i = 0; i < cg_n; i++)
		if (cg_cache[i].id == id)
			return cg_cache[i].path;
	if (!mnt || now == cg_walked)
		return NULL; /* at most one walk per second */
	cg_walked = now;
	if (!cg_cache) {
		cg_cache = calloc(CG_CACHE_MAX, sizeof(*cg_cache));
		if (!cg_cache)
			return NULL;
	}
	cg_cache_clear();
	cg_mnt_len = strlen(mnt);
	nftw(mnt, cg_walk_cb, 16, FTW_PHYS | FTW_MOUNT);
	for (size_t i = 0; i < cg_n; i++)
		if (cg_cache[i].id == id)
			return cg_cache[i].path;
	return NULL;
}

void hl_cgroup_label(uint64_t id, char *buf, size_t len, bool *resolved)
{
	const char *p;

	if (*resolved || !id)
		return;
	p = hl_cgroup_path(id);
	if (p) {
		snprintf(buf, len, "%s", p);
		*resolved = true;
	} else {
		snprintf(buf, len, "cgroup-id-%llu", (unsigned long long)id);
	}
}

void hl_kernel_release_btf(void)
{
	btf__free(vmlinux_btf);
	vmlinux_btf = NULL;
	btf_tried = false;
}

void hl_kernel_cleanup(void)
{
	hl_kernel_release_btf();
	cg_cache_clear();
	free(cg_cache);
	cg_cache = NULL;
}
