// SPDX-License-Identifier: GPL-2.0
/*
 * A tc filter of "someone else" for the tests: drops every packet (to force
 * TCP retransmissions), or with -DPASS lets everything through.
 */
struct __sk_buff;

__attribute__((section("tc"), used)) int hl_test_filter(struct __sk_buff *skb)
{
#ifdef PASS
	return -1; /* TC_ACT_UNSPEC */
#else
	return 2; /* TC_ACT_SHOT */
#endif
}

char LICENSE[] __attribute__((section("license"), used)) = "GPL";
