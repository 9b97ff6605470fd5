/* SPDX-License-Identifier: MIT */
/*
 * Least privilege. Loading and attaching BPF programs needs capabilities
 * (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN); reading their maps through the file
 * descriptors the agent already holds does not (Linux 5.19+). Once every
 * probe is attached the agent drops every capability nothing needs any more,
 * in every thread, and sets no_new_privs.
 */
#ifndef HOSTLAT_PRIVS_H
#define HOSTLAT_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hl_probeset;

#define HL_CAP(c) (1ULL << (c))

/*
 * CAP_BPF when this kernel refuses map reads through an fd without it
 * (before Linux 5.19 every bpf() command needs it while
 * kernel.unprivileged_bpf_disabled is set), else 0. Found by trying: a
 * short-lived thread gives up its capabilities and reads a map. Writes the
 * reason into why when it returns CAP_BPF.
 */
uint64_t hl_privs_map_read_caps(char *why, size_t len);

/*
 * Drop every capability not in keep from every thread of the process
 * (effective, permitted, inheritable and ambient sets; the bounding set
 * too where CAP_SETPCAP allows) and set no_new_privs in every thread, then
 * check each thread in /proc/self/task. Returns 0, or -errno with one
 * message in err (a thread that could not be made to drop, by id).
 */
int hl_privs_drop(uint64_t keep, char *err, size_t errlen);

/* "cap_bpf, cap_net_admin", or "none". */
void hl_privs_format(uint64_t caps, char *buf, size_t len);

/*
 * Can another user than root (or the agent's own user) change what path
 * holds: the file itself, or a directory on the way to it (the path as
 * given and once symbolic links are resolved)? Returns true with a
 * sentence in why ("/etc/x.yaml is writable by group 1000 (mode 0664)").
 */
bool hl_privs_untrusted_path(const char *path, char *why, size_t len);

/*
 * The same for a directory that root may have handed to another user
 * (chown): its owner is not held against it, but a group or everyone
 * being able to write it is, and so is anyone but root being able to
 * change a directory above it (and so swap dir for a link elsewhere).
 */
bool hl_privs_untrusted_dir(const char *dir, char *why, size_t len);

/*
 * Can the agent create files in dir without capabilities (as its own user,
 * by the mode bits)? false when it would need CAP_DAC_OVERRIDE.
 */
bool hl_privs_dir_writable(const char *dir);

/*
 * Once every probe has started: keep what reading maps and the running
 * probes' privileges() name, drop the rest everywhere, and log it.
 */
void hl_privs_drop_after_start(const struct hl_probeset *probes);

#endif
