/* SPDX-License-Identifier: MIT */
/*
 * Least privilege: dropping capabilities in every thread once the probes
 * are attached, and the checks that tell what is still needed.
 *
 * Capabilities belong to threads, not to the process: capset() changes the
 * calling thread only. By the time the probes are attached the agent runs
 * other threads (one per exporter, the traffic scheduler, the health
 * server, maybe a plugin's), so hl_privs_drop asks each of them with a
 * signal to drop its own, the way the C library makes setuid() apply to
 * every thread, and then reads /proc/self/task/TID/status to check that
 * every thread did. A thread created meanwhile by one that had not dropped
 * yet inherits the old sets; the check finds it and the next round asks it.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include <bpf/bpf.h>

#include "log.h"
#include "privs.h"
#include "probeset.h"

#define DROP_ROUNDS 5
#define DROP_WAIT_NS 1000000000ULL /* per round, for the threads to answer */

static const char *const cap_names[] = {
	"cap_chown",
	"cap_dac_override",
	"cap_dac_read_search",
	"cap_fowner",
	"cap_fsetid",
	"cap_kill",
	"cap_setgid",
	"cap_setuid",
	"cap_setpcap",
	"cap_linux_immutable",
	"cap_net_bind_service",
	"cap_net_broadcast",
	"cap_net_admin",
	"cap_net_raw",
	"cap_ipc_lock",
	"cap_ipc_owner",
	"cap_sys_module",
	"cap_sys_rawio",
	"cap_sys_chroot",
	"cap_sys_ptrace",
	"cap_sys_pacct",
	"cap_sys_admin",
	"cap_sys_boot",
	"cap_sys_nice",
	"cap_sys_resource",
	"cap_sys_time",
	"cap_sys_tty_config",
	"cap_mknod",
	"cap_lease",
	"cap_audit_write",
	"cap_audit_control",
	"cap_setfcap",
	"cap_mac_override",
	"cap_mac_admin",
	"cap_syslog",
	"cap_wake_alarm",
	"cap_block_suspend",
	"cap_audit_read",
	"cap_perfmon",
	"cap_bpf",
	"cap_checkpoint_restore",
};

void hl_privs_format(uint64_t caps, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (int c = 0; c < 64 && n < len; c++) {
		if (!(caps & HL_CAP(c)))
			continue;
		if (c < (int)(sizeof(cap_names) / sizeof(cap_names[0])))
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
					      cap_names[c]);
		else
			n += (size_t)snprintf(buf + n, len - n, "%scap_%d", n ? ", " : "", c);
	}
	if (!n)
		snprintf(buf, len, "none");
}

/* ---- the calling thread's sets (raw system calls: also used in a signal handler) ---- */

static int caps_get(uint64_t *eff, uint64_t *prm)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {{0}};

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	return 0;
}

static int caps_set(uint64_t caps)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {{0}};

	d[0].effective = d[0].permitted = (uint32_t)caps;
	d[1].effective = d[1].permitted = (uint32_t)(caps >> 32);
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

/* Async-signal-safe: system calls only. */
static int drop_self(uint64_t keep, int last_cap)
{
	uint64_t eff = 0, prm = 0;
	int e = caps_get(&eff, &prm);

	if (e)
		return e;
	/* The bounding set first: dropping from it needs CAP_SETPCAP. */
	if (eff & HL_CAP(CAP_SETPCAP))
		for (int c = 0; c <= last_cap; c++)
			if (!(keep & HL_CAP(c)))
				prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); /* EINVAL before 4.3 */
	e = caps_set(keep & prm);
	if (e)
		return e;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* ---- every other thread ---------------------------------------------------------------- */

static struct {
	uint64_t keep;
	int last_cap;
	atomic_int answered, failed, first_error;
} req;

static void on_drop_signal(int sig)
{
	int saved = errno, e;

	(void)sig;
	e = drop_self(req.keep, req.last_cap);
	if (e) {
		int none = 0;

		atomic_fetch_add(&req.failed, 1);
		atomic_compare_exchange_strong(&req.first_error, &none, -e);
	}
	atomic_fetch_add(&req.answered, 1);
	errno = saved;
}

struct task_state {
	uint64_t inh, prm, eff, amb;
	int nnp;
	char comm[32];
};

static int read_task(pid_t tid, struct task_state *t)
{
	char path[64], line[256];
	FILE *f;

	memset(t, 0, sizeof(*t));
	t->nnp = -1;
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');

		if (!v)
			continue;
		*v++ = 0;
		v += strspn(v, " \t");
		if (!strcmp(line, "Name"))
			snprintf(t->comm, sizeof(t->comm), "%.*s", (int)strcspn(v, "\n"), v);
		else if (!strcmp(line, "CapInh"))
			t->inh = strtoull(v, NULL, 16);
		else if (!strcmp(line, "CapPrm"))
			t->prm = strtoull(v, NULL, 16);
		else if (!strcmp(line, "CapEff"))
			t->eff = strtoull(v, NULL, 16);
		else if (!strcmp(line, "CapAmb"))
			t->amb = strtoull(v, NULL, 16);
		else if (!strcmp(line, "NoNewPrivs"))
			t->nnp = atoi(v);
	}
	fclose(f);
	return 0;
}

static bool task_done(const struct task_state *t, uint64_t keep)
{
	return !(t->prm & ~keep) && !(t->eff & ~keep) && !t->inh && !t->amb && t->nnp != 0;
}

/*
 * Signal every thread but the caller that has not dropped yet; with
 * report set, describe the first such thread in err instead. Returns the
 * number of threads signalled (or found), or -errno.
 */
static int sweep(pid_t self, int sig, bool report, char *err, size_t errlen)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc/self/task");

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct task_state t;
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid <= 0 || tid == self || read_task(tid, &t) || task_done(&t, req.keep))
			continue;
		if (report) {
			if (!n)
				snprintf(err, errlen,
					 "thread %d (%s) still has capabilities (permitted %#llx) "
					 "or no no_new_privs: it blocks signals",
					 (int)tid, t.comm, (unsigned long long)t.prm);
			n++;
			continue;
		}
		if (syscall(SYS_tgkill, getpid(), tid, sig) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static int read_last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

int hl_privs_drop(uint64_t keep, char *err, size_t errlen)
{
	struct sigaction sa = {.sa_handler = on_drop_signal, .sa_flags = SA_RESTART};
	pid_t self = (pid_t)syscall(SYS_gettid);
	int sig = SIGRTMIN + 3, e;

	err[0] = 0;
	req.keep = keep;
	req.last_cap = read_last_cap();
	sigfillset(&sa.sa_mask);
	/* Stays installed: a late signal must never meet the default action. */
	if (sigaction(sig, &sa, NULL) < 0) {
		snprintf(err, errlen, "sigaction: %s", strerror(errno));
		return -errno;
	}
	for (int round = 0; round < DROP_ROUNDS; round++) {
		struct timespec nap = {0, 1000000};
		int sent;

		/* Each round counts its own failures: a thread that failed
		 * before is signalled again, and may drop this time. */
		atomic_store(&req.answered, 0);
		atomic_store(&req.failed, 0);
		atomic_store(&req.first_error, 0);
		sent = sweep(self, sig, false, err, errlen);
		if (sent <= 0)
			break;
		for (uint64_t waited = 0;
		     atomic_load(&req.answered) < sent && waited < DROP_WAIT_NS;
		     waited += (uint64_t)nap.tv_nsec)
			nanosleep(&nap, NULL);
	}
	e = drop_self(keep, req.last_cap);
	if (e) {
		snprintf(err, errlen, "cannot drop capabilities: %s", strerror(-e));
		return e;
	}
	if (atomic_load(&req.failed)) {
		snprintf(err, errlen, "%d thread(s) could not drop capabilities: %s",
			 atomic_load(&req.failed), strerror(atomic_load(&req.first_error)));
		return -atomic_load(&req.first_error);
	}
	e = sweep(self, sig, true, err, errlen);
	if (e < 0)
		snprintf(err, errlen, "cannot check the other threads in /proc/self/task: %s",
			 strerror(-e));
	if (e)
		return e < 0 ? e : -EAGAIN;
	return 0;
}

/* ---- what reading maps needs ------------------------------------------------------------ */

struct map_try {
	int fd;
	int err; /* of the lookup, without capabilities */
};

static void *try_map_read(void *arg)
{
	struct map_try *t = arg;
	__u32 key = 0, value;

	/* This thread only: the others keep their capabilities. */
	if (caps_set(0)) {
		t->err = EAGAIN;
		return NULL;
	}
	t->err = bpf_map_lookup_elem(t->fd, &key, &value) ? errno : 0;
	return NULL;
}

uint64_t hl_privs_map_read_caps(char *why, size_t len)
{
	struct map_try t = {.fd = -1, .err = 0};
	char sysctl[16] = "?";
	pthread_t th;
	FILE *f;

	why[0] = 0;
	t.fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "hl_privs_try", 4, 4, 1, NULL);
	if (t.fd < 0)
		return 0; /* no CAP_BPF to begin with: nothing to keep */
	if (pthread_create(&th, NULL, try_map_read, &t)) {
		t.err = EAGAIN;
	} else {
		pthread_join(th, NULL);
	}
	close(t.fd);
	if (!t.err)
		return 0;
	f = fopen("/proc/sys/kernel/unprivileged_bpf_disabled", "re");
	if (f) {
		if (!fgets(sysctl, sizeof(sysctl), f))
			snprintf(sysctl, sizeof(sysctl), "?");
		sysctl[strcspn(sysctl, "\n")] = 0;
		fclose(f);
	}
	if (t.err == EAGAIN)
		snprintf(why, len, "cannot tell whether reading BPF maps needs it");
	else
		snprintf(why, len,
			 "this kernel refuses to read BPF maps without it (%s; "
			 "kernel.unprivileged_bpf_disabled=%s, Linux before 5.19)",
			 strerror(t.err), sysctl);
	return HL_CAP(CAP_BPF);
}

/* ---- files ---------------------------------------------------------------------------- */

static bool trusted_uid(uid_t u)
{
	return u == 0 || u == geteuid();
}

static bool trusted_gid(gid_t g)
{
	return g == 0 || g == getegid();
}

/*
 * Can someone untrusted change the object p (st): a file, or the entries
 * of a directory (child: the entry on the way, for the sticky bit)?
 */
static bool untrusted(const char *p, const struct stat *st, const struct stat *child, char *why,
		      size_t len)
{
	mode_t m = st->st_mode;
	bool sticky = S_ISDIR(m) && (m & S_ISVTX) && child && trusted_uid(child->st_uid);
	const char *what = S_ISDIR(m) ? "directory " : "";

	if (!trusted_uid(st->st_uid)) {
		snprintf(why, len, "%s%s is owned by uid %u", what, p, (unsigned)st->st_uid);
		return true;
	}
	if ((m & S_IWOTH) && !sticky) {
		snprintf(why, len, "%s%s is writable by everyone (mode %04o)", what, p,
			 (unsigned)(m & 07777));
		return true;
	}
	if ((m & S_IWGRP) && !trusted_gid(st->st_gid) && !sticky) {
		snprintf(why, len, "%s%s is writable by group %u (mode %04o)", what, p,
			 (unsigned)st->st_gid, (unsigned)(m & 07777));
		return true;
	}
	return false;
}

/*
 * The file at abs (absolute) and every directory above it; with owner_ok
 * the file's owner is not held against it (its mode bits are).
 */
static bool untrusted_chain(const char *abs, bool owner_ok, char *why, size_t len)
{
	char buf[PATH_MAX];
	struct stat st, child;
	char *slash;

	if (snprintf(buf, sizeof(buf), "%s", abs) >= (int)sizeof(buf) || stat(buf, &st))
		return false; /* missing: the caller reports that */
	child = st;
	if (owner_ok)
		child.st_uid = 0;
	if (untrusted(buf, &child, NULL, why, len))
		return true;
	for (;;) {
		child = st;
		slash = strrchr(buf, '/');
		if (!slash)
			return false;
		if (slash == buf) {
			if (!buf[1])
				return false; /* "/" was the last */
			buf[1] = 0;
		} else {
			*slash = 0;
		}
		if (stat(buf, &st))
			return false;
		if (untrusted(buf, &st, &child, why, len))
			return true;
	}
}

static bool untrusted_path(const char *path, bool owner_ok, char *why, size_t len)
{
	char abs[PATH_MAX], cwd[PATH_MAX], *real;
	bool bad;

	why[0] = 0;
	if (path[0] == '/') {
		snprintf(abs, sizeof(abs), "%s", path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return false;
		if (snprintf(abs, sizeof(abs), "%s/%s", cwd, path) >= (int)sizeof(abs))
			return false;
	}
	if (untrusted_chain(abs, owner_ok, why, len))
		return true;
	real = realpath(abs, NULL);
	if (!real)
		return false;
	bad = strcmp(real, abs) && untrusted_chain(real, owner_ok, why, len);
	free(real);
	return bad;
}

bool hl_privs_untrusted_path(const char *path, char *why, size_t len)
{
	return untrusted_path(path, false, why, len);
}

bool hl_privs_untrusted_dir(const char *dir, char *why, size_t len)
{
	return untrusted_path(dir, true, why, len);
}

bool hl_privs_dir_writable(const char *dir)
{
	struct stat st;
	gid_t groups[256];
	int n;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return false;
	if (st.st_uid == geteuid())
		return (st.st_mode & (S_IWUSR | S_IXUSR)) == (S_IWUSR | S_IXUSR);
	n = getgroups(256, groups);
	for (int i = -1; i < n; i++)
		if ((i < 0 ? getegid() : groups[i]) == st.st_gid)
			return (st.st_mode & (S_IWGRP | S_IXGRP)) == (S_IWGRP | S_IXGRP);
	return (st.st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}

/* ---- after start ----------------------------------------------------------------------- */

void hl_privs_drop_after_start(const struct hl_probeset *probes)
{
	char why[256], names[256], err[512];
	const struct hl_probe_ops *p;
	uint64_t keep, need;
	void *state;

	keep = hl_privs_map_read_caps(why, sizeof(why));
	if (keep) {
		hl_privs_format(keep, names, sizeof(names));
		hl_info("agent", "keeping %s: %s", names, why);
	}
	for (size_t i = 0; hl_probeset_next(probes, &i, &p, &state);) {
		if (!p->privileges)
			continue;
		why[0] = 0;
		need = p->privileges(state, why, sizeof(why));
		if (!need)
			continue;
		hl_privs_format(need, names, sizeof(names));
		hl_info("agent", "keeping %s for %s: %s", names, p->name, why);
		keep |= need;
	}
	hl_privs_format(keep, names, sizeof(names));
	if (hl_privs_drop(keep, err, sizeof(err)))
		hl_err("agent", "least privilege: %s", err);
	else
		hl_info("agent",
			"capabilities kept after start: %s (every thread); no_new_privs is set",
			names);
}
