/* SPDX-License-Identifier: MIT */
/*
 * The verifier's verdict read from libbpf's messages (agent/core/log.c): the
 * messages go through the print callback the agent gives libbpf, as libbpf
 * 1.x words them when a program fails to load.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "log.h"
#include "unit.h"

static libbpf_print_fn_t print_fn;

static void say(enum libbpf_print_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_fn(lvl, fmt, ap);
	va_end(ap);
}

static const char verifier_log[] =
	"0: R1=ctx(off=0,imm=0) R10=fp0\n"
	"304: (61) r8 = *(u32 *)(r2 +0)\n"
	"R2 unbounded memory access, make sure to bounds check any such access\n"
	"processed 193 insns (limit 1000000) max_states_per_insn 0 total_states 18\n";

int main(void)
{
	const struct hl_bpf_failure *f;

	hl_log_level = HL_LOG_ERROR; /* the messages are read whatever the level */
	hl_log_setup_libbpf();
	print_fn = libbpf_set_print(NULL);
	libbpf_set_print(print_fn);
	CHECK(print_fn != NULL, "the agent installed no libbpf print callback");

	hl_bpf_failure_reset();
	CHECK(hl_bpf_failure() == NULL, "prog '%s' why '%s'",
	      hl_bpf_failure() ? hl_bpf_failure()->prog : "-",
	      hl_bpf_failure() ? hl_bpf_failure()->why : "-");
	/* Other warnings are no failure. */
	say(LIBBPF_WARN, "libbpf: map '%s': failed to create: %s\n", "hist", "-ENOMEM");
	CHECK(hl_bpf_failure() == NULL, "prog '%s' why '%s'",
	      hl_bpf_failure() ? hl_bpf_failure()->prog : "-",
	      hl_bpf_failure() ? hl_bpf_failure()->why : "-");

	say(LIBBPF_WARN, "libbpf: prog '%s': BPF program load failed: %s\n", "hl_ip4_rcv_core",
	    "Permission denied");
	f = hl_bpf_failure();
	CHECK(f && !strcmp(f->prog, "hl_ip4_rcv_core") && !strcmp(f->why, "Permission denied"),
	      "prog '%s' why '%s'", hl_bpf_failure() ? hl_bpf_failure()->prog : "-",
	      hl_bpf_failure() ? hl_bpf_failure()->why : "-");
	say(LIBBPF_WARN,
	    "libbpf: prog '%s': -- BEGIN PROG LOAD LOG --\n%s-- END PROG LOAD LOG --\n",
	    "hl_ip4_rcv_core", verifier_log);
	f = hl_bpf_failure();
	CHECK(f && !strcmp(f->why, "verifier: R2 unbounded memory access, make sure to bounds "
				   "check any such access"),
	      "prog '%s' why '%s'", hl_bpf_failure() ? hl_bpf_failure()->prog : "-",
	      hl_bpf_failure() ? hl_bpf_failure()->why : "-");
	/* Another program's log does not overwrite the verdict. */
	say(LIBBPF_WARN,
	    "libbpf: prog '%s': -- BEGIN PROG LOAD LOG --\n%s-- END PROG LOAD LOG --\n",
	    "hl_ip4_rcv_cor", "something else\n");
	CHECK(!strcmp(hl_bpf_failure()->why, "verifier: R2 unbounded memory access, make sure to "
					     "bounds check any such access"),
	      "prog '%s' why '%s'", hl_bpf_failure() ? hl_bpf_failure()->prog : "-",
	      hl_bpf_failure() ? hl_bpf_failure()->why : "-");

	/* A failure without a log keeps libbpf's error. */
	hl_bpf_failure_reset();
	say(LIBBPF_WARN, "libbpf: prog '%s': BPF program load failed: %s\n", "hl_fn_entry_3",
	    "Argument list too long");
	f = hl_bpf_failure();
	CHECK(f && !strcmp(f->prog, "hl_fn_entry_3") && !strcmp(f->why, "Argument list too long"),
	      "prog '%s' why '%s'", hl_bpf_failure() ? hl_bpf_failure()->prog : "-",
	      hl_bpf_failure() ? hl_bpf_failure()->why : "-");
	hl_bpf_failure_reset();
	CHECK(hl_bpf_failure() == NULL, "prog '%s' why '%s'",
	      hl_bpf_failure() ? hl_bpf_failure()->prog : "-",
	      hl_bpf_failure() ? hl_bpf_failure()->why : "-");
	return UNIT_DONE();
}
