/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One logging layer for the agent, the CLI and tests; libbpf and libxdp
 * messages are routed into it one level lower. */
#ifndef XLB_LOG_H
#define XLB_LOG_H

enum xlb_log_level { XLB_LOG_ERR, XLB_LOG_WARN, XLB_LOG_INFO, XLB_LOG_DEBUG };

void xlb_log_set_level(enum xlb_log_level lvl);
/* Route libbpf's and libxdp's messages into xlb_log. */
void xlb_log_hook_libs(void);
void xlb_log(enum xlb_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...)   xlb_log(XLB_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  xlb_log(XLB_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  xlb_log(XLB_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) xlb_log(XLB_LOG_DEBUG, __VA_ARGS__)

#endif /* XLB_LOG_H */
