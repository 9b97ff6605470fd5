/* SPDX-License-Identifier: MIT */
/*
 * agent/core/resource.c: OTEL_RESOURCE_ATTRIBUTES parsing (percent-decoding,
 * bad variables ignored as a whole) and the precedence of the resource
 * attributes' sources (config file, OTEL_SERVICE_NAME, the environment, the
 * downward API).
 */
#include <stdlib.h>
#include <string.h>

#include "resource.h"
#include "unit.h"

static void test_resource_env(void)
{
	struct hl_resource r = {0};

	CHECK(hl_resource_parse_env(&r, "a=1, b%3Dc=x%2Cy ,deployment.environment=prod") == 0,
	      "valid");
	CHECK(r.n == 3, "n %zu", r.n);
	CHECK(hl_resource_get(&r, "a") && !strcmp(hl_resource_get(&r, "a"), "1"), "a");
	CHECK(hl_resource_get(&r, "b=c") && !strcmp(hl_resource_get(&r, "b=c"), "x,y"),
	      "percent-decoding");
	CHECK(hl_resource_parse_env(&r, "z=1,bad%zz=2") != 0, "bad escape rejected");
	CHECK(hl_resource_get(&r, "z") == NULL, "a bad variable is ignored as a whole");
	CHECK(hl_resource_parse_env(&r, "noequals") != 0, "missing '='");
	hl_resource_free(&r);

	setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=fromattrs,team=net", 1);
	setenv("OTEL_SERVICE_NAME", "fromenv", 1);
	setenv("K8S_NODE_NAME", "node-7", 1);
	{
		struct hl_kv kv = {"team", "sre"};
		struct hl_kvlist cfg = {&kv, 1};

		hl_resource_build(&r, &cfg);
	}
	CHECK(!strcmp(hl_resource_get(&r, "service.name"), "fromenv"),
	      "OTEL_SERVICE_NAME wins over OTEL_RESOURCE_ATTRIBUTES");
	CHECK(!strcmp(hl_resource_get(&r, "team"), "sre"), "the config file wins over the env");
	CHECK(!strcmp(hl_resource_get(&r, "k8s.node.name"), "node-7"), "downward API");
	CHECK(hl_resource_get(&r, "service.version") != NULL, "version");
	hl_resource_free(&r);
}

int main(void)
{
	test_resource_env();
	return UNIT_DONE();
}
