/* SPDX-License-Identifier: MIT */
/*
 * agent/core/plugin.c, the loader of exporter modules: its checks and
 * messages (build/tests/bad_abi.so, build/tests/no_symbol.so, missing
 * files) and the params view. The example module itself: test_csv.c.
 * Runs from the repository root ($BUILD, default build, locates the modules).
 */
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin.h"
#include "unit.h"

static char bad_so[256], nosym_so[256], missing_so[256];

static void paths(void)
{
	const char *b = getenv("BUILD");

	if (!b || !*b)
		b = "build";
	snprintf(bad_so, sizeof(bad_so), "%s/tests/bad_abi.so", b);
	snprintf(nosym_so, sizeof(nosym_so), "%s/tests/no_symbol.so", b);
	snprintf(missing_so, sizeof(missing_so), "%s/tests/nonexistent.so", b);
}

/* Load path expecting failure; err must equal want, or start with it if prefix. */
static void expect_fail(const char *path, const char *want, bool prefix, const char *what)
{
	const struct hl_exporter_ops *ops = (void *)1;
	void *h = (void *)1;
	char err[512] = "";
	int e = hl_plugin_load(path, &h, &ops, err, sizeof(err));

	CHECK(e < 0, "%s: loaded (%d)", what, e);
	CHECK(!h && !ops, "%s: handle/ops not cleared", what);
	if (prefix)
		CHECK(!strncmp(err, want, strlen(want)), "%s: '%s' does not start with '%s'", what,
		      err, want);
	else
		CHECK(!strcmp(err, want), "%s: '%s', want '%s'", what, err, want);
	CHECK(!strchr(err, '\n'), "%s: newline in message", what);
	if (e == 0)
		hl_plugin_unload(h);
}

static void test_bad_modules(void)
{
	static const struct {
		const char *defect, *msg; /* msg after "plugin 'PATH' " */
	} rows[] = {
		{"", "was built for exporter ABI 7; this hostlat speaks ABI 2"},
		{"null", ": hostlat_exporter_module() returned NULL"},
		{"noname", "has no name"},
		{"noinit", "(bad) has no init callback"},
		{"noexport", "(bad) has no export_batch callback"},
		{"noshutdown", "(bad) has no shutdown callback"},
		{"options", "(bad) sets options: a module's options must be NULL"},
	};
	char want[512], what[64], small[16];
	const struct hl_exporter_ops *ops;
	void *h;

	CHECK(access(bad_so, R_OK) == 0 && access(nosym_so, R_OK) == 0,
	      "%s or %s missing: run make unit", bad_so, nosym_so);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		setenv("HOSTLAT_TEST_MODULE", rows[i].defect, 1);
		snprintf(want, sizeof(want), "plugin '%s'%s%s", bad_so,
			 rows[i].msg[0] == ':' ? "" : " ", rows[i].msg);
		snprintf(what, sizeof(what), "bad_abi %s", rows[i].defect);
		expect_fail(bad_so, want, i == 6, what);
	}
	unsetenv("HOSTLAT_TEST_MODULE");

	snprintf(want, sizeof(want), "plugin '%s' has no symbol hostlat_exporter_module", nosym_so);
	expect_fail(nosym_so, want, false, "no_symbol");

	snprintf(want, sizeof(want), "cannot load plugin '%s': ", missing_so);
	expect_fail(missing_so, want, true, "missing");
	{
		char err[512] = "";

		hl_plugin_load(missing_so, &h, &ops, err, sizeof(err));
		CHECK(strstr(err, "No such file or directory"), "missing: '%s'", err);
	}
	/* Not a shared object at all. */
	expect_fail("tests/unit/unit.h", "cannot load plugin 'tests/unit/unit.h': ", true,
		    "not ELF");
	expect_fail("", "cannot load plugin '': no path", false, "empty path");
	expect_fail("tests/unit", "cannot load plugin 'tests/unit': not a regular file", false,
		    "directory");
	/* A truncated copy maps, then faults in the loader (SIGBUS): refused first. */
	{
		char cut[] = "/tmp/hostlat-test-cut-XXXXXX";
		char buf[4096];
		int in = open(bad_so, O_RDONLY), out = mkstemp(cut);
		ssize_t n = in < 0 ? -1 : read(in, buf, 3000);

		CHECK(n == 3000 && out >= 0 && write(out, buf, 3000) == 3000, "cannot cut a copy");
		snprintf(want, sizeof(want),
			 "cannot load plugin '%s': truncated: a segment ends at byte ", cut);
		expect_fail(cut, want, true, "truncated copy");
		close(in);
		close(out);
		unlink(cut);
	}

	/* Messages are cut to the buffer, never overrun. */
	memset(small, 'x', sizeof(small));
	setenv("HOSTLAT_TEST_MODULE", "", 1);
	CHECK(hl_plugin_load(bad_so, &h, &ops, small, 8) < 0 && !strcmp(small, "plugin "),
	      "small buffer: '%.16s'", small);
	CHECK(small[8] == 'x', "wrote past errlen");
	CHECK(hl_plugin_load(bad_so, &h, &ops, NULL, 0) < 0, "NULL err");
	unsetenv("HOSTLAT_TEST_MODULE");
	hl_plugin_unload(NULL);
}

static void test_params(void)
{
	struct hl_kv kv[] = {{"file", "/tmp/x.csv"}, {"header", "false"}};
	struct hl_kvlist l = {kv, 2}, empty = {0};
	struct hl_module_params p;

	CHECK(hl_plugin_params(&l, &p) == 0, "params");
	CHECK(p.n == 2 && !strcmp(p.keys[0], "file") && !strcmp(p.values[0], "/tmp/x.csv") &&
		      !strcmp(p.keys[1], "header") && !strcmp(p.values[1], "false"),
	      "params content");
	CHECK(p.keys[0] == kv[0].key, "params is a view");
	hl_plugin_params_free(&p);
	CHECK(p.n == 0 && !p.keys && !p.values, "params free");
	hl_plugin_params_free(&p);
	hl_plugin_params_free(NULL);
	CHECK(hl_plugin_params(&empty, &p) == 0 && p.n == 0, "empty params");
	hl_plugin_params_free(&p);
	CHECK(hl_plugin_params(NULL, &p) == 0 && p.n == 0, "NULL params");
	hl_plugin_params_free(&p);
}

int main(void)
{
	paths();
	test_bad_modules();
	test_params();
	return UNIT_DONE();
}
