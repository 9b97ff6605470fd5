/* SPDX-License-Identifier: MIT */
/* Exporter modules: dlopen, the ABI checks, and the init parameters. */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "plugin.h"
#include "privs.h"

typedef const struct hl_exporter_ops *(*module_fn)(void);

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
							  ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* NULL when ops is usable by this agent, else what is wrong (into buf). */
static const char *check_ops(const struct hl_exporter_ops *ops, char *buf, size_t len)
{
	const char *missing = NULL;

	/* abi_version is the first member in every version: safe to read first. */
	if (ops->abi_version != HL_EXPORTER_ABI_VERSION) {
		snprintf(buf, len, "was built for exporter ABI %u; this hostlat speaks ABI %u",
			 ops->abi_version, HL_EXPORTER_ABI_VERSION);
		return buf;
	}
	if (!ops->name || !ops->name[0])
		return "has no name";
	if (!ops->init)
		missing = "init";
	else if (!ops->export_batch)
		missing = "export_batch";
	else if (!ops->shutdown)
		missing = "shutdown";
	if (missing) {
		snprintf(buf, len, "(%s) has no %s callback", ops->name, missing);
		return buf;
	}
	if (ops->options) {
		snprintf(buf, len,
			 "(%s) sets options: a module's options must be NULL (its init "
			 "receives its config as strings)",
			 ops->name);
		return buf;
	}
	return NULL;
}

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#endif

/*
 * Whether the file open at fd is a whole shared object for this machine:
 * dlopen maps its segments, and one that ends past the end of the file
 * (a truncated copy) is a SIGBUS when the loader touches it. 0, or -EINVAL
 * with the reason in why.
 */
static int check_elf(int fd, char *why, size_t whylen)
{
	ElfW(Ehdr) eh;
	ElfW(Phdr) ph;
	struct stat st;
	uint64_t size;

	if (fstat(fd, &st) < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		return -EINVAL;
	}
	size = (uint64_t)st.st_size;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		snprintf(why, whylen, "not an ELF file");
		return -EINVAL;
	}
	if (eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
#ifdef HOST_MACHINE
	    eh.e_machine != HOST_MACHINE ||
#endif
	    eh.e_type != ET_DYN) {
		snprintf(why, whylen, "not a shared object for this machine");
		return -EINVAL;
	}
	if (eh.e_phentsize != sizeof(ph) || !eh.e_phnum ||
	    eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(ph) > size) {
		snprintf(why, whylen,
			 "truncated or corrupt: its program headers are not in the file");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph)) {
			snprintf(why, whylen, "cannot read its program headers");
			return -EINVAL;
		}
		if (ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz > size) {
			snprintf(why, whylen,
				 "truncated: a segment ends at byte %llu, the file has %llu",
				 (unsigned long long)(ph.p_offset + ph.p_filesz),
				 (unsigned long long)size);
			return -EINVAL;
		}
	}
	return 0;
}

int hl_plugin_load(const char *path, void **handle, const struct hl_exporter_ops **ops, char *err,
		   size_t errlen)
{
	const struct hl_exporter_ops *o;
	char buf[256];
	const char *why;
	module_fn fn;
	void *h, *sym;
	int fd;

	*handle = NULL;
	*ops = NULL;
	if (!path || !*path) {
		set_err(err, errlen, "cannot load plugin '': no path");
		return -EINVAL;
	}
	/* Its code runs in a privileged agent: say so when others could swap it. */
	if (strchr(path, '/') && hl_privs_untrusted_path(path, buf, sizeof(buf)))
		hl_warn("agent", "plugin %s: users other than root can change it: %s", path, buf);
	/* A file dlopen would map but then fault on (SIGBUS) is refused first. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		set_err(err, errlen, "cannot load plugin '%s': %s", path, strerror(errno));
		return -EINVAL;
	}
	if (check_elf(fd, buf, sizeof(buf))) {
		set_err(err, errlen, "cannot load plugin '%s': %s", path, buf);
		close(fd);
		return -EINVAL;
	}
	close(fd);
	dlerror();
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		why = dlerror();
		set_err(err, errlen, "cannot load plugin '%s': %s", path,
			why ? why : "unknown error");
		return -EINVAL;
	}
	dlerror();
	sym = dlsym(h, HL_EXPORTER_MODULE_SYMBOL);
	if (!sym || dlerror()) {
		set_err(err, errlen, "plugin '%s' has no symbol %s", path,
			HL_EXPORTER_MODULE_SYMBOL);
		dlclose(h);
		return -EINVAL;
	}
	/* POSIX guarantees a data pointer from dlsym converts to a function pointer. */
	memcpy(&fn, &sym, sizeof(fn));
	o = fn();
	if (!o) {
		set_err(err, errlen, "plugin '%s': %s() returned NULL", path,
			HL_EXPORTER_MODULE_SYMBOL);
		dlclose(h);
		return -EINVAL;
	}
	why = check_ops(o, buf, sizeof(buf));
	if (why) {
		set_err(err, errlen, "plugin '%s' %s", path, why);
		dlclose(h);
		return -EINVAL;
	}
	*handle = h;
	*ops = o;
	return 0;
}

void hl_plugin_unload(void *handle)
{
	if (handle)
		dlclose(handle);
}

int hl_plugin_params(const struct hl_kvlist *kv, struct hl_module_params *out)
{
	const char **keys = NULL, **values = NULL;
	size_t n = kv ? kv->n : 0;

	*out = (struct hl_module_params){0};
	if (n) {
		keys = calloc(n, sizeof(*keys));
		values = calloc(n, sizeof(*values));
		if (!keys || !values) {
			free(keys);
			free(values);
			return -ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			keys[i] = kv->v[i].key;
			values[i] = kv->v[i].value;
		}
	}
	out->n = n;
	out->keys = keys;
	out->values = values;
	return 0;
}

void hl_plugin_params_free(struct hl_module_params *p)
{
	if (!p)
		return;
	free((void *)p->keys);
	free((void *)p->values);
	*p = (struct hl_module_params){0};
}
