#ifndef LB_BUILD_INFO_H
#define LB_BUILD_INFO_H
/* What lbd and lbctl were built from (build_info.c, written by make from VERSION and git). */
const char *lb_build_version(void);
const char *lb_build_commit(void);
#endif
