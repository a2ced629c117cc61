#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
static ssize_t (*real)(int, struct msghdr *, int);
ssize_t recvmsg(int fd, struct msghdr *m, int flags) {
  if (!real) real = dlsym(RTLD_NEXT, "recvmsg");
  ssize_t n = real(fd, m, flags);
  if (n <= 0 || (flags & MSG_PEEK)) return n;
  static char fake[8192]; size_t fl;
  char *buf = m->msg_iov[0].iov_base; size_t cap = m->msg_iov[0].iov_len;
  char out[65536]; size_t ol = 0;
  struct nlmsghdr *h = (struct nlmsghdr *)buf; int len = n;
  for (; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
    if (h->nlmsg_type == RTM_NEWQDISC) {
      struct tcmsg *t = NLMSG_DATA(h);
      struct rtattr *a = (struct rtattr *)((char *)t + NLMSG_ALIGN(sizeof *t));
      char ev[64]; snprintf(ev, sizeof ev, "NPTE_FAKE_%x", t->tcm_handle >> 16);
      const char *f = getenv(ev); FILE *fp = f ? fopen(f, "rb") : NULL;
      if (fp && a->rta_type == TCA_KIND && strcmp(RTA_DATA(a), "tbf") == 0) {
        fl = fread(fake, 1, sizeof fake, fp); fclose(fp);
        struct nlmsghdr *nh = (struct nlmsghdr *)(out + ol);
        memcpy(out + ol, fake, fl);
        struct tcmsg *nt = NLMSG_DATA(nh);
        nh->nlmsg_seq = h->nlmsg_seq; nh->nlmsg_pid = h->nlmsg_pid; nh->nlmsg_flags = h->nlmsg_flags;
        nt->tcm_ifindex = t->tcm_ifindex; nt->tcm_parent = t->tcm_parent; nt->tcm_handle = t->tcm_handle;
        ol += NLMSG_ALIGN(fl);
        continue;
      }
    }
    memcpy(out + ol, h, NLMSG_ALIGN(h->nlmsg_len)); ol += NLMSG_ALIGN(h->nlmsg_len);
  }
  if (ol > cap) return n;
  memcpy(buf, out, ol);
  return ol;
}
